"""Moving an order along: hold and release, cancel, production, ready, and completion.

Reserving stock (VALIDATED → RESERVED) lives in `tools.inventory.reservations`; shipping and
delivery (READY → SHIPPED → DELIVERED) in `tools.logistics.tracking`. Each function here is one
transaction that writes the order event, the event and the audit row of every move.
"""

from __future__ import annotations

from pydantic import BaseModel

from tools.core.db import AsyncConn
from tools.core.errors import InvalidTransitionError
from tools.core.limits import require_text
from tools.core.operations import Actor, atomic, idempotent
from tools.inventory.reservations import commit_reservations, release_reservations
from tools.logistics.shipments import cancel_dock_shipments
from tools.logistics.tracking import deliver_order_when_all_arrived
from tools.orders.lifecycle import (
    OPEN_STATUSES,
    Order,
    OrderHeader,
    OrderStatus,
    check_transition,
    load_order,
    lock_order,
    move_order,
)


async def hold_order(
    conn: AsyncConn,
    actor: Actor,
    order_id: str,
    *,
    reason: str,
    idempotency_key: str | None = None,
) -> Order:
    """Put an open order (CREATED to READY) ON_HOLD with a reason; its stock stays held."""
    why = require_text(reason, "a hold reason")

    async def run() -> Order:
        order = await lock_order(conn, order_id)
        if order.status == "ON_HOLD":
            raise InvalidTransitionError(
                f"order {order_id} is ON_HOLD already ({order.hold_reason}); release it first"
            )
        await move_order(conn, actor, order, "ON_HOLD", note=why, hold_reason=why)
        return await load_order(conn, order_id)

    async with atomic(conn):
        return await idempotent(conn, idempotency_key, "orders.hold", Order, run)


async def _held_from(conn: AsyncConn, order_id: str) -> OrderStatus:
    cur = await conn.execute(
        "select from_status from order_events where order_id = %s and to_status = 'ON_HOLD' "
        "order by at desc, order_event_id desc limit 1",
        (order_id,),
    )
    row = await cur.fetchone()
    status = row["from_status"] if row else None
    return status if status in OPEN_STATUSES else "CREATED"


async def release_order(
    conn: AsyncConn,
    actor: Actor,
    order_id: str,
    *,
    note: str = "hold released",
    idempotency_key: str | None = None,
) -> Order:
    """Take an order off hold, back to the status it was held from."""
    text = require_text(note, "a release note")

    async def run() -> Order:
        order = await lock_order(conn, order_id)
        if order.status != "ON_HOLD":
            raise InvalidTransitionError(
                f"order {order_id} is {order.status}, not ON_HOLD; only an order on hold can be "
                "released"
            )
        held_from = await _held_from(conn, order_id)
        await move_order(
            conn, actor, order, held_from, note=text, event_type="order.hold_released", back=True,
            payload={"hold_reason": order.hold_reason},
        )  # fmt: skip
        return await load_order(conn, order_id)

    async with atomic(conn):
        return await idempotent(conn, idempotency_key, "orders.release", Order, run)


async def cancel_order(
    conn: AsyncConn,
    actor: Actor,
    order_id: str,
    *,
    reason: str,
    idempotency_key: str | None = None,
) -> Order:
    """Cancel an order not yet with a carrier: its dock shipments cancelled, its stock released."""
    why = require_text(reason, "a cancellation reason")

    async def run() -> Order:
        order = await lock_order(conn, order_id)
        check_transition(order_id, order.status, "CANCELLED")
        await cancel_dock_shipments(conn, actor, order, reason=why)
        await release_reservations(
            conn, actor, order, reason=f"order cancelled: {why}", statuses=("RESERVED", "COMMITTED")
        )
        await move_order(conn, actor, order, "CANCELLED", note=why, cancel_reason=why)
        return await load_order(conn, order_id)

    async with atomic(conn):
        return await idempotent(conn, idempotency_key, "orders.cancel", Order, run)


async def start_production(
    conn: AsyncConn, actor: Actor, order_id: str, *, idempotency_key: str | None = None
) -> Order:
    """RESERVED → IN_PRODUCTION, committing the order's reserved stock."""

    async def run() -> Order:
        order = await lock_order(conn, order_id)
        check_transition(order_id, order.status, "IN_PRODUCTION")
        await commit_reservations(conn, actor, order)
        await move_order(conn, actor, order, "IN_PRODUCTION", note="released to production")
        return await load_order(conn, order_id)

    async with atomic(conn):
        return await idempotent(conn, idempotency_key, "orders.start_production", Order, run)


async def _step(
    conn: AsyncConn,
    actor: Actor,
    order_id: str,
    *,
    to: OrderStatus,
    note: str,
    operation: str,
    idempotency_key: str | None,
) -> Order:
    """Move an order one step along its lifecycle (no stock changes), as one operation."""

    async def run() -> Order:
        order = await lock_order(conn, order_id)
        await move_order(conn, actor, order, to, note=note)
        return await load_order(conn, order_id)

    async with atomic(conn):
        return await idempotent(conn, idempotency_key, operation, Order, run)


async def mark_ready(
    conn: AsyncConn, actor: Actor, order_id: str, *, idempotency_key: str | None = None
) -> Order:
    """IN_PRODUCTION → READY: made, inspected and packed."""
    return await _step(
        conn, actor, order_id, to="READY", note="final inspection passed, packed",
        operation="orders.mark_ready", idempotency_key=idempotency_key,
    )  # fmt: skip


async def complete_order(
    conn: AsyncConn, actor: Actor, order_id: str, *, idempotency_key: str | None = None
) -> Order:
    """DELIVERED → COMPLETED."""
    return await _step(
        conn, actor, order_id, to="COMPLETED", note="closed after delivery",
        operation="orders.complete", idempotency_key=idempotency_key,
    )  # fmt: skip


class Completion(BaseModel):
    """The order a completion attempt completed, or None when it was not (yet) due."""

    order: Order | None


async def complete_order_if_delivered(
    conn: AsyncConn, actor: Actor, order_id: str, *, idempotency_key: str | None = None
) -> Order | None:
    """Complete the order when all its shipments are in; None (and nothing written) otherwise.

    For the `shipment.delivered` reactor: a SHIPPED order whose shipments have all arrived
    becomes DELIVERED then COMPLETED, a DELIVERED one COMPLETED. Running it again, or on an
    order still under way, writes nothing, so an event handled twice completes once.
    """

    async def run() -> Completion:
        order: OrderHeader | None = await lock_order(conn, order_id)
        if order is not None and order.status == "SHIPPED":
            order = await deliver_order_when_all_arrived(conn, actor, order)
        if order is None or order.status != "DELIVERED":
            return Completion(order=None)
        await move_order(conn, actor, order, "COMPLETED", note="every shipment delivered")
        return Completion(order=await load_order(conn, order_id))

    async with atomic(conn):
        done = await idempotent(
            conn, idempotency_key, "orders.complete_if_delivered", Completion, run
        )
    return done.order
