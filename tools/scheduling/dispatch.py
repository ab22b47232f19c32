"""Dispatch rules: which waiting operation a machine takes next.

- EDD: earliest due date first.
- SPT: shortest processing time first.
- CR: critical ratio first, (due − now) / remaining work; below 1 the job is behind.
- SLACK: least slack first, due − now − remaining work.
- FIFO: first come (earliest arrival in the queue) first served.

Ties go to the heavier job (rush, priority), then the earlier due date, then the name. The same
rules order a work center's queue in the plant (`work_center_queue`) and drive a list
scheduler (`dispatch_schedule`): at each step it takes the operation that can finish first,
gathers the operations that could start on its machine before then (Giffler and Thompson's
conflict set), and lets the rule choose among them. A job without a due date (a benchmark job)
is given its total work as due date (the TWK rule). Given a baseline, it repairs it instead:
operations keep their machine and start where they can and are pushed right where they must.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal, get_args

from pydantic import BaseModel

from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.errors import NotFoundError, ValidationError
from tools.scheduling.calendar import minute_of
from tools.scheduling.plant import Step, StepKey, WorkItem, load_state
from tools.scheduling.problem import Assignment, Operation, OpKey, Problem

Rule = Literal["EDD", "SPT", "CR", "SLACK", "FIFO"]
RULES: tuple[Rule, ...] = get_args(Rule)


def check_rule(rule: str) -> Rule:
    """`rule` as a Rule, or a ValidationError naming the rules there are."""
    upper = rule.upper()
    if upper not in RULES:
        raise ValidationError(f"unknown dispatch rule {rule!r}; use {', '.join(RULES)}")
    return upper


@dataclass(frozen=True)
class Candidate:
    """An operation waiting for a machine, as the rules see it (times in minutes)."""

    name: str
    processing: int
    remaining: int  # this operation's and the job's later operations' work
    due: int
    arrival: int
    weight: int = 1


def priority(candidate: Candidate, rule: Rule, *, now: int) -> tuple[float, int, int, str]:
    """Sort key: smaller goes first."""
    c = candidate
    if rule == "EDD":
        value: float = c.due
    elif rule == "SPT":
        value = c.processing
    elif rule == "FIFO":
        value = c.arrival
    elif rule == "SLACK":
        value = c.due - now - c.remaining
    else:
        value = (c.due - now) / max(c.remaining, 1)
    return (value, -c.weight, c.due, c.name)


def rank(candidates: list[Candidate], rule: Rule, *, now: int) -> list[Candidate]:
    """The candidates in the order the rule serves them."""
    return sorted(candidates, key=lambda c: priority(c, rule, now=now))


@dataclass(frozen=True)
class _Option:
    job: int
    machine: int
    start: int
    end: int


def dispatch_schedule(
    problem: Problem, rule: Rule, *, baseline: Mapping[OpKey, tuple[int, int]] | None = None
) -> list[Assignment] | None:
    """A schedule built by the rule (None if some operation finds no room in the horizon)."""
    horizon = problem.horizon or problem.default_horizon()
    jobs = problem.jobs
    least = [[min(a.duration for a in op.alternatives) for op in job.operations] for job in jobs]
    due = [j.due if j.due is not None else j.release + sum(least[n]) for n, j in enumerate(jobs)]
    next_op = [0] * len(jobs)
    ready = [j.release for j in jobs]
    free: dict[int, int] = {}
    for op in (op for job in jobs for op in job.operations if op.pin is not None):
        assert op.pin is not None
        free[op.pin.machine] = max(free.get(op.pin.machine, 0), op.pin.end)
    family: dict[int, str | None] = {}
    baseline = baseline or {}
    out: list[Assignment] = []
    while True:
        options = []
        for j, job in enumerate(jobs):
            if next_op[j] < len(job.operations):
                where = baseline.get((j, next_op[j]))
                option = _earliest(
                    problem, job.operations[next_op[j]], j, ready[j], free, family, where
                )
                if option is None or option.end > horizon and problem.horizon is not None:
                    return None
                options.append(option)
        if not options:
            return out
        first = min(options, key=lambda o: (o.end, o.start, o.job))
        conflict = [o for o in options if o.machine == first.machine and o.start < first.end]
        now = min(o.start for o in conflict)

        def candidate(o: _Option) -> Candidate:
            k = next_op[o.job]
            return Candidate(
                name=jobs[o.job].name,
                processing=o.end - o.start,
                remaining=sum(least[o.job][k:]),
                due=due[o.job],
                arrival=ready[o.job],
                weight=jobs[o.job].weight,
            )

        if baseline:
            chosen = min(
                conflict, key=lambda o: (baseline.get((o.job, next_op[o.job]), (0, now))[1], o.job)
            )
        else:
            chosen = min(conflict, key=lambda o: priority(candidate(o), rule, now=now))
        op = jobs[chosen.job].operations[next_op[chosen.job]]
        working = problem.machines[chosen.machine].working
        pieces = working.segments(chosen.start, chosen.end, op.interruption) if working else None
        out.append(
            Assignment(
                chosen.job,
                next_op[chosen.job],
                chosen.machine,
                chosen.start,
                chosen.end,
                segments=tuple(pieces or [(chosen.start, chosen.end)]),
            )
        )
        free[chosen.machine] = max(free.get(chosen.machine, 0), _released(problem, chosen, op))
        family[chosen.machine] = op.family
        ready[chosen.job] = chosen.end
        next_op[chosen.job] += 1


def _earliest(
    problem: Problem,
    op: Operation,
    job: int,
    ready: int,
    free: dict[int, int],
    family: dict[int, str | None],
    preferred: tuple[int, int] | None = None,
) -> _Option | None:
    """Where and when the operation can finish first, after the machines' last work.

    With a preferred (machine, start) it stays on that machine, no earlier than that start.
    """
    if op.pin is not None:
        return _Option(job, op.pin.machine, op.pin.start, op.pin.end)
    alternatives = op.alternatives
    if preferred is not None and any(a.machine == preferred[0] for a in alternatives):
        alternatives = tuple(a for a in alternatives if a.machine == preferred[0])
        ready = max(ready, preferred[1])
    best: _Option | None = None
    for alt in alternatives:
        earliest = max(ready, free.get(alt.machine, 0) + _setup(problem, family, alt.machine, op))
        placed = problem.machines[alt.machine].fit(earliest, alt.duration, op.interruption)
        if placed is not None and (best is None or (placed[1], placed[0]) < (best.end, best.start)):
            best = _Option(job, alt.machine, placed[0], placed[1])
    return best


def _released(problem: Problem, chosen: _Option, op: Operation) -> int:
    """When the machine is free again: an operation spanning breaks holds it as if it paused.

    That is how the model reserves it (see `tools.scheduling.axis`), so the schedule stays a
    valid starting point for the solver.
    """
    machine = problem.machines[chosen.machine]
    if machine.working is None or op.interruption != "span_breaks":
        return chosen.end
    held = machine.working.fit(chosen.start, chosen.end - chosen.start, "pause")
    return chosen.end if held is None else max(chosen.end, held[1])


def _setup(problem: Problem, family: dict[int, str | None], machine: int, op: Operation) -> int:
    if op.family is None:
        return 0
    if machine not in family:
        return problem.initial_setups.get(op.family, 0)
    before = family[machine]
    return 0 if before is None else problem.setups.get((before, op.family), 0)


def makespan(assignments: list[Assignment]) -> int:
    """When the last operation ends."""
    return max((a.end for a in assignments), default=0)


# ───────────── a work center's queue in the plant ─────────────


class QueueEntry(BaseModel):
    """An operation waiting at a work center, with what each rule looks at."""

    position: int
    order_id: str
    line_no: int
    op_seq: int
    operation: str
    sku: str
    quantity: int
    customer_id: str
    is_rush: bool
    priority: int
    due_at: datetime
    minutes: int  # processing here, at the work center's mean efficiency
    remaining_minutes: int  # this and the later routing steps, at nominal speed
    critical_ratio: float
    slack_minutes: int
    ready: bool  # every earlier step done; otherwise it waits for one
    arrived_at: datetime


class WorkCenterQueue(BaseModel):
    work_center_id: str
    facility_id: str
    wc_type: str
    rule: Rule
    at: datetime
    entries: list[QueueEntry]


async def work_center_queue(
    conn: AsyncConn, work_center_id: str, *, rule: str = "EDD"
) -> WorkCenterQueue:
    """The operations waiting at a work center, ready ones first, each group in rule order.

    Steps whose slot in the applied schedule has ended count as done.
    """
    chosen = check_rule(rule)
    cur = await conn.execute(
        "select facility_id, wc_type from work_centers where work_center_id = %s",
        (work_center_id,),
    )
    center = await cur.fetchone()
    if center is None:
        raise NotFoundError(
            f"work center {work_center_id} does not exist",
            entity="work_center",
            id=str(work_center_id),
        )
    state = await load_state(conn, facility_id=center["facility_id"], horizon_days=1)
    now = clock.now()
    finished = await _finished_steps(conn, center["facility_id"], now)
    here = [m for m in state.machines if m.work_center_id == work_center_id]
    usable = [m for m in here if state.working[m.machine_id].minutes > 0] or here
    efficiency = sum((m.efficiency for m in usable), Decimal(0)) / len(usable) if usable else 1
    rows: list[tuple[Candidate, bool, WorkItem, Step, datetime]] = []
    for item in state.items:
        steps = state.routings.get(item.sku, [])
        for n, step in enumerate(steps):
            if (
                step.wc_type != center["wc_type"]
                or (item.order_id, item.line_no, step.seq) in finished
            ):
                continue
            before = [finished.get((item.order_id, item.line_no, s.seq)) for s in steps[:n]]
            ready = all(at is not None for at in before)
            arrived = max([item.created_at, *(at for at in before if at is not None)])
            candidate = Candidate(
                name=f"{item.order_id}/{item.line_no}/{step.seq}",
                processing=step.minutes(item.quantity, Decimal(efficiency)),
                remaining=sum(s.minutes(item.quantity) for s in steps[n:]),
                due=minute_of(item.due_at, now),
                arrival=minute_of(arrived, now),
                weight=item.weight,
            )
            rows.append((candidate, ready, item, step, arrived))
    order = {c.name: i for i, c in enumerate(rank([r[0] for r in rows], chosen, now=0))}
    rows.sort(key=lambda r: (not r[1], order[r[0].name]))
    entries = [
        QueueEntry(
            position=position,
            order_id=item.order_id,
            line_no=item.line_no,
            op_seq=step.seq,
            operation=step.operation,
            sku=item.sku,
            quantity=item.quantity,
            customer_id=item.customer_id,
            is_rush=item.is_rush,
            priority=item.priority,
            due_at=item.due_at,
            minutes=c.processing,
            remaining_minutes=c.remaining,
            critical_ratio=round(c.due / max(c.remaining, 1), 3),
            slack_minutes=c.due - c.remaining,
            ready=ready,
            arrived_at=arrived,
        )
        for position, (c, ready, item, step, arrived) in enumerate(rows, start=1)
    ]
    return WorkCenterQueue(
        work_center_id=work_center_id,
        facility_id=center["facility_id"],
        wc_type=center["wc_type"],
        rule=chosen,
        at=now,
        entries=entries,
    )


async def _finished_steps(
    conn: AsyncConn, facility_id: str, now: datetime
) -> dict[StepKey, datetime]:
    """Steps whose slot in the applied schedule (the facility's or the plant's) has ended."""
    cur = await conn.execute(
        "select s.order_id, s.line_no, s.op_seq, s.ends_at from schedule_slots s "
        "join schedules h on h.schedule_id = s.schedule_id "
        "where h.status = 'APPLIED' and (h.facility_id = %(f)s or h.facility_id is null) "
        "and s.ends_at <= %(now)s",
        {"f": facility_id, "now": now},
    )
    return {(r["order_id"], r["line_no"], r["op_seq"]): r["ends_at"] for r in await cur.fetchall()}
