"""MCP tools of the scheduling domain: plan, reschedule, apply, analyse, dispatch, and check due
dates."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from mcp.server.fastmcp import Context
from pydantic import Field

from mcp_servers.runtime import ToolBox, actor_of, domain_tool, plant_of
from tools.accounts.permissions import Permission as P
from tools.scheduling import analysis, dispatch, due_dates, records, reschedule, schedules
from tools.scheduling.dispatch import Rule
from tools.scheduling.problem import Objective

FacilityId = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="PHX, MUC or DET.")]
MachineId = Annotated[
    str,
    Field(pattern=r"^[A-Z]{3}-[A-Z]{2,5}-[0-9]{3}$", description="A machine ID, e.g. MUC-CNC-001."),
]
OrderId = Annotated[str, Field(pattern=r"^ORD-\d+$", description="An order ID, e.g. ORD-10013.")]
ScheduleId = Annotated[int, Field(ge=1, description="A schedule's ID, from propose_schedule.")]
TimeLimit = Annotated[float, Field(gt=0, le=120, description="Solver time limit in seconds.")]
IdempotencyKey = Annotated[
    str | None, Field(max_length=200, description="Repeat a call with the same key: no repeat.")
]


def register(box: ToolBox) -> None:
    _register_planning(box)
    _register_analysis(box)


def _register_planning(box: ToolBox) -> None:
    tool = domain_tool

    @tool(box, P.SCHEDULE_EDIT, title="Propose a production schedule", write=True)
    async def propose_schedule(
        ctx: Context,  # type: ignore[type-arg]
        facility_id: FacilityId | None = None,
        order_ids: Annotated[
            list[str] | None,
            Field(max_length=200, description="Only these orders, e.g. ORD-10003."),
        ] = None,
        objective: Objective = "lexicographic",
        time_limit_s: TimeLimit = 10,
        horizon_days: Annotated[int, Field(ge=1, le=366)] = 42,
    ) -> records.ScheduleResult:
        """Solve the open orders' operations onto machines with CP-SAT (shift calendars, machine
        downtime, setups, due dates) and store the result as a PROPOSED schedule: status,
        objective, bound, gap, late orders and slots. Objectives: makespan, weighted_tardiness
        (rush orders and priority customers weigh more) or lexicographic (tardiness, then
        makespan). Nothing changes on the floor until apply_schedule."""
        request = schedules.ScheduleRequest(
            facility_id=facility_id, order_ids=order_ids, objective=objective,
            time_limit_s=time_limit_s, horizon_days=horizon_days,
        )  # fmt: skip
        async with plant_of(ctx).pool.connection() as conn:
            return await schedules.propose_schedule(conn, actor_of(ctx), request=request)

    @tool(box, P.SCHEDULE_EDIT, title="Reschedule around a machine", write=True)
    async def reschedule_machine(
        ctx: Context,  # type: ignore[type-arg]
        machine_id: MachineId,
        unavailable_from: Annotated[datetime | None, Field(description="Default: now.")] = None,
        unavailable_until: Annotated[
            datetime | None, Field(description="Default: from its status and work orders.")
        ] = None,
        time_limit_s: TimeLimit = 10,
    ) -> records.ScheduleResult:
        """Re-plan the applied schedule without a machine that is DOWN or in maintenance,
        keeping unaffected work in place, and store it as a RESCHEDULE proposal with its impact:
        jobs moved, start/finish changes, orders made late and by how much, overtime needed."""
        request = reschedule.RescheduleRequest(
            machine_id=machine_id, unavailable_from=unavailable_from,
            unavailable_until=unavailable_until, time_limit_s=time_limit_s,
        )  # fmt: skip
        async with plant_of(ctx).pool.connection() as conn:
            return await reschedule.reschedule_machine(conn, actor_of(ctx), request=request)

    @tool(box, P.SCHEDULE_EDIT, title="Apply a proposed schedule", write=True, idempotent=True)
    async def apply_schedule(
        ctx: Context,  # type: ignore[type-arg]
        schedule_id: ScheduleId,
        idempotency_key: IdempotencyKey = None,
    ) -> records.Schedule:
        """Put a PROPOSED schedule into force; the one applied before it is superseded."""
        async with plant_of(ctx).pool.connection() as conn:
            return await schedules.apply_schedule(
                conn, actor_of(ctx), schedule_id=schedule_id, idempotency_key=idempotency_key
            )

    @tool(box, P.SCHEDULE_EDIT, title="Reject a proposed schedule", write=True, destructive=True)
    async def reject_schedule(
        ctx: Context,  # type: ignore[type-arg]
        schedule_id: ScheduleId,
        reason: Annotated[str, Field(min_length=1, max_length=500)],
    ) -> records.Schedule:
        """Reject a PROPOSED schedule, saying why."""
        async with plant_of(ctx).pool.connection() as conn:
            return await schedules.reject_schedule(
                conn, actor_of(ctx), schedule_id=schedule_id, reason=reason
            )


def _register_analysis(box: ToolBox) -> None:
    tool = domain_tool

    @tool(box, P.SCHEDULE_VIEW, title="Get a schedule")
    async def get_schedule(ctx: Context, schedule_id: ScheduleId) -> records.Schedule:  # type: ignore[type-arg]
        """A schedule with its status, solver figures and slots (order, step, machine, times)."""
        async with plant_of(ctx).pool.connection() as conn:
            return await schedules.get_schedule(conn, schedule_id)

    @tool(box, P.SCHEDULE_VIEW, title="The schedule in force")
    async def current_schedule(
        ctx: Context,  # type: ignore[type-arg]
        facility_id: FacilityId | None = None,
    ) -> records.Schedule | None:
        """The APPLIED schedule for a facility (or the whole plant), or nothing if none is."""
        async with plant_of(ctx).pool.connection() as conn:
            return await schedules.applied_schedule(conn, facility_id)

    @tool(box, P.SCHEDULE_VIEW, title="Conflicts in a schedule")
    async def schedule_conflicts(ctx: Context, schedule_id: ScheduleId) -> analysis.ConflictReport:  # type: ignore[type-arg]
        """Check a schedule for overlaps on a machine, work outside shifts or in breaks, machines
        unavailable, capacity overload, precedence violations and late orders."""
        async with plant_of(ctx).pool.connection() as conn:
            return await analysis.schedule_conflicts(conn, schedule_id)

    @tool(box, P.SCHEDULE_VIEW, title="Check orders' due dates")
    async def check_due_dates(
        ctx: Context,  # type: ignore[type-arg]
        order_ids: Annotated[
            list[OrderId] | None,
            Field(max_length=200, description="These orders; every open one if empty."),
        ] = None,
        facility_id: FacilityId | None = None,
        limit: Annotated[int, Field(ge=1, le=200, description="Most open orders to check.")] = 50,
    ) -> due_dates.DueDateReport:
        """Whether orders make their due dates, writing nothing: per order its due time, planned
        finish, minutes late (0 if on time) and where the answer comes from: the applied
        schedule when it holds all the order's open operations, else a what-if plan of its
        facility's open work (as propose_schedule would plan it, not stored). Shipped,
        delivered, completed, cancelled, ready and held orders are reported by status. Use it
        for "can we make the date on ORD-10013?"."""
        async with plant_of(ctx).pool.connection() as conn:
            return await due_dates.check_due_dates(
                conn, order_ids=order_ids or None, facility_id=facility_id, limit=limit
            )

    @tool(box, P.SCHEDULE_VIEW, title="Bottlenecks")
    async def bottlenecks(
        ctx: Context,  # type: ignore[type-arg]
        facility_id: FacilityId | None = None,
        days: Annotated[int, Field(ge=1, le=366, description="Horizon in days.")] = 14,
        schedule_id: Annotated[int | None, Field(ge=1)] = None,
    ) -> analysis.BottleneckReport:
        """Load and utilisation per work center and machine over the next days: where the
        plant's capacity binds."""
        async with plant_of(ctx).pool.connection() as conn:
            return await analysis.bottlenecks(
                conn, facility_id=facility_id, days=days, schedule_id=schedule_id
            )

    @tool(box, P.SCHEDULE_VIEW, title="A work center's queue")
    async def work_center_queue(
        ctx: Context,  # type: ignore[type-arg]
        work_center_id: Annotated[str, Field(max_length=40, description="e.g. PHX-MILL")],
        rule: Rule = "EDD",
    ) -> dispatch.WorkCenterQueue:
        """The operations waiting at a work center in dispatch order: EDD (earliest due date),
        SPT (shortest processing time), CR (critical ratio), SLACK or FIFO."""
        async with plant_of(ctx).pool.connection() as conn:
            return await dispatch.work_center_queue(conn, work_center_id, rule=rule)
