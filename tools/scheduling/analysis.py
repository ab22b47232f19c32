"""What is wrong with a schedule, and where the plant's capacity runs short.

Conflicts, checked against the plant as it is now:

- OVERLAP: two slots on one machine at once;
- OUTSIDE_SHIFT: processing outside the calendar's shifts (holidays and shutdowns included);
- IN_BREAK: processing in a break by an operation whose routing step may not span one;
- MACHINE_UNAVAILABLE: processing, from now on, while the machine is down or in maintenance;
- OVERLOAD: more minutes booked on a machine in a day than it has working minutes that day;
- PRECEDENCE: a routing step starting before the step before it ends;
- LATE: an order finishing after its due time.

Bottlenecks: per work center and machine over a horizon, the working minutes available, the
minutes the schedule books (the applied one unless named) and the utilisation, and the demand
of the open order book (every open step at nominal speed) against the capacity.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel

from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.errors import ValidationError
from tools.scheduling.calendar import Span, intersect, merge
from tools.scheduling.plant import PlantState, load_state
from tools.scheduling.records import Schedule, Slot
from tools.scheduling.schedules import applied_schedule, get_schedule

ConflictKind = Literal[
    "OVERLAP",
    "OUTSIDE_SHIFT",
    "IN_BREAK",
    "MACHINE_UNAVAILABLE",
    "OVERLOAD",
    "PRECEDENCE",
    "LATE",
]


class Conflict(BaseModel):
    kind: ConflictKind
    message: str
    machine_id: str | None = None
    order_id: str | None = None
    line_no: int | None = None
    op_seq: int | None = None
    starts_at: datetime | None = None
    minutes: int


class ConflictReport(BaseModel):
    schedule_id: int
    checked_at: datetime
    slots: int
    counts: dict[str, int]
    conflicts: list[Conflict]


async def schedule_conflicts(conn: AsyncConn, schedule_id: int) -> ConflictReport:
    """Every conflict in a schedule, checked against the plant's calendars and machines now."""
    schedule = await get_schedule(conn, schedule_id)
    origin = min([schedule.horizon_start, *(s.starts_at for s in schedule.slots)])
    origin = origin.replace(second=0, microsecond=0)
    end = max([schedule.horizon_end, *(s.ends_at for s in schedule.slots)])
    days = (end - origin).days + 2
    state = await load_state(conn, facility_id=schedule.facility_id, horizon_days=days, now=origin)
    spans = await _spanning_steps(conn, schedule)
    conflicts = _overlaps(schedule.slots)
    conflicts += _calendar_conflicts(schedule.slots, state, spans)
    conflicts += _overloads(schedule.slots, state)
    conflicts += _precedence(schedule.slots)
    conflicts += await _late(conn, schedule)
    counts: dict[str, int] = defaultdict(int)
    for c in conflicts:
        counts[c.kind] += 1
    return ConflictReport(
        schedule_id=schedule_id,
        checked_at=clock.now(),
        slots=len(schedule.slots),
        counts=dict(counts),
        conflicts=conflicts,
    )


def _pieces(slot: Slot) -> list[tuple[datetime, datetime]]:
    return list(slot.segments) or [(slot.starts_at, slot.ends_at)]


def _overlaps(slots: list[Slot]) -> list[Conflict]:
    out = []
    by_machine: dict[str, list[Slot]] = defaultdict(list)
    for s in slots:
        by_machine[s.machine_id].append(s)
    for machine, mine in sorted(by_machine.items()):
        mine.sort(key=lambda s: (s.starts_at, s.ends_at))
        for i, a in enumerate(mine):
            for b in mine[i + 1 :]:
                if b.starts_at >= a.ends_at:
                    break
                minutes = _minutes(min(a.ends_at, b.ends_at) - b.starts_at)
                out.append(
                    Conflict(
                        kind="OVERLAP",
                        message=f"{_name(a)} and {_name(b)} overlap on {machine} for {minutes} min",
                        machine_id=machine,
                        order_id=b.order_id,
                        line_no=b.line_no,
                        op_seq=b.op_seq,
                        starts_at=b.starts_at,
                        minutes=minutes,
                    )
                )
    return out


def _calendar_conflicts(
    slots: list[Slot], state: PlantState, spans: set[tuple[str, int, int]]
) -> list[Conflict]:
    out = []
    calendars = {m.machine_id: state.calendars[m.calendar_id] for m in state.machines}
    now = state.minute(clock.now())
    for s in slots:
        calendar = calendars.get(s.machine_id)
        if calendar is None:
            continue
        pieces = merge((state.minute(a), state.minute(b)) for a, b in _pieces(s))
        outside = _length(pieces) - _length(intersect(pieces, calendar.windows))
        in_break = (
            0 if (s.order_id, s.line_no, s.op_seq) in spans else _overlap(pieces, calendar.breaks)
        )
        future = intersect(pieces, [(max(now, 0), state.horizon)])
        down = _overlap(future, state.unavailable.get(s.machine_id, ()))
        checks: tuple[tuple[ConflictKind, int, str], ...] = (
            ("OUTSIDE_SHIFT", outside, "outside the shifts of its calendar"),
            ("IN_BREAK", in_break, "in breaks, and its routing step may not span one"),
            ("MACHINE_UNAVAILABLE", down, "while the machine is down or in maintenance"),
        )
        for kind, minutes, what in checks:
            if minutes > 0:
                out.append(
                    _slot_conflict(kind, s, minutes, f"{_name(s)} runs {minutes} min {what}")
                )
    return out


def _overloads(slots: list[Slot], state: PlantState) -> list[Conflict]:
    booked: dict[tuple[str, int], int] = defaultdict(int)
    for s in slots:
        for a, b in _pieces(s):
            start, end = state.minute(a), state.minute(b)
            for day in range(start // 1440, (end - 1) // 1440 + 1):
                booked[s.machine_id, day] += min(end, (day + 1) * 1440) - max(start, day * 1440)
    out = []
    for (machine, day), minutes in sorted(booked.items()):
        working = state.working.get(machine)
        if working is None:
            continue
        available = _overlap(working.windows, [(day * 1440, (day + 1) * 1440)])
        if minutes > available:
            at = state.at(day * 1440)
            out.append(
                Conflict(
                    kind="OVERLOAD",
                    message=(
                        f"{machine} is booked {minutes} min in the 24 h from {at:%Y-%m-%d %H:%M} "
                        f"UTC and works {available} min then"
                    ),
                    machine_id=machine,
                    starts_at=at,
                    minutes=minutes - available,
                )
            )
    return out


def _precedence(slots: list[Slot]) -> list[Conflict]:
    lines: dict[tuple[str, int], list[Slot]] = defaultdict(list)
    for s in slots:
        lines[s.order_id, s.line_no].append(s)
    out = []
    for steps in lines.values():
        steps.sort(key=lambda s: s.op_seq)
        for before, after in zip(steps, steps[1:], strict=False):
            if after.starts_at < before.ends_at:
                minutes = _minutes(before.ends_at - after.starts_at)
                message = f"{_name(after)} starts {minutes} min before step {before.op_seq} ends"
                out.append(_slot_conflict("PRECEDENCE", after, minutes, message))
    return out


async def _late(conn: AsyncConn, schedule: Schedule) -> list[Conflict]:
    return [
        Conflict(
            kind="LATE",
            message=(
                f"{late.order_id} finishes {late.finishes_at:%Y-%m-%d %H:%M} UTC, "
                f"{late.minutes_late} min after its due time {late.due_at:%Y-%m-%d %H:%M} UTC"
            ),
            order_id=late.order_id,
            starts_at=late.finishes_at,
            minutes=late.minutes_late,
        )
        for late in schedule.late_orders
    ]


async def _spanning_steps(conn: AsyncConn, schedule: Schedule) -> set[tuple[str, int, int]]:
    """The schedule's steps whose routing lets them span breaks."""
    cur = await conn.execute(
        "select s.order_id, s.line_no, s.op_seq from schedule_slots s "
        "join order_lines l on l.order_id = s.order_id and l.line_no = s.line_no "
        "join routings r on r.sku = l.sku and r.seq = s.op_seq "
        "where s.schedule_id = %(id)s and r.may_span_break",
        {"id": schedule.schedule_id},
    )
    return {(r["order_id"], r["line_no"], r["op_seq"]) for r in await cur.fetchall()}


def _slot_conflict(kind: ConflictKind, s: Slot, minutes: int, message: str) -> Conflict:
    return Conflict(
        kind=kind,
        message=message,
        machine_id=s.machine_id,
        order_id=s.order_id,
        line_no=s.line_no,
        op_seq=s.op_seq,
        starts_at=s.starts_at,
        minutes=minutes,
    )


def _name(s: Slot) -> str:
    return f"{s.order_id} line {s.line_no} step {s.op_seq}"


def _length(spans: tuple[Span, ...] | list[Span]) -> int:
    return sum(b - a for a, b in spans)


def _overlap(spans: tuple[Span, ...] | list[Span], other: tuple[Span, ...] | list[Span]) -> int:
    return _length(intersect(merge(spans), merge(other)))


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


# ───────────── bottlenecks ─────────────


class MachineLoad(BaseModel):
    machine_id: str
    status: str
    available_minutes: int
    booked_minutes: int
    utilisation: float | None


class WorkCenterLoad(BaseModel):
    work_center_id: str
    facility_id: str
    wc_type: str
    available_minutes: int
    booked_minutes: int
    utilisation: float | None  # booked / available
    demand_minutes: int  # the open order book's work here, at nominal speed
    load_ratio: float | None  # demand / available
    machines: list[MachineLoad]


class BottleneckReport(BaseModel):
    facility_id: str | None
    starts_at: datetime
    ends_at: datetime
    schedule_id: int | None
    bottleneck: str | None  # the most loaded work center
    work_centers: list[WorkCenterLoad]


async def bottlenecks(
    conn: AsyncConn,
    *,
    facility_id: str | None = None,
    days: int = 14,
    schedule_id: int | None = None,
) -> BottleneckReport:
    """Load and utilisation per work center and machine over the next `days` days."""
    if not 1 <= days <= 366:
        raise ValidationError(f"a bottleneck horizon is 1 to 366 days, got {days}")
    state = await load_state(conn, facility_id=facility_id, horizon_days=days)
    if schedule_id is not None:
        schedule: Schedule | None = await get_schedule(conn, schedule_id)
    else:
        schedule = await applied_schedule(conn, facility_id)
    booked: dict[str, int] = defaultdict(int)
    for s in schedule.slots if schedule else []:
        pieces = merge((state.minute(a), state.minute(b)) for a, b in _pieces(s))
        booked[s.machine_id] += _overlap(pieces, [(0, state.horizon)])
    demand = _demand(state)
    centers: dict[str, list[MachineLoad]] = defaultdict(list)
    for m in state.machines:
        available = state.working[m.machine_id].minutes
        centers[m.work_center_id].append(
            MachineLoad(
                machine_id=m.machine_id,
                status=m.status,
                available_minutes=available,
                booked_minutes=booked[m.machine_id],
                utilisation=_ratio(booked[m.machine_id], available),
            )
        )
    info = {m.work_center_id: m for m in state.machines}
    loads = []
    for center, machines in centers.items():
        available = sum(m.available_minutes for m in machines)
        used = sum(m.booked_minutes for m in machines)
        need = demand.get(center, 0)
        loads.append(
            WorkCenterLoad(
                work_center_id=center,
                facility_id=info[center].facility_id,
                wc_type=info[center].wc_type,
                available_minutes=available,
                booked_minutes=used,
                utilisation=_ratio(used, available),
                demand_minutes=need,
                load_ratio=_ratio(need, available),
                machines=machines,
            )
        )
    key = "utilisation" if schedule else "load_ratio"
    loads.sort(key=lambda w: (-(getattr(w, key) or 0.0), w.work_center_id))
    top = loads[0] if loads and (getattr(loads[0], key) or 0) > 0 else None
    return BottleneckReport(
        facility_id=facility_id,
        starts_at=state.origin,
        ends_at=state.horizon_end,
        schedule_id=schedule.schedule_id if schedule else None,
        bottleneck=top.work_center_id if top else None,
        work_centers=loads,
    )


def _demand(state: PlantState) -> dict[str, int]:
    """Open work per work center: each step's minutes shared by its type's work centers there."""
    centers: dict[tuple[str, str], set[str]] = defaultdict(set)
    for m in state.machines:
        centers[m.facility_id, m.wc_type].add(m.work_center_id)
    out: dict[str, int] = defaultdict(int)
    for item in state.items:
        for step in state.routings.get(item.sku, []):
            where = [c for (f, t), cs in centers.items() for c in cs
                     if t == step.wc_type and item.facility_id in (None, f)]  # fmt: skip
            for center in where:
                out[center] += step.minutes(item.quantity) // len(where)
    return dict(out)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole > 0 else None
