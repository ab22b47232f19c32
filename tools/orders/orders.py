"""Orders: create (checked against the customer's contract), read, search and validate.

Moving an order further along (hold, release, cancel, production, completion) lives in
`tools.orders.progress`; the transition table in `tools.orders.lifecycle`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.errors import NotFoundError, ValidationError
from tools.core.limits import MAX_NOTE, check_page, check_quantity
from tools.core.operations import Actor, atomic, idempotent, record
from tools.orders.contracts import ContractReview, OrderDraft, customer, products, review
from tools.orders.lifecycle import (
    ORDER_STATUSES,
    Order,
    OrderHeader,
    check_transition,
    load_order,
    lock_order,
    move_order,
)

MAX_LINES = 50
MAX_LEAD_TIME = timedelta(days=2 * 365)  # an order due later than this is a typo, not a plan


class OrderSummary(OrderHeader):
    """An order in a list: its row and what its lines add up to."""

    skus: list[str]
    total_quantity: int
    total_value: Decimal


# ───────────────────────── create ─────────────────────────


def _check_draft(draft: OrderDraft, now: datetime) -> None:
    if not 1 <= len(draft.lines) <= MAX_LINES:
        raise ValidationError(f"an order has 1 to {MAX_LINES} lines, got {len(draft.lines)}")
    seen: set[str] = set()
    for n, line in enumerate(draft.lines, start=1):
        check_quantity(line.quantity, f"line {n} ({line.sku}) quantity")
        if line.unit_price is not None and line.unit_price < 0:
            raise ValidationError(f"line {n} ({line.sku}) unit price may not be negative")
        if line.sku in seen:
            raise ValidationError(f"{line.sku} appears on two lines; put it on one line")
        seen.add(line.sku)
    if draft.due_at.tzinfo is None:
        raise ValidationError("due_at needs a timezone, such as 2026-03-20T17:00:00+00:00")
    if draft.due_at <= now:
        raise ValidationError(
            f"due_at {draft.due_at.isoformat()} is not in the future (now is {now.isoformat()})"
        )
    if draft.due_at > now + MAX_LEAD_TIME:
        raise ValidationError(
            f"due_at {draft.due_at:%Y-%m-%d} is more than {MAX_LEAD_TIME.days // 365} years "
            f"ahead; an order is due by {(now + MAX_LEAD_TIME):%Y-%m-%d} at the latest"
        )
    if draft.priority is not None and not 1 <= draft.priority <= 5:
        raise ValidationError(f"priority runs from 1 (first) to 5, got {draft.priority}")
    if len(draft.notes) > MAX_NOTE:
        raise ValidationError(f"notes are {len(draft.notes)} characters; at most {MAX_NOTE}")
    if draft.ship_to_region is not None and not 1 <= len(draft.ship_to_region) <= 40:
        raise ValidationError("ship_to_region is 1 to 40 characters, such as NA-WEST")


_INSERT_ORDER = """
insert into orders (customer_id, status, priority, is_rush, facility_id, ship_to_region, due_at,
    created_at, updated_at, notes)
values (%(customer_id)s, 'CREATED', %(priority)s, %(is_rush)s, %(facility_id)s, %(region)s,
    %(due_at)s, %(at)s, %(at)s, %(notes)s)
returning order_id
"""
_INSERT_LINES = """
insert into order_lines (order_id, line_no, sku, quantity, unit_price)
select %(order_id)s, n, sku, quantity, unit_price
from unnest(%(skus)s::text[], %(quantities)s::int[], %(prices)s::numeric[])
    with ordinality as l(sku, quantity, unit_price, n)
"""
_FIRST_EVENT = """
insert into order_events (order_id, from_status, to_status, at, actor, note)
values (%(order_id)s, null, 'CREATED', %(at)s, %(actor)s, %(note)s)
"""
# The facility that stocks most of the order's SKUs, then the most free stock of them.
_HOME_FACILITY = """
select facility_id from stock_levels where sku = any(%(skus)s)
group by facility_id order by count(*) desc, sum(on_hand - reserved) desc, facility_id limit 1
"""


async def create_order(
    conn: AsyncConn, actor: Actor, draft: OrderDraft, *, idempotency_key: str | None = None
) -> Order:
    """A new CREATED order, refused (ValidationError) when its customer's contract forbids it."""
    _check_draft(draft, clock.now())

    async def run() -> Order:
        now = clock.now()
        buyer = await customer(conn, draft.customer_id)
        goods = await products(conn, [line.sku for line in draft.lines], today=now.date())
        region = draft.ship_to_region or buyer.region
        await _check_region(conn, region)
        verdict = review(
            buyer, list(goods.values()), is_rush=draft.is_rush, ship_to_region=region,
            today=now.date(),
        )  # fmt: skip
        if not verdict.ok:
            raise ValidationError(
                f"the order breaks {buyer.customer_id}'s contract: {'; '.join(verdict.problems)}"
            )
        facility_id = draft.facility_id or await _home_facility(conn, list(goods))
        if draft.facility_id is not None:
            await _check_facility(conn, draft.facility_id)
        priority = draft.priority or (1 if draft.is_rush else buyer.priority)
        cur = await conn.execute(
            _INSERT_ORDER,
            {"customer_id": buyer.customer_id, "priority": priority, "is_rush": draft.is_rush,
             "facility_id": facility_id, "region": region, "due_at": draft.due_at, "at": now,
             "notes": draft.notes},
        )  # fmt: skip
        row = await cur.fetchone()
        assert row is not None
        order_id: str = row["order_id"]
        prices = [
            line.unit_price if line.unit_price is not None else goods[line.sku].unit_price
            for line in draft.lines
        ]
        await conn.execute(
            _INSERT_LINES,
            {"order_id": order_id, "skus": [line.sku for line in draft.lines],
             "quantities": [line.quantity for line in draft.lines], "prices": prices},
        )  # fmt: skip
        await conn.execute(
            _FIRST_EVENT,
            {"order_id": order_id, "at": now, "actor": actor.label(), "note": "order created"},
        )
        value = sum((p * line.quantity for p, line in zip(prices, draft.lines, strict=True)),
                    Decimal(0))  # fmt: skip
        await record(
            conn,
            actor,
            event_type="order.created",
            entity_type="order",
            entity_id=order_id,
            action="order.create",
            after={"status": "CREATED", "customer_id": buyer.customer_id},
            payload={
                "order_id": order_id,
                "customer_id": buyer.customer_id,
                "is_rush": draft.is_rush,
                "due_at": draft.due_at.isoformat(),
                "lines": [{"sku": line.sku, "quantity": line.quantity} for line in draft.lines],
                "value": str(value),
            },
        )
        return await load_order(conn, order_id)

    async with atomic(conn):
        return await idempotent(conn, idempotency_key, "orders.create", Order, run)


async def _home_facility(conn: AsyncConn, skus: list[str]) -> str | None:
    cur = await conn.execute(_HOME_FACILITY, {"skus": skus})
    row = await cur.fetchone()
    return None if row is None else str(row["facility_id"])


async def _check_facility(conn: AsyncConn, facility_id: str) -> None:
    cur = await conn.execute("select facility_id from facilities order by facility_id")
    known = [r["facility_id"] for r in await cur.fetchall()]
    if facility_id not in known:
        raise NotFoundError(
            f"facility {facility_id!r} does not exist; use one of {known}",
            entity="facility",
            id=str(facility_id),
        )


async def _check_region(conn: AsyncConn, region: str) -> None:
    """A destination some carrier serves (any region while no rates are loaded)."""
    cur = await conn.execute(
        "select distinct destination_region as region from shipping_rates order by 1"
    )
    served = [r["region"] for r in await cur.fetchall()]
    if served and region not in served:
        raise ValidationError(
            f"no carrier ships to region {region!r}; regions served: {', '.join(served)}"
        )


# ───────────────────────── read ─────────────────────────


async def get_order(conn: AsyncConn, order_id: str) -> Order:
    """The order with its lines and its history."""
    async with conn.transaction():
        return await load_order(conn, order_id)


_LIST = """
select o.order_id, o.customer_id, o.status, o.priority, o.is_rush, o.facility_id,
    o.ship_to_region, o.due_at, o.created_at, o.updated_at, o.hold_reason, o.cancel_reason,
    o.notes, array_agg(l.sku order by l.line_no) as skus,
    sum(l.quantity)::int as total_quantity, sum(l.quantity * l.unit_price) as total_value
from orders o join order_lines l on l.order_id = o.order_id
where (%(customer)s::text is null or o.customer_id = %(customer)s)
  and (%(status)s::text is null or o.status = %(status)s)
  and (%(before)s::timestamptz is null or o.due_at < %(before)s)
  and (%(after)s::timestamptz is null or o.due_at >= %(after)s)
  and (%(sku)s::text is null or exists (
        select 1 from order_lines s where s.order_id = o.order_id and s.sku = %(sku)s))
group by o.order_id
order by o.due_at, o.order_id
limit %(limit)s offset %(offset)s
"""


async def list_orders(
    conn: AsyncConn,
    *,
    customer_id: str | None = None,
    status: str | None = None,
    sku: str | None = None,
    due_before: datetime | None = None,
    due_after: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[OrderSummary]:
    """Orders matching every filter given, soonest due first (`limit` 1 to 500)."""
    check_page(limit, offset)
    if status is not None and status not in ORDER_STATUSES:
        raise ValidationError(f"status {status!r} is not one of {', '.join(ORDER_STATUSES)}")
    params: dict[str, Any] = {
        "customer": customer_id, "status": status, "sku": sku, "before": due_before,
        "after": due_after, "limit": limit, "offset": offset,
    }  # fmt: skip
    async with conn.transaction():
        cur = await conn.execute(_LIST, params)
        return [OrderSummary.model_validate(r) for r in await cur.fetchall()]


async def review_order(conn: AsyncConn, order_id: str, *, on: date | None = None) -> ContractReview:
    """The contract check of an existing order as of `on` (today), without changing it."""
    async with conn.transaction():
        order = await load_order(conn, order_id, with_events=False)
        return await _review(conn, order, on or clock.now().date())


async def _review(conn: AsyncConn, order: Order, today: date) -> ContractReview:
    buyer = await customer(conn, order.customer_id)
    goods = await products(conn, [line.sku for line in order.lines], today=today)
    return review(
        buyer, list(goods.values()), is_rush=order.is_rush, ship_to_region=order.ship_to_region,
        today=today,
    )  # fmt: skip


# ───────────────────────── validate ─────────────────────────


async def validate_order(
    conn: AsyncConn, actor: Actor, order_id: str, *, idempotency_key: str | None = None
) -> Order:
    """CREATED → VALIDATED after checking the contract again as of today.

    A broken term raises ValidationError naming every problem, and the order stays CREATED
    (hold or cancel it).
    """

    async def run() -> Order:
        header = await lock_order(conn, order_id)
        check_transition(order_id, header.status, "VALIDATED")
        order = await load_order(conn, order_id, with_events=False)
        buyer = await customer(conn, order.customer_id)
        verdict = await _review(conn, order, clock.now().date())
        if not verdict.ok:
            raise ValidationError(
                f"order {order_id} cannot be validated: {'; '.join(verdict.problems)}; "
                "hold or cancel it"
            )
        await move_order(
            conn, actor, header, "VALIDATED",
            note=f"contract checked: {', '.join(verdict.checked)}",
            payload={"compliance": list(buyer.compliance),
                     "payment_terms_days": buyer.payment_terms_days,
                     "is_rush": header.is_rush},
        )  # fmt: skip
        return await load_order(conn, order_id)

    async with atomic(conn):
        return await idempotent(conn, idempotency_key, "orders.validate", Order, run)
