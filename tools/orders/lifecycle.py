"""The order lifecycle: its transition table, and the one function that moves an order.

    CREATED → VALIDATED → RESERVED → IN_PRODUCTION → READY → SHIPPED → DELIVERED → COMPLETED

Any open status before SHIPPED may go ON_HOLD (and back to the status it was held from, by a
release) or be CANCELLED; RESERVED goes back to VALIDATED when its stock is released. COMPLETED
and CANCELLED are final. Every move writes an `order_events` row, an event and an audit row.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, get_args

from pydantic import BaseModel, JsonValue

from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.errors import NotFoundError
from tools.core.lifecycle import Lifecycle
from tools.core.operations import Actor, record

OrderStatus = Literal[
    "CREATED",
    "VALIDATED",
    "RESERVED",
    "IN_PRODUCTION",
    "READY",
    "SHIPPED",
    "DELIVERED",
    "COMPLETED",
    "ON_HOLD",
    "CANCELLED",
]
ORDER_STATUSES: tuple[OrderStatus, ...] = get_args(OrderStatus)

# Statuses an order may be put on hold from (and released back to), and cancelled from.
OPEN_STATUSES: tuple[OrderStatus, ...] = (
    "CREATED",
    "VALIDATED",
    "RESERVED",
    "IN_PRODUCTION",
    "READY",
)

# The lifecycle, in two parts: the moves forward (and onto hold, and cancelling), and the moves
# back to an earlier status, which only their own operations make: releasing an order's stock
# (RESERVED → VALIDATED) and releasing its hold (back to the status it was held from).
ORDER_LIFECYCLE: Lifecycle[OrderStatus] = Lifecycle(
    entity="order",
    statuses=ORDER_STATUSES,
    moves={
        "CREATED": frozenset({"VALIDATED", "ON_HOLD", "CANCELLED"}),
        "VALIDATED": frozenset({"RESERVED", "ON_HOLD", "CANCELLED"}),
        "RESERVED": frozenset({"IN_PRODUCTION", "ON_HOLD", "CANCELLED"}),
        "IN_PRODUCTION": frozenset({"READY", "ON_HOLD", "CANCELLED"}),
        "READY": frozenset({"SHIPPED", "ON_HOLD", "CANCELLED"}),
        "SHIPPED": frozenset({"DELIVERED"}),
        "DELIVERED": frozenset({"COMPLETED"}),
        "COMPLETED": frozenset(),
        "ON_HOLD": frozenset({"CANCELLED"}),
        "CANCELLED": frozenset(),
    },
    returns={"RESERVED": frozenset({"VALIDATED"}), "ON_HOLD": frozenset(OPEN_STATUSES)},
    ways_back={
        "RESERVED": "back to VALIDATED by releasing its stock",
        "ON_HOLD": "back to the status it was held from by releasing the hold",
    },
)
# The event each arrival writes; the others are `order.<status in lower case>`.
_EVENT_TYPES: dict[OrderStatus, str] = {"ON_HOLD": "order.held"}


class OrderLine(BaseModel):
    """One line of an order."""

    line_no: int
    sku: str
    quantity: int
    unit_price: Decimal
    quantity_shipped: int


class OrderEvent(BaseModel):
    """One step of an order's history."""

    order_event_id: int
    from_status: OrderStatus | None
    to_status: OrderStatus
    at: datetime
    actor: str
    note: str


class OrderHeader(BaseModel):
    """An order's own row."""

    order_id: str
    customer_id: str
    status: OrderStatus
    priority: int
    is_rush: bool
    facility_id: str | None
    ship_to_region: str
    due_at: datetime
    created_at: datetime
    updated_at: datetime
    hold_reason: str | None
    cancel_reason: str | None
    notes: str


class Order(OrderHeader):
    """An order with its lines and (when asked for) its history, oldest first."""

    lines: list[OrderLine]
    events: list[OrderEvent] = []


def allowed_next(status: OrderStatus) -> list[OrderStatus]:
    """The statuses `status` may move forward to, in lifecycle order."""
    return ORDER_LIFECYCLE.next(status)


def check_transition(
    order_id: str, current: OrderStatus, target: OrderStatus, *, back: bool = False
) -> None:
    """Raise InvalidTransitionError unless the lifecycle allows `current` → `target`.

    `back` asks for one of the moves back, which only releases make.
    """
    ORDER_LIFECYCLE.check(order_id, current, target, back=back)


_HEADER_COLUMNS = (
    "order_id, customer_id, status, priority, is_rush, facility_id, ship_to_region, due_at, "
    "created_at, updated_at, hold_reason, cancel_reason, notes"
)
_LOCK = f"select {_HEADER_COLUMNS} from orders where order_id = %(order_id)s for update"
_READ = f"select {_HEADER_COLUMNS} from orders where order_id = %(order_id)s"
_LINES = """select line_no, sku, quantity, unit_price, quantity_shipped from order_lines
where order_id = %(order_id)s order by line_no"""
_EVENTS = """select order_event_id, from_status, to_status, at, actor, note from order_events
where order_id = %(order_id)s order by at, order_event_id"""


async def lock_order(conn: AsyncConn, order_id: str) -> OrderHeader:
    """The order's row, locked until the transaction ends; NotFoundError if there is none."""
    cur = await conn.execute(_LOCK, {"order_id": order_id})
    row = await cur.fetchone()
    if row is None:
        raise NotFoundError(
            f"order {order_id!r} does not exist; order IDs look like ORD-10001",
            entity="order",
            id=str(order_id),
        )
    return OrderHeader.model_validate(row)


async def load_order(conn: AsyncConn, order_id: str, *, with_events: bool = True) -> Order:
    """The order with its lines (and history), read in the caller's transaction."""
    cur = await conn.execute(_READ, {"order_id": order_id})
    row = await cur.fetchone()
    if row is None:
        raise NotFoundError(
            f"order {order_id!r} does not exist; order IDs look like ORD-10001",
            entity="order",
            id=str(order_id),
        )
    cur = await conn.execute(_LINES, {"order_id": order_id})
    lines = [OrderLine.model_validate(r) for r in await cur.fetchall()]
    history: list[OrderEvent] = []
    if with_events:
        cur = await conn.execute(_EVENTS, {"order_id": order_id})
        history = [OrderEvent.model_validate(r) for r in await cur.fetchall()]
    return Order.model_validate({**row, "lines": lines, "events": history})


_MOVE = f"""
with moved as (
    update orders set status = %(to)s, updated_at = %(at)s,
        hold_reason = case when %(to)s = 'ON_HOLD' then %(hold_reason)s else null end,
        cancel_reason = case when %(to)s = 'CANCELLED' then %(cancel_reason)s else cancel_reason end
    where order_id = %(order_id)s
    returning {_HEADER_COLUMNS}
), logged as (
    insert into order_events (order_id, from_status, to_status, at, actor, note)
    select order_id, %(from)s, %(to)s, %(at)s, %(actor)s, %(note)s from moved
)
select * from moved
"""


async def move_order(
    conn: AsyncConn,
    actor: Actor,
    order: OrderHeader,
    to: OrderStatus,
    *,
    note: str,
    event_type: str | None = None,
    back: bool = False,
    hold_reason: str | None = None,
    cancel_reason: str | None = None,
    payload: dict[str, JsonValue] | None = None,
) -> OrderHeader:
    """Move a locked order to `to`: the row, its order event, the event and the audit row.

    The event is `order.<to in lower case>` (`order.held` for ON_HOLD) unless `event_type`
    names another: a return to an earlier status (a release from hold, a released reservation)
    must not look like a first arrival to the reactors.
    """
    check_transition(order.order_id, order.status, to, back=back)
    params: dict[str, Any] = {
        "order_id": order.order_id,
        "from": order.status,
        "to": to,
        "at": clock.now(),
        "actor": actor.label(),
        "note": note,
        "hold_reason": hold_reason,
        "cancel_reason": cancel_reason,
    }
    cur = await conn.execute(_MOVE, params)
    row = await cur.fetchone()
    assert row is not None, "the order was locked by the caller"
    moved = OrderHeader.model_validate(row)
    kind = event_type or _EVENT_TYPES.get(to, f"order.{to.lower()}")
    reasons: dict[str, JsonValue] = {}
    if hold_reason is not None:
        reasons["hold_reason"] = hold_reason
    if cancel_reason is not None:
        reasons["cancel_reason"] = cancel_reason
    await record(
        conn,
        actor,
        event_type=kind,
        entity_type="order",
        entity_id=order.order_id,
        action=kind,
        before={"status": order.status},
        after={"status": to, **reasons},
        payload={
            "order_id": order.order_id,
            "customer_id": order.customer_id,
            "from_status": order.status,
            "to_status": to,
            "note": note,
            **reasons,
            **(payload or {}),
        },
    )
    return moved
