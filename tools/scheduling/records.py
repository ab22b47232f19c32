"""Schedules as Titan reports them: slots, late orders, a reschedule's impact, results."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

from pydantic import BaseModel, JsonValue

from tools.core.lifecycle import Lifecycle
from tools.scheduling.problem import Status

ScheduleStatus = Literal["PROPOSED", "APPLIED", "SUPERSEDED", "REJECTED"]
# A proposal is applied or rejected; an applied schedule is superseded by the next one applied.
SCHEDULE_LIFECYCLE: Lifecycle[ScheduleStatus] = Lifecycle(
    entity="schedule",
    statuses=get_args(ScheduleStatus),
    moves={
        "PROPOSED": frozenset({"APPLIED", "REJECTED"}),
        "APPLIED": frozenset({"SUPERSEDED"}),
        "SUPERSEDED": frozenset(),
        "REJECTED": frozenset(),
    },
    hints=dict.fromkeys(
        ("APPLIED", "SUPERSEDED", "REJECTED"),
        "only a PROPOSED schedule can be applied or rejected; propose a new one",
    ),
)
ScheduleKind = Literal["PLAN", "RESCHEDULE"]


class Slot(BaseModel):
    order_id: str
    line_no: int
    op_seq: int
    operation: str
    machine_id: str
    work_center_id: str
    starts_at: datetime
    ends_at: datetime
    setup_minutes: int
    segments: list[tuple[datetime, datetime]]


class LateOrder(BaseModel):
    order_id: str
    due_at: datetime
    finishes_at: datetime
    minutes_late: int


class Move(BaseModel):
    """One operation a reschedule changes."""

    order_id: str
    line_no: int
    op_seq: int
    from_machine: str
    to_machine: str
    from_start: datetime
    to_start: datetime
    start_change_minutes: int
    finish_change_minutes: int


class LateChange(BaseModel):
    """An order a reschedule makes late, or later than it was."""

    order_id: str
    due_at: datetime
    finished_before: datetime | None
    finishes_at: datetime
    minutes_late: int
    minutes_later: int
    overtime_minutes: int  # working minutes to win back on its last machine


class Impact(BaseModel):
    """What a reschedule changes, for a person to approve."""

    machine_id: str
    unavailable_from: datetime
    unavailable_until: datetime | None
    operations_affected: int  # on the machine in that window
    operations_moved: int
    jobs_moved: int  # order lines with a moved operation
    moves: list[Move]
    orders_late: list[LateChange]
    overtime_minutes: int


class Schedule(BaseModel):
    schedule_id: int
    kind: ScheduleKind
    status: ScheduleStatus
    facility_id: str | None
    objective: str
    solver_status: str
    objective_value: float | None
    best_bound: float | None
    gap: float | None
    solve_seconds: float | None
    first_solution_seconds: float | None
    best_solution_seconds: float | None
    horizon_start: datetime
    horizon_end: datetime
    created_at: datetime
    created_by: str
    applied_at: datetime | None
    based_on: int | None
    decision_reason: str | None
    settings: dict[str, JsonValue]
    impact: Impact | None
    slots: list[Slot]
    late_orders: list[LateOrder]


class ScheduleResult(BaseModel):
    """A proposal's outcome: the solver status, why there is no schedule, or the schedule."""

    solver_status: Status
    reason: str | None = None
    schedule: Schedule | None = None
