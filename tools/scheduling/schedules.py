"""Schedules: proposing one from the plant's state, reading it back, applying or rejecting it.

A proposal is solved and written as a PROPOSED schedule with its slots; nothing else in the
plant changes. Applying it is a separate, audited operation: it becomes APPLIED and the schedule
applied before it for the same scope (its facility, or the whole plant) becomes SUPERSEDED.

Events: ``schedule.proposed``, ``schedule.applied``, ``schedule.superseded``,
``schedule.rejected``.
"""

from __future__ import annotations

import asyncio
import json

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.errors import InvalidTransitionError, NotFoundError, ValidationError
from tools.core.operations import Actor, atomic, idempotent, record
from tools.scheduling.planning import Plan, build_problem, plan
from tools.scheduling.plant import SetupMode, load_state
from tools.scheduling.problem import Objective, SolveSettings
from tools.scheduling.records import (
    SCHEDULE_LIFECYCLE,
    Impact,
    LateOrder,
    Schedule,
    ScheduleKind,
    ScheduleResult,
    Slot,
)


class ScheduleRequest(BaseModel):
    """What to schedule and how hard to try."""

    model_config = ConfigDict(extra="forbid")

    facility_id: str | None = Field(default=None, description="one facility, or the whole plant")
    order_ids: list[str] | None = Field(default=None, description="only these orders")
    objective: Objective = "lexicographic"
    time_limit_s: float = Field(default=10.0, gt=0, le=600)
    workers: int = Field(default=2, ge=1, le=64)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    deterministic_limit: float | None = Field(
        default=None, gt=0, le=600, description="CP-SAT deterministic time, the same anywhere"
    )
    horizon_days: int = Field(default=42, ge=1, le=366)
    setup_mode: SetupMode = "per_operation"

    def solve_settings(self) -> SolveSettings:
        return SolveSettings(
            self.objective, self.time_limit_s, self.workers, self.seed, self.deterministic_limit
        )


async def plan_request(conn: AsyncConn, request: ScheduleRequest) -> Plan:
    """The plan of the plant's open work the request names, solved and not written."""
    state = await load_state(
        conn,
        facility_id=request.facility_id,
        order_ids=request.order_ids,
        horizon_days=request.horizon_days,
    )
    planned = build_problem(state, setup_mode=request.setup_mode)
    return await asyncio.to_thread(plan, planned, request.solve_settings())


async def propose_schedule(
    conn: AsyncConn,
    actor: Actor,
    *,
    request: ScheduleRequest | None = None,
    idempotency_key: str | None = None,
) -> ScheduleResult:
    """Solve the plant's open work and write the schedule as a proposal (PROPOSED)."""
    request = request or ScheduleRequest()

    async def run() -> ScheduleResult:
        result = await plan_request(conn, request)
        if not result.solution.found:
            return ScheduleResult(
                solver_status=result.solution.status, reason=result.solution.reason
            )
        schedule_id = await write_proposal(
            conn, actor, result=result, settings=request.model_dump(mode="json")
        )
        return ScheduleResult(
            solver_status=result.solution.status, schedule=await get_schedule(conn, schedule_id)
        )

    async with atomic(conn):
        return await idempotent(conn, idempotency_key, "scheduling.propose", ScheduleResult, run)


_INSERT_SCHEDULE = """
insert into schedules (status, facility_id, objective, solver_status, objective_value, best_bound,
    gap, solve_seconds, horizon_start, horizon_end, created_at, created_by, kind, based_on,
    settings, statistics, impact)
values ('PROPOSED', %(facility_id)s, %(objective)s, %(solver_status)s, %(objective_value)s,
    %(best_bound)s, %(gap)s, %(solve_seconds)s, %(horizon_start)s, %(horizon_end)s, %(now)s,
    %(created_by)s, %(kind)s, %(based_on)s, %(settings)s, %(statistics)s, %(impact)s)
returning schedule_id
"""
_INSERT_SLOT = """
insert into schedule_slots (schedule_id, order_id, line_no, op_seq, machine_id, starts_at,
    ends_at, setup_minutes, segments)
values (%(schedule_id)s, %(order_id)s, %(line_no)s, %(op_seq)s, %(machine_id)s, %(starts_at)s,
    %(ends_at)s, %(setup_minutes)s, %(segments)s)
"""


async def write_proposal(
    conn: AsyncConn,
    actor: Actor,
    *,
    result: Plan,
    settings: dict[str, JsonValue],
    kind: ScheduleKind = "PLAN",
    based_on: int | None = None,
    impact: Impact | None = None,
    kept: list[Slot] | None = None,
) -> int:
    """Write a solved plan (and `kept` slots carried over) as a PROPOSED schedule."""
    s, state = result.solution, result.plant.state
    statistics: dict[str, JsonValue] = {
        "first_solution_seconds": s.first_solution_s,
        "best_solution_seconds": s.best_solution_s,
        "makespan_minutes": s.makespan,
        "weighted_tardiness": s.weighted_tardiness,
        "operations_moved": s.moved,
    }
    cur = await conn.execute(
        _INSERT_SCHEDULE,
        {
            "facility_id": state.facility_id,
            "objective": str(settings.get("objective", "makespan")),
            "solver_status": s.status,
            "objective_value": s.objective,
            "best_bound": s.best_bound,
            "gap": s.gap,
            "solve_seconds": s.seconds,
            "horizon_start": state.origin,
            "horizon_end": state.horizon_end,
            "now": clock.now(),
            "created_by": actor.label(),
            "kind": kind,
            "based_on": based_on,
            "settings": json.dumps(settings),
            "statistics": json.dumps(statistics),
            "impact": impact.model_dump_json() if impact else None,
        },
    )
    row = await cur.fetchone()
    assert row is not None
    schedule_id: int = row["schedule_id"]
    slots = [Slot(**vars(p) | {"segments": list(p.segments)}) for p in result.slots]
    rows = [
        slot.model_dump(exclude={"operation", "work_center_id"})
        | {
            "schedule_id": schedule_id,
            "segments": json.dumps(slot.model_dump(mode="json")["segments"]),
        }
        for slot in (kept or []) + slots
    ]
    async with conn.cursor() as cur2:
        await cur2.executemany(_INSERT_SLOT, rows)
    late = sorted({o.order_id for o in await _late_orders(conn, schedule_id)})
    payload: dict[str, JsonValue] = {
        "schedule_id": schedule_id,
        "kind": kind,
        "facility_id": state.facility_id,
        "solver_status": s.status,
        "slots": len(rows),
        "late_orders": list(late),
        "based_on": based_on,
        "operations_moved": impact.operations_moved if impact else None,
        "jobs_moved": impact.jobs_moved if impact else None,
    }
    await record(
        conn,
        actor,
        event_type="schedule.proposed",
        entity_type="schedule",
        entity_id=str(schedule_id),
        action="propose",
        after={"status": "PROPOSED", "kind": kind, "slots": len(rows)},
        payload=payload,
    )
    return schedule_id


_SCHEDULE = """
select schedule_id, kind, status, facility_id, objective, solver_status, objective_value,
       best_bound, gap, solve_seconds, horizon_start, horizon_end, created_at, created_by,
       applied_at, based_on, decision_reason, settings, statistics, impact
from schedules where schedule_id = %(schedule_id)s
"""
_SLOTS = """
select s.order_id, s.line_no, s.op_seq, coalesce(r.operation, '') as operation, s.machine_id,
       e.work_center_id, s.starts_at, s.ends_at, s.setup_minutes, s.segments
from schedule_slots s
join equipment e on e.machine_id = s.machine_id
join order_lines l on l.order_id = s.order_id and l.line_no = s.line_no
left join routings r on r.sku = l.sku and r.seq = s.op_seq
where s.schedule_id = %(schedule_id)s
order by s.starts_at, s.machine_id, s.order_id, s.line_no, s.op_seq
"""
_LATE = """
select s.order_id, o.due_at, max(s.ends_at) as finishes_at
from schedule_slots s join orders o on o.order_id = s.order_id
where s.schedule_id = %(schedule_id)s
group by s.order_id, o.due_at
having max(s.ends_at) > o.due_at
order by s.order_id
"""


async def get_schedule(conn: AsyncConn, schedule_id: int) -> Schedule:
    """A schedule with its slots and the orders it finishes late."""
    cur = await conn.execute(_SCHEDULE, {"schedule_id": schedule_id})
    row = await cur.fetchone()
    if row is None:
        raise NotFoundError(
            f"schedule {schedule_id} does not exist", entity="schedule", id=str(schedule_id)
        )
    cur = await conn.execute(_SLOTS, {"schedule_id": schedule_id})
    slots = [Slot.model_validate(r) for r in await cur.fetchall()]
    stats = row.pop("statistics") or {}
    return Schedule.model_validate(
        row
        | {
            "first_solution_seconds": stats.get("first_solution_seconds"),
            "best_solution_seconds": stats.get("best_solution_seconds"),
            "slots": slots,
            "late_orders": await _late_orders(conn, schedule_id),
        }
    )


async def _late_orders(conn: AsyncConn, schedule_id: int) -> list[LateOrder]:
    cur = await conn.execute(_LATE, {"schedule_id": schedule_id})
    return [
        LateOrder(
            order_id=r["order_id"],
            due_at=r["due_at"],
            finishes_at=r["finishes_at"],
            minutes_late=int((r["finishes_at"] - r["due_at"]).total_seconds() // 60),
        )
        for r in await cur.fetchall()
    ]


async def applied_schedule(conn: AsyncConn, facility_id: str | None = None) -> Schedule | None:
    """The schedule applied for a facility (or the whole plant), if any."""
    cur = await conn.execute(
        "select schedule_id from schedules where status = 'APPLIED' "
        "and facility_id is not distinct from %(facility_id)s",
        {"facility_id": facility_id},
    )
    row = await cur.fetchone()
    return None if row is None else await get_schedule(conn, row["schedule_id"])


async def _lock_proposal(conn: AsyncConn, schedule_id: int, doing: str) -> dict[str, JsonValue]:
    cur = await conn.execute(
        "select schedule_id, status, facility_id, kind, based_on from schedules "
        "where schedule_id = %(id)s for update",
        {"id": schedule_id},
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFoundError(
            f"schedule {schedule_id} does not exist", entity="schedule", id=str(schedule_id)
        )
    target = "APPLIED" if doing == "applied" else "REJECTED"
    SCHEDULE_LIFECYCLE.check(str(schedule_id), row["status"], target, verb=f"be {doing}")
    return dict(row)


async def apply_schedule(
    conn: AsyncConn, actor: Actor, *, schedule_id: int, idempotency_key: str | None = None
) -> Schedule:
    """Apply a proposed schedule; the one applied before it for its scope is superseded."""

    async def run() -> Schedule:
        target = await _lock_proposal(conn, schedule_id, "applied")
        scope = target["facility_id"]
        await conn.execute(
            "select pg_advisory_xact_lock(hashtextextended(%s, 7172))",
            (f"schedule:{scope or '*'}",),
        )
        cur = await conn.execute(
            "select schedule_id from schedules where status = 'APPLIED' "
            "and facility_id is not distinct from %(scope)s for update",
            {"scope": scope},
        )
        previous = await cur.fetchone()
        previous_id = previous["schedule_id"] if previous else None
        if target["kind"] == "RESCHEDULE" and target["based_on"] != previous_id:
            raise InvalidTransitionError(
                f"schedule {schedule_id} revises schedule {target['based_on']}, which is no "
                f"longer the applied one ({previous_id or 'none is'}); reschedule again"
            )
        if previous_id is not None:
            await conn.execute(
                "update schedules set status = 'SUPERSEDED' where schedule_id = %s", (previous_id,)
            )
            await record(
                conn,
                actor,
                event_type="schedule.superseded",
                entity_type="schedule",
                entity_id=str(previous_id),
                action="supersede",
                before={"status": "APPLIED"},
                after={"status": "SUPERSEDED", "superseded_by": schedule_id},
                payload={"schedule_id": previous_id, "superseded_by": schedule_id},
            )
        await conn.execute(
            "update schedules set status = 'APPLIED', applied_at = %s where schedule_id = %s",
            (clock.now(), schedule_id),
        )
        await record(
            conn,
            actor,
            event_type="schedule.applied",
            entity_type="schedule",
            entity_id=str(schedule_id),
            action="apply",
            before={"status": "PROPOSED"},
            after={"status": "APPLIED"},
            payload={"schedule_id": schedule_id, "facility_id": scope, "supersedes": previous_id},
        )
        return await get_schedule(conn, schedule_id)

    async with atomic(conn):
        return await idempotent(conn, idempotency_key, "scheduling.apply", Schedule, run)


async def reject_schedule(
    conn: AsyncConn,
    actor: Actor,
    *,
    schedule_id: int,
    reason: str,
    idempotency_key: str | None = None,
) -> Schedule:
    """Reject a proposed schedule, saying why."""
    if not 1 <= len(reason.strip()) <= 500:
        raise ValidationError("a rejection needs a reason of 1 to 500 characters")

    async def run() -> Schedule:
        await _lock_proposal(conn, schedule_id, "rejected")
        await conn.execute(
            "update schedules set status = 'REJECTED', decision_reason = %s where schedule_id = %s",
            (reason.strip(), schedule_id),
        )
        await record(
            conn,
            actor,
            event_type="schedule.rejected",
            entity_type="schedule",
            entity_id=str(schedule_id),
            action="reject",
            before={"status": "PROPOSED"},
            after={"status": "REJECTED", "reason": reason.strip()},
            payload={"schedule_id": schedule_id, "reason": reason.strip()},
        )
        return await get_schedule(conn, schedule_id)

    async with atomic(conn):
        return await idempotent(conn, idempotency_key, "scheduling.reject", Schedule, run)
