"""Whether orders make their due dates, answered with reads only.

For each order asked about (or each open order of a facility or of the plant, soonest due
first, up to a limit):

- CREATED, VALIDATED, RESERVED or IN_PRODUCTION with open lines of made products: the finish of
  its last operation. From the APPLIED schedule (its facility's, else the plant's) when that
  schedule has a slot for every open operation of the order (every routing step of every line
  not yet shipped); otherwise from a what-if: the open work of the order's facility (the whole
  plant for an order without one) planned as `propose_schedule` would plan it, and not written.
  Like a fresh proposal, a what-if does not keep where an applied schedule put other orders.
- READY, SHIPPED, DELIVERED, COMPLETED, CANCELLED or ON_HOLD: its status is the answer; nothing
  is planned (an order on hold waits outside every plan until released).
- In a planned status with nothing left to make (lines of stocked products, or all shipped):
  nothing to plan.

An order makes its date when its finish is at or before `due_at`; `minutes_late` is 0 then, else
the minutes past it, rounded up. A what-if runs CP-SAT with one worker, a fixed seed and a
deterministic limit, so the same plant gives the same answer on any machine; the wall-clock
limit is a safety net only. Nothing here writes: the reads run in a read-only transaction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from tools.core import clock
from tools.core.db import AsyncConn, read_only
from tools.core.errors import NotFoundError, ValidationError
from tools.orders.lifecycle import OPEN_STATUSES, ORDER_STATUSES, OrderStatus
from tools.scheduling.plant import SCHEDULED_STATUSES
from tools.scheduling.problem import Status
from tools.scheduling.schedules import ScheduleRequest, plan_request

Source = Literal["APPLIED_SCHEDULE", "WHAT_IF", "ORDER_STATUS", "NOTHING_TO_MAKE", "NO_PLAN"]
# Past production for good: neither open nor waiting on a hold (SHIPPED to COMPLETED, CANCELLED).
CLOSED_STATUSES: tuple[OrderStatus, ...] = tuple(
    s for s in ORDER_STATUSES if s not in (*OPEN_STATUSES, "ON_HOLD")
)
MAX_ORDERS = 200
# The what-if's solve: deterministic work units (about 3 for the whole demo plant to optimality),
# and a wall-clock limit far beyond what they take, so that it never decides the answer.
WHAT_IF_WORK = 10.0
WHAT_IF_SAFETY_S = 60.0

_STATUS_NOTES: dict[str, str] = {
    "READY": "READY: made and packed, waiting to ship; nothing left to plan",
    "SHIPPED": "SHIPPED: production is over; track its shipment for the delivery",
    "DELIVERED": "DELIVERED: production and delivery are over",
    "COMPLETED": "COMPLETED: the order is closed",
    "CANCELLED": "CANCELLED: the order will not be made",
}


class DueDateCheck(BaseModel):
    """One order against its due date, and where the answer comes from."""

    order_id: str
    customer_id: str
    status: OrderStatus
    facility_id: str | None
    due_at: datetime
    planned_finish: datetime | None  # the end of its last operation; None when not planned
    makes_due_date: bool | None  # None when not planned
    minutes_late: int | None  # 0 when on time; None when not planned
    source: Source
    schedule_id: int | None  # the applied schedule the finish comes from
    finishes_on: str | None  # the machine of its last operation
    note: str


class WhatIf(BaseModel):
    """A plan made to answer, and not written: its scope and how the solve ended."""

    facility_id: str | None  # None: the whole plant
    solver_status: Status
    order_lines: int  # jobs in the plan
    weighted_tardiness: int | None
    reason: str | None


class DueDateReport(BaseModel):
    """Orders against their due dates; nothing was written to answer."""

    checked_at: datetime
    orders: list[DueDateCheck]
    what_ifs: list[WhatIf]
    more_orders: int  # open orders past the limit, left out


class _Order(BaseModel):
    order_id: str
    customer_id: str
    status: OrderStatus
    facility_id: str | None
    due_at: datetime
    hold_reason: str | None
    total: int  # open orders the query matched before its limit


@dataclass(frozen=True)
class _End:
    """Where and when one operation of an order ends."""

    machine_id: str
    ends_at: datetime
    schedule_id: int | None = None


_ORDERS = """
select o.order_id, o.customer_id, o.status, o.facility_id, o.due_at, o.hold_reason,
       count(*) over () as total
from orders o
where case when %(ids)s::text[] is null
           then o.status <> all(%(closed)s)
                and (%(f)s::text is null or o.facility_id = %(f)s)
           else o.order_id = any(%(ids)s) end
order by o.due_at, o.order_id
limit %(limit)s
"""
_OPEN_OPERATIONS = """
select l.order_id, l.line_no, r.seq
from order_lines l
join products p on p.sku = l.sku
left join routings r on r.sku = l.sku
where l.order_id = any(%(ids)s) and p.is_manufactured and l.quantity > l.quantity_shipped
"""
_APPLIED_SLOTS = """
select s.schedule_id, s.facility_id as scope, t.order_id, t.line_no, t.op_seq, t.machine_id,
       t.ends_at
from schedules s join schedule_slots t on t.schedule_id = s.schedule_id
where s.status = 'APPLIED' and t.order_id = any(%(ids)s)
"""


async def check_due_dates(
    conn: AsyncConn,
    *,
    order_ids: Sequence[str] | None = None,
    facility_id: str | None = None,
    limit: int = 50,
) -> DueDateReport:
    """Whether each order named (in the order named; else each open order of the facility or
    the plant, soonest due first, up to `limit`) makes its due date, from the applied schedule
    or a what-if."""
    if not 1 <= limit <= MAX_ORDERS:
        raise ValidationError(f"the limit must be 1 to {MAX_ORDERS} orders, got {limit}")
    if order_ids is not None and not 1 <= len(order_ids) <= MAX_ORDERS:
        raise ValidationError(f"name 1 to {MAX_ORDERS} orders, or none for every open order")
    now = clock.now()
    async with read_only(conn):
        orders = await _orders(conn, order_ids, facility_id, limit)
        checks, to_plan = await _from_status_and_schedule(conn, orders, now)
        what_ifs = []
        for scope in sorted({o.facility_id for o in to_plan}, key=lambda f: f or ""):
            group = [o for o in to_plan if o.facility_id == scope]
            what_if, found = await _what_if(conn, scope, group, now)
            what_ifs.append(what_if)
            checks |= found
    more = orders[0].total - len(orders) if orders and order_ids is None else 0
    return DueDateReport(
        checked_at=now,
        orders=[checks[o.order_id] for o in orders],
        what_ifs=what_ifs,
        more_orders=more,
    )


async def _orders(
    conn: AsyncConn, order_ids: Sequence[str] | None, facility_id: str | None, limit: int
) -> list[_Order]:
    if facility_id is not None:
        cur = await conn.execute("select facility_id from facilities order by facility_id")
        known = [r["facility_id"] for r in await cur.fetchall()]
        if facility_id not in known:
            raise NotFoundError(
                f"facility {facility_id} does not exist; facilities are {', '.join(known)}"
            )
    ids = None if order_ids is None else list(dict.fromkeys(order_ids))
    cur = await conn.execute(
        _ORDERS,
        {
            "ids": ids,
            "closed": list(CLOSED_STATUSES),
            "f": facility_id,
            "limit": limit if ids is None else len(ids),
        },
    )
    orders = [_Order.model_validate(r) for r in await cur.fetchall()]
    if ids is None:
        return orders
    missing = sorted(set(ids) - {o.order_id for o in orders})
    if missing:
        raise NotFoundError(
            f"no order {', '.join(missing)}; {await _open_orders_hint(conn)} "
            "(list_orders finds the others)"
        )
    elsewhere = [o for o in orders if facility_id is not None and o.facility_id != facility_id]
    if elsewhere:
        named = ", ".join(f"{o.order_id} ({o.facility_id or 'no facility'})" for o in elsewhere)
        raise ValidationError(f"orders not made at {facility_id}: {named}")
    return sorted(orders, key=lambda o: ids.index(o.order_id))


async def _open_orders_hint(conn: AsyncConn, most: int = 30) -> str:
    cur = await conn.execute(
        "select order_id from orders where status <> all(%(closed)s) order by order_id",
        {"closed": list(CLOSED_STATUSES)},
    )
    found = [r["order_id"] for r in await cur.fetchall()]
    if not found:
        return "the plant has no open orders"
    more = f" and {len(found) - most} more" if len(found) > most else ""
    return f"the open orders are {', '.join(found[:most])}{more}"


async def _from_status_and_schedule(
    conn: AsyncConn, orders: list[_Order], now: datetime
) -> tuple[dict[str, DueDateCheck], list[_Order]]:
    """The orders their status or the applied schedule answers, and those left to plan."""
    planned = [o.order_id for o in orders if o.status in SCHEDULED_STATUSES]
    cur = await conn.execute(_OPEN_OPERATIONS, {"ids": planned})
    open_ops: dict[str, set[tuple[int, int | None]]] = {}
    for op in await cur.fetchall():
        open_ops.setdefault(op["order_id"], set()).add((op["line_no"], op["seq"]))
    cur = await conn.execute(_APPLIED_SLOTS, {"ids": planned})
    applied: dict[tuple[str, str | None], dict[tuple[int, int | None], _End]] = {}
    for s in await cur.fetchall():
        end = _End(s["machine_id"], s["ends_at"], s["schedule_id"])
        applied.setdefault((s["order_id"], s["scope"]), {})[s["line_no"], s["op_seq"]] = end
    checks: dict[str, DueDateCheck] = {}
    to_plan: list[_Order] = []
    for o in orders:
        if o.status not in SCHEDULED_STATUSES:
            note = _STATUS_NOTES.get(o.status) or (
                f"ON_HOLD ({o.hold_reason}): not planned until the hold is released"
            )
            checks[o.order_id] = _unplanned(o, "ORDER_STATUS", note)
        elif o.order_id not in open_ops:
            note = "nothing to make: its open lines are of stocked products, or all shipped"
            checks[o.order_id] = _unplanned(o, "NOTHING_TO_MAKE", note)
        elif ends := _covering(applied, o, open_ops[o.order_id]):
            checks[o.order_id] = _finished(o, ends, "applied", now)
        else:
            to_plan.append(o)
    return checks, to_plan


def _covering(
    applied: dict[tuple[str, str | None], dict[tuple[int, int | None], _End]],
    order: _Order,
    needed: set[tuple[int, int | None]],
) -> list[_End]:
    """The order's operation ends in the applied schedule of its facility, else of the plant,
    when that schedule holds every open operation of it; none otherwise."""
    for scope in dict.fromkeys([order.facility_id, None]):
        slots = applied.get((order.order_id, scope), {})
        if needed <= slots.keys():
            return list(slots.values())
    return []


async def _what_if(
    conn: AsyncConn, facility_id: str | None, group: list[_Order], now: datetime
) -> tuple[WhatIf, dict[str, DueDateCheck]]:
    """Plan the scope's open work as a proposal would be planned: the group's finishes."""
    try:
        result = await plan_request(conn, what_if_request(facility_id))
    except ValidationError as exc:  # input no plan can be made of, named in its message
        why = str(exc)
        what_if = WhatIf(
            facility_id=facility_id, solver_status="INFEASIBLE", order_lines=0,
            weighted_tardiness=None, reason=why,
        )  # fmt: skip
        return what_if, {o.order_id: _unplanned(o, "NO_PLAN", f"no plan: {why}") for o in group}
    s = result.solution
    what_if = WhatIf(
        facility_id=facility_id,
        solver_status=s.status,
        order_lines=len(result.plant.problem.jobs),
        weighted_tardiness=s.weighted_tardiness,
        reason=s.reason,
    )
    ends: dict[str, list[_End]] = {}
    for p in result.slots:
        ends.setdefault(p.order_id, []).append(_End(p.machine_id, p.ends_at))
    checks = {}
    for o in group:
        if o.order_id in ends:
            where = f"a what-if of {facility_id or 'the plant'}'s open work ({s.status})"
            checks[o.order_id] = _finished(o, ends[o.order_id], where, now)
        else:
            why = s.reason or "the plan holds none of its operations"
            checks[o.order_id] = _unplanned(o, "NO_PLAN", f"no plan: {why}")
    return what_if, checks


def what_if_request(facility_id: str | None) -> ScheduleRequest:
    """The proposal a what-if plans: a facility's (or the plant's) open work, reproducibly."""
    return ScheduleRequest(
        facility_id=facility_id,
        time_limit_s=WHAT_IF_SAFETY_S,
        workers=1,
        seed=0,
        deterministic_limit=WHAT_IF_WORK,
    )


def _unplanned(order: _Order, source: Source, note: str) -> DueDateCheck:
    return DueDateCheck(
        **order.model_dump(exclude={"hold_reason", "total"}),
        planned_finish=None,
        makes_due_date=None,
        minutes_late=None,
        source=source,
        schedule_id=None,
        finishes_on=None,
        note=note,
    )


def _finished(order: _Order, ends: list[_End], where: str, now: datetime) -> DueDateCheck:
    """The check of an order whose operations end at `ends`, in the applied schedule or in
    `where` (a what-if)."""
    last = max(ends, key=lambda e: (e.ends_at, e.machine_id))
    late = max(0, math.ceil((last.ends_at - order.due_at).total_seconds() / 60))
    if last.schedule_id is not None:
        where = f"applied schedule {last.schedule_id}"
        if last.ends_at < now:
            where += " (a finish already past: the floor is behind it)"
    verdict = "on time" if late == 0 else f"{late} min late"
    return DueDateCheck(
        **order.model_dump(exclude={"hold_reason", "total"}),
        planned_finish=last.ends_at,
        makes_due_date=late == 0,
        minutes_late=late,
        source="APPLIED_SCHEDULE" if last.schedule_id is not None else "WHAT_IF",
        schedule_id=last.schedule_id,
        finishes_on=last.machine_id,
        note=f"finishes {last.ends_at:%Y-%m-%d %H:%M} UTC on {last.machine_id} in {where}, "
        f"due {order.due_at:%Y-%m-%d %H:%M} UTC: {verdict}",
    )
