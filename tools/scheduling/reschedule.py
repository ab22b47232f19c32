"""Rescheduling around a machine that is down or in maintenance, with minimal disruption.

The applied schedule covering the machine's facility is the baseline. Operations it finished
before now stay as they were; operations running now on other machines are pinned where they
run; everything else is planned again on the plant as it is now (the machine out of use for the
window asked for, or as its status and work orders say), each operation kept on its baseline
machine and start where possible: moving one off costs the move penalty in the objective.

The impact a person approves: the operations that move (machine, start and finish changes),
how many jobs (order lines) that touches, the orders that become late or later and by how
much, and the overtime needed to keep each of those orders' previous finish: the working
minutes of its last operation's machine between that finish (or its due time, if later) and
the new one.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.errors import NotFoundError, ValidationError
from tools.core.operations import Actor, atomic, idempotent
from tools.scheduling.planning import PlannedSlot, build_problem, plan
from tools.scheduling.plant import (
    UNAVAILABLE_STATUSES,
    Outage,
    PlantState,
    SetupMode,
    StepKey,
    load_state,
    plant_origin,
)
from tools.scheduling.problem import Objective, SolveSettings
from tools.scheduling.records import Impact, LateChange, Move, Schedule, ScheduleResult, Slot
from tools.scheduling.schedules import get_schedule, write_proposal


class RescheduleRequest(BaseModel):
    """Which machine is out of use, when, and how to re-plan around it."""

    model_config = ConfigDict(extra="forbid")

    machine_id: str
    unavailable_from: datetime | None = Field(default=None, description="default: now")
    unavailable_until: datetime | None = Field(
        default=None, description="default: as its status and work orders say, else open-ended"
    )
    objective: Objective = "weighted_tardiness"
    time_limit_s: float = Field(default=10.0, gt=0, le=600)
    workers: int = Field(default=2, ge=1, le=64)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    deterministic_limit: float | None = Field(
        default=None, gt=0, le=600, description="CP-SAT deterministic time, the same anywhere"
    )
    horizon_days: int = Field(default=42, ge=1, le=366)
    move_penalty: int = Field(default=60, ge=0, le=1_000_000)


async def reschedule_machine(
    conn: AsyncConn,
    actor: Actor,
    *,
    request: RescheduleRequest,
    idempotency_key: str | None = None,
) -> ScheduleResult:
    """Re-plan the applied schedule without the machine; written as a RESCHEDULE proposal."""
    return await _replan(conn, actor, request, outage=True, idempotency_key=idempotency_key)


async def rebalance_machine(
    conn: AsyncConn,
    actor: Actor,
    *,
    request: RescheduleRequest,
    idempotency_key: str | None = None,
) -> ScheduleResult:
    """Re-plan the applied schedule with the machine back in use (after a failover moved its
    work elsewhere): work moves back onto it where that pays for the move penalty. Written as a
    RESCHEDULE proposal; the request's outage window is not used."""
    return await _replan(conn, actor, request, outage=False, idempotency_key=idempotency_key)


async def _replan(
    conn: AsyncConn,
    actor: Actor,
    request: RescheduleRequest,
    *,
    outage: bool,
    idempotency_key: str | None,
) -> ScheduleResult:
    async def run() -> ScheduleResult:
        cur = await conn.execute(
            "select machine_id, facility_id, status from equipment where machine_id = %s",
            (request.machine_id,),
        )
        machine = await cur.fetchone()
        if machine is None:
            raise NotFoundError(
                f"machine {request.machine_id} does not exist",
                entity="machine",
                id=str(request.machine_id),
            )
        base = await _baseline(conn, machine["facility_id"])
        origin = plant_origin()
        starts = request.unavailable_from or origin
        if request.unavailable_until is not None and request.unavailable_until <= starts:
            raise ValidationError(
                f"the outage of {request.machine_id} must end after it starts "
                f"({starts:%Y-%m-%d %H:%M} UTC)"
            )
        outages = []
        if outage and (
            request.unavailable_until is not None or machine["status"] not in UNAVAILABLE_STATUSES
        ):
            outages.append(Outage(request.machine_id, starts, request.unavailable_until))
        state = await load_state(
            conn, facility_id=base.facility_id, horizon_days=request.horizon_days, outages=outages
        )
        kept, done, pins, baseline = _split(base, state, request.machine_id)
        setup_mode: SetupMode = (
            "sequence" if base.settings.get("setup_mode") == "sequence" else "per_operation"
        )
        problem = build_problem(
            state,
            setup_mode=setup_mode,
            done=done,
            pins=pins,
            baseline=baseline,
            move_penalty=request.move_penalty,
        )
        settings = SolveSettings(
            request.objective,
            request.time_limit_s,
            request.workers,
            request.seed,
            request.deterministic_limit,
        )
        result = await asyncio.to_thread(plan, problem, settings)
        if not result.solution.found:
            return ScheduleResult(
                solver_status=result.solution.status, reason=result.solution.reason
            )
        # running work stays exactly as the baseline has it, its past segments included
        kept += [s for s in base.slots if (s.order_id, s.line_no, s.op_seq) in pins]
        result.slots = [s for s in result.slots if s.key not in pins]
        until = request.unavailable_until
        impact = impact_of(
            base.slots,
            result.slots,
            state=state,
            machine_id=request.machine_id,
            window=(starts, until),
        )
        schedule_id = await write_proposal(
            conn,
            actor,
            result=result,
            settings=request.model_dump(mode="json") | {"setup_mode": setup_mode},
            kind="RESCHEDULE",
            based_on=base.schedule_id,
            impact=impact,
            kept=kept,
        )
        return ScheduleResult(
            solver_status=result.solution.status, schedule=await get_schedule(conn, schedule_id)
        )

    async with atomic(conn):
        operation = "scheduling.reschedule" if outage else "scheduling.rebalance"
        return await idempotent(conn, idempotency_key, operation, ScheduleResult, run)


async def _baseline(conn: AsyncConn, facility_id: str) -> Schedule:
    cur = await conn.execute(
        "select schedule_id from schedules where status = 'APPLIED' "
        "and (facility_id = %(f)s or facility_id is null) order by facility_id nulls last limit 1",
        {"f": facility_id},
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFoundError(
            f"no applied schedule covers {facility_id}; propose and apply one before rescheduling"
        )
    return await get_schedule(conn, row["schedule_id"])


def _split(
    base: Schedule, state: PlantState, machine_id: str
) -> tuple[
    list[Slot], set[StepKey], dict[StepKey, tuple[str, int, int]], dict[StepKey, tuple[str, int]]
]:
    """Baseline slots: finished (kept as they were), running elsewhere (pinned), the rest."""
    open_lines = {(i.order_id, i.line_no) for i in state.items}
    kept: list[Slot] = []
    done: set[StepKey] = set()
    pins: dict[StepKey, tuple[str, int, int]] = {}
    baseline: dict[StepKey, tuple[str, int]] = {}
    for slot in base.slots:
        key = (slot.order_id, slot.line_no, slot.op_seq)
        start, end = state.minute(slot.starts_at), state.minute(slot.ends_at)
        if end <= 0:
            kept.append(slot)
            done.add(key)
        elif (slot.order_id, slot.line_no) not in open_lines:
            continue
        elif start < 0:
            blocked = any(
                a < end and start < b for a, b in state.unavailable.get(slot.machine_id, ())
            )
            if slot.machine_id != machine_id and not blocked:
                pins[key] = (slot.machine_id, start, end)
        else:
            baseline[key] = (slot.machine_id, start)
    return kept, done, pins, baseline


def impact_of(
    before: list[Slot],
    after: list[PlannedSlot],
    *,
    state: PlantState,
    machine_id: str,
    window: tuple[datetime, datetime | None],
) -> Impact:
    """What changes between the baseline's slots and the new ones."""
    now = clock.now()
    old = {(s.order_id, s.line_no, s.op_seq): s for s in before}
    starts, until = window
    affected = [
        s
        for s in before
        if s.machine_id == machine_id
        and s.ends_at > max(starts, now)
        and (until is None or s.starts_at < until)
    ]
    moves = [
        Move(
            order_id=s.order_id,
            line_no=s.line_no,
            op_seq=s.op_seq,
            from_machine=o.machine_id,
            to_machine=s.machine_id,
            from_start=o.starts_at,
            to_start=s.starts_at,
            start_change_minutes=_minutes(s.starts_at - o.starts_at),
            finish_change_minutes=_minutes(s.ends_at - o.ends_at),
        )
        for s in after
        if (o := old.get(s.key)) is not None
        and (o.machine_id, o.starts_at, o.ends_at) != (s.machine_id, s.starts_at, s.ends_at)
    ]
    late = _late_changes(before, after, state)
    return Impact(
        machine_id=machine_id,
        unavailable_from=starts,
        unavailable_until=until,
        operations_affected=len(affected),
        operations_moved=len(moves),
        jobs_moved=len({(m.order_id, m.line_no) for m in moves}),
        moves=moves,
        orders_late=late,
        overtime_minutes=sum(c.overtime_minutes for c in late),
    )


def _late_changes(
    before: list[Slot], after: list[PlannedSlot], state: PlantState
) -> list[LateChange]:
    due = {i.order_id: i.due_at for i in state.items}
    finished_before: dict[str, datetime] = {}
    for old in before:
        finished_before[old.order_id] = max(
            finished_before.get(old.order_id, old.ends_at), old.ends_at
        )
    last: dict[str, PlannedSlot] = {}
    for new in after:
        if new.order_id not in last or new.ends_at > last[new.order_id].ends_at:
            last[new.order_id] = new
    changes = []
    for order_id, slot in sorted(last.items()):
        promised = finished_before.get(order_id)
        due_at = due[order_id]
        floor = max(due_at, promised) if promised is not None else due_at
        if slot.ends_at <= floor:
            continue
        working = state.working.get(slot.machine_id)
        overtime = (
            working.working_minutes(state.minute(floor), state.minute(slot.ends_at))
            if working
            else 0
        )
        changes.append(
            LateChange(
                order_id=order_id,
                due_at=due_at,
                finished_before=promised,
                finishes_at=slot.ends_at,
                minutes_late=_minutes(slot.ends_at - due_at),
                minutes_later=_minutes(slot.ends_at - floor),
                overtime_minutes=overtime,
            )
        )
    return changes


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)
