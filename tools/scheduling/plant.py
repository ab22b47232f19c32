"""The plant's open work as a scheduling problem, read from its tables.

Jobs are the open order lines of manufactured products (orders CREATED, VALIDATED, RESERVED or
IN_PRODUCTION by default; ON_HOLD ones wait); their operations are the product's routing steps,
each allowed on every available machine of the step's work-center type at the order's
facility. Minute 0 is the current plant minute (rounded up).

- Duration on a machine: ``setup + ceil(run_minutes_per_unit × quantity / efficiency)``.
- Working time: the work center's shift calendar with its exceptions, less the machine's
  maintenance windows (open, scheduled or running work orders with a window). A machine DOWN
  or in MAINTENANCE is unavailable until the end of the window of the work order under way on
  it (running, or its window open now), or for the whole horizon when there is none or that
  window has passed; an OFFLINE machine for the whole horizon.
- A routing step that ``may_span_break`` runs through breaks but not past a window's end; any
  other step pauses over breaks and off-shift time and resumes.
- Weight: ``(6 - priority) × (5 if rush else 1)``, priority being the more urgent of the
  order's and its customer's (1 most important).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.errors import NotFoundError, ValidationError
from tools.scheduling.calendar import (
    CalendarException,
    Shift,
    Span,
    WorkingTime,
    merge,
    minute_of,
    working_time,
)

SCHEDULED_STATUSES = ("CREATED", "VALIDATED", "RESERVED", "IN_PRODUCTION")
UNAVAILABLE_STATUSES = ("DOWN", "MAINTENANCE", "OFFLINE")
SetupMode = Literal["per_operation", "sequence"]
StepKey = tuple[str, int, int]  # (order_id, line_no, op_seq)


@dataclass(frozen=True)
class WorkItem:
    """An order line to make."""

    order_id: str
    line_no: int
    sku: str
    quantity: int
    customer_id: str
    facility_id: str | None
    status: str
    due_at: datetime
    created_at: datetime
    is_rush: bool
    priority: int  # the more urgent of the order's and the customer's

    @property
    def weight(self) -> int:
        return (6 - self.priority) * (5 if self.is_rush else 1)


@dataclass(frozen=True)
class Step:
    """One routing step of a product."""

    sku: str
    seq: int
    operation: str
    wc_type: str
    setup_minutes: int
    run_minutes_per_unit: Decimal
    may_span_break: bool

    def minutes(
        self, quantity: int, efficiency: Decimal = Decimal(1), *, setup: bool = True
    ) -> int:
        run = math.ceil(self.run_minutes_per_unit * quantity / efficiency)
        return run + (self.setup_minutes if setup else 0)


@dataclass(frozen=True)
class PlantMachine:
    machine_id: str
    facility_id: str
    work_center_id: str
    wc_type: str
    status: str
    efficiency: Decimal
    calendar_id: str


@dataclass(frozen=True)
class Outage:
    """A machine out of use for [starts_at, ends_at) (ends_at None: to the horizon's end)."""

    machine_id: str
    starts_at: datetime
    ends_at: datetime | None = None


@dataclass
class PlantState:
    """What the plant holds that a schedule needs, at one moment."""

    origin: datetime
    horizon: int
    facility_id: str | None
    items: list[WorkItem]
    routings: dict[str, list[Step]]
    machines: list[PlantMachine]
    calendars: dict[str, WorkingTime]  # the calendar alone, by calendar_id
    working: dict[str, WorkingTime]  # per machine: its calendar less its unavailable spans
    unavailable: dict[str, tuple[Span, ...]] = field(default_factory=dict)  # per machine
    blocked: dict[str, str] = field(default_factory=dict)  # machine → why it is out

    def minute(self, at: datetime) -> int:
        return minute_of(at, self.origin)

    def at(self, minute: int) -> datetime:
        return self.origin + timedelta(minutes=minute)

    @property
    def horizon_end(self) -> datetime:
        return self.at(self.horizon)


def plant_origin(now: datetime | None = None) -> datetime:
    """Minute 0 of a schedule: now, rounded up to a whole minute."""
    now = now or clock.now()
    floor = now.replace(second=0, microsecond=0)
    return floor if floor == now else floor + timedelta(minutes=1)


_ITEMS = """
select o.order_id, o.customer_id, o.status, o.priority, o.is_rush, o.facility_id, o.due_at,
       o.created_at, c.priority as customer_priority, l.line_no, l.sku,
       l.quantity - l.quantity_shipped as quantity, p.is_manufactured
from orders o
join customers c on c.customer_id = o.customer_id
join order_lines l on l.order_id = o.order_id
join products p on p.sku = l.sku
where (%(order_ids)s::text[] is null or o.order_id = any(%(order_ids)s))
  and (%(order_ids)s::text[] is not null or o.status = any(%(statuses)s))
  and (%(facility_id)s::text is null or o.facility_id = %(facility_id)s)
order by o.order_id, l.line_no
"""
_ROUTINGS = """
select sku, seq, operation, wc_type, setup_minutes, run_minutes_per_unit, may_span_break
from routings where sku = any(%(skus)s) order by sku, seq
"""
_MACHINES = """
select e.machine_id, e.facility_id, e.work_center_id, e.status, e.efficiency, w.wc_type,
       w.calendar_id
from equipment e join work_centers w on w.work_center_id = e.work_center_id
where %(facility_id)s::text is null or e.facility_id = %(facility_id)s
order by e.machine_id
"""
_SHIFTS = """
select c.calendar_id, f.timezone, s.shift_id, s.day_of_week, s.start_time, s.duration_minutes,
       coalesce(array_agg(array[b.offset_minutes, b.duration_minutes] order by b.offset_minutes)
                filter (where b.shift_id is not null), '{}') as breaks
from shift_calendars c
join facilities f on f.facility_id = c.facility_id
left join shifts s on s.calendar_id = c.calendar_id
left join shift_breaks b on b.shift_id = s.shift_id
where c.calendar_id = any(%(calendars)s)
group by c.calendar_id, f.timezone, s.shift_id
"""
_EXCEPTIONS = """
select calendar_id, kind, starts_at, ends_at from calendar_exceptions
where calendar_id = any(%(calendars)s) and ends_at > %(start)s and starts_at < %(end)s
"""
_WORK_ORDERS = """
select work_order_id, machine_id, status, scheduled_start, scheduled_end from work_orders
where status in ('OPEN', 'SCHEDULED', 'IN_PROGRESS') and machine_id = any(%(machines)s)
"""


async def load_state(
    conn: AsyncConn,
    *,
    facility_id: str | None = None,
    order_ids: Sequence[str] | None = None,
    statuses: Sequence[str] = SCHEDULED_STATUSES,
    horizon_days: int = 42,
    outages: Iterable[Outage] = (),
    now: datetime | None = None,
) -> PlantState:
    """The plant's open work, machines and working time, from minute 0 = now."""
    if facility_id is not None:
        cur = await conn.execute("select 1 from facilities where facility_id = %s", (facility_id,))
        if await cur.fetchone() is None:
            raise NotFoundError(
                f"facility {facility_id} does not exist", entity="facility", id=str(facility_id)
            )
    origin = plant_origin(now)
    horizon = horizon_days * 1440
    items = await _items(conn, facility_id, order_ids, statuses)
    cur = await conn.execute(_ROUTINGS, {"skus": sorted({i.sku for i in items})})
    routings: dict[str, list[Step]] = {}
    for row in await cur.fetchall():
        routings.setdefault(row["sku"], []).append(Step(**row))
    cur = await conn.execute(_MACHINES, {"facility_id": facility_id})
    machines = [PlantMachine(**row) for row in await cur.fetchall()]
    calendars = await _calendars(conn, {m.calendar_id for m in machines}, origin, horizon)
    state = PlantState(origin, horizon, facility_id, items, routings, machines, calendars, {})
    await _block(conn, state, list(outages))
    return state


async def _items(
    conn: AsyncConn,
    facility_id: str | None,
    order_ids: Sequence[str] | None,
    statuses: Sequence[str],
) -> list[WorkItem]:
    wanted = list(order_ids) if order_ids is not None else None
    cur = await conn.execute(
        _ITEMS, {"order_ids": wanted, "statuses": list(statuses), "facility_id": facility_id}
    )
    rows = await cur.fetchall()
    if wanted is not None:
        missing = sorted(set(wanted) - {r["order_id"] for r in rows})
        if missing:
            where = f" at {facility_id}" if facility_id else ""
            raise NotFoundError(f"no order {', '.join(missing)}{where} to schedule")
        waiting = sorted({r["order_id"] for r in rows if r["status"] not in statuses})
        if waiting:
            raise ValidationError(
                f"order {', '.join(waiting)} cannot be scheduled in its status; orders that are "
                f"{', '.join(statuses)} can"
            )
    return [
        WorkItem(
            order_id=r["order_id"],
            line_no=r["line_no"],
            sku=r["sku"],
            quantity=r["quantity"],
            customer_id=r["customer_id"],
            facility_id=r["facility_id"],
            status=r["status"],
            due_at=r["due_at"],
            created_at=r["created_at"],
            is_rush=r["is_rush"],
            priority=min(r["priority"], r["customer_priority"]),
        )
        for r in rows
        if r["is_manufactured"] and r["quantity"] > 0
    ]


async def _calendars(
    conn: AsyncConn, ids: set[str], origin: datetime, horizon: int
) -> dict[str, WorkingTime]:
    cur = await conn.execute(_SHIFTS, {"calendars": sorted(ids)})
    shifts: dict[str, list[Shift]] = {i: [] for i in ids}
    zones: dict[str, str] = {}
    for row in await cur.fetchall():
        zones[row["calendar_id"]] = row["timezone"]
        if row["shift_id"] is not None:
            breaks = tuple((b[0], b[1]) for b in row["breaks"])
            shifts[row["calendar_id"]].append(
                Shift(row["day_of_week"], row["start_time"], row["duration_minutes"], breaks)
            )
    end = origin + timedelta(minutes=horizon)
    cur = await conn.execute(_EXCEPTIONS, {"calendars": sorted(ids), "start": origin, "end": end})
    exceptions: dict[str, list[CalendarException]] = {i: [] for i in ids}
    for row in await cur.fetchall():
        exceptions[row["calendar_id"]].append(
            CalendarException(row["kind"], row["starts_at"], row["ends_at"])
        )
    return {
        i: working_time(shifts[i], exceptions[i], timezone=zones[i], origin=origin, horizon=horizon)
        for i in sorted(zones)
    }


async def _block(conn: AsyncConn, state: PlantState, outages: list[Outage]) -> None:
    """Each machine's working time less maintenance windows, downtime and outages."""
    ids = [m.machine_id for m in state.machines]
    cur = await conn.execute(_WORK_ORDERS, {"machines": ids})
    orders = await cur.fetchall()
    h = state.horizon
    for m in state.machines:
        mine = [w for w in orders if w["machine_id"] == m.machine_id]
        holes: list[Span] = [
            (state.minute(w["scheduled_start"]), state.minute(w["scheduled_end"]))
            for w in mine
            if w["scheduled_start"] is not None and w["scheduled_end"] is not None
        ]
        if m.status in UNAVAILABLE_STATUSES:
            # back when the repair under way (running, or its window open now) is done
            ends = [
                state.minute(w["scheduled_end"])
                for w in mine
                if w["scheduled_end"] is not None
                and (
                    w["status"] == "IN_PROGRESS"
                    or state.minute(w["scheduled_start"] or w["scheduled_end"]) <= 0
                )
            ]
            back = max(ends) if ends and m.status != "OFFLINE" and max(ends) > 0 else h
            holes.append((0, back))
            until = "" if back >= h else f" until {state.at(back):%Y-%m-%d %H:%M} UTC"
            state.blocked[m.machine_id] = f"{m.machine_id} is {m.status}{until}"
        for o in (o for o in outages if o.machine_id == m.machine_id):
            end = h if o.ends_at is None else state.minute(o.ends_at)
            holes.append((state.minute(o.starts_at), end))
            state.blocked.setdefault(m.machine_id, f"{m.machine_id} is out of use")
        spans = tuple((max(a, 0), min(b, h)) for a, b in merge(holes) if b > 0 and a < h)
        state.unavailable[m.machine_id] = spans
        state.working[m.machine_id] = state.calendars[m.calendar_id].without(spans)


@dataclass(frozen=True)
class ShiftLoss:
    """What taking a machine out of use for [starts_at, ends_at) costs production."""

    machine_id: str
    machine_status: str
    shift_minutes: int  # working minutes of its calendar inside the span (breaks excluded)
    jobs: tuple[str, ...]  # orders of the schedule in force with work on it in the span


_PLANNED_IN = """
select distinct s.order_id from schedule_slots s join schedules h using (schedule_id)
where h.status = 'APPLIED' and s.machine_id = %(m)s
  and tstzrange(s.starts_at, s.ends_at) && tstzrange(%(s)s, %(e)s)
order by s.order_id
"""


async def shift_loss(
    conn: AsyncConn, machine_id: str, starts_at: datetime, ends_at: datetime
) -> ShiftLoss | None:
    """The shift minutes and planned jobs a machine loses in [starts_at, ends_at); None when
    the machine does not exist."""
    cur = await conn.execute(
        "select e.status, w.calendar_id from equipment e join work_centers w "
        "using (work_center_id) where e.machine_id = %(m)s",
        {"m": machine_id},
    )
    row = await cur.fetchone()
    if row is None:
        return None
    origin = starts_at.replace(second=0, microsecond=0)
    horizon = max(0, math.ceil((ends_at - origin).total_seconds() / 60))
    calendars = await _calendars(conn, {row["calendar_id"]}, origin, horizon)
    calendar = calendars.get(row["calendar_id"])
    minutes = calendar.working_minutes(0, horizon) if calendar is not None else 0
    cur = await conn.execute(_PLANNED_IN, {"m": machine_id, "s": starts_at, "e": ends_at})
    jobs = tuple(r["order_id"] for r in await cur.fetchall())
    return ShiftLoss(machine_id, row["status"], minutes, jobs)
