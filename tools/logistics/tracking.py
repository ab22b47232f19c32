"""The shipment lifecycle: one transition table, and the tracking scans that move a shipment.

    CREATED → LABEL_PRINTED → PICKED_UP → IN_TRANSIT → OUT_FOR_DELIVERY → DELIVERED
                                               ↕ DELAYED (again and again, each with a new ETA)
    EXCEPTION from the road (back to IN_TRANSIT, OUT_FOR_DELIVERY or DELIVERED when resolved);
    CANCELLED only before the carrier has it.

Every scan writes a `shipment_events` row with its location (the last known one when not given)
and its reason (required for DELAYED, EXCEPTION and CANCELLED), an event and an audit row. The
pickup takes the stock off the books (SHIPMENT movements) and counts the units shipped on the
order's lines; the order becomes SHIPPED when every unit has left. Delivery of the order's last
open shipment makes the order DELIVERED; `tools.orders.progress.complete_order_if_delivered`
then completes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import JsonValue

from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.errors import InvalidTransitionError, NotFoundError, ValidationError
from tools.core.lifecycle import Lifecycle
from tools.core.limits import require_text
from tools.core.operations import Actor, atomic, idempotent, record
from tools.inventory.ledger import ShippedLine, take_for_shipment
from tools.logistics.shipments import (
    SHIPMENT_COLUMNS,
    SHIPMENT_STATUSES,
    TRACK_SQL,
    Shipment,
    ShipmentStatus,
    facility_location,
    load_shipment,
)
from tools.orders.lifecycle import OrderHeader, lock_order, move_order

SHIPMENT_LIFECYCLE: Lifecycle[ShipmentStatus] = Lifecycle(
    entity="shipment",
    statuses=SHIPMENT_STATUSES,
    moves={
        "CREATED": frozenset({"LABEL_PRINTED", "CANCELLED"}),
        "LABEL_PRINTED": frozenset({"PICKED_UP", "CANCELLED"}),
        "PICKED_UP": frozenset({"IN_TRANSIT", "DELAYED", "EXCEPTION"}),
        "IN_TRANSIT": frozenset({"DELAYED", "OUT_FOR_DELIVERY", "EXCEPTION"}),
        "DELAYED": frozenset({"IN_TRANSIT", "DELAYED", "EXCEPTION"}),
        "OUT_FOR_DELIVERY": frozenset({"DELIVERED", "DELAYED", "EXCEPTION"}),
        "EXCEPTION": frozenset({"IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED"}),
        "DELIVERED": frozenset(),
        "CANCELLED": frozenset(),
    },
)
NEEDS_REASON: frozenset[ShipmentStatus] = frozenset({"DELAYED", "EXCEPTION", "CANCELLED"})
MAX_LOCATION = 200


def check_shipment_transition(
    shipment_id: str, current: ShipmentStatus, target: ShipmentStatus
) -> None:
    """Raise InvalidTransitionError unless a shipment may go from `current` to `target`."""
    SHIPMENT_LIFECYCLE.check(shipment_id, current, target)


async def advance_shipment(
    conn: AsyncConn,
    actor: Actor,
    shipment_id: str,
    to: str,
    *,
    location: str | None = None,
    reason: str | None = None,
    eta: datetime | None = None,
    note: str = "",
    idempotency_key: str | None = None,
) -> Shipment:
    """Move a shipment to `to` with a tracking event; `eta` replaces the carrier's estimate.

    DELAYED needs a reason and the new ETA; EXCEPTION and CANCELLED need a reason.
    """
    if to not in SHIPMENT_STATUSES:
        raise ValidationError(f"status {to!r} is not one of {', '.join(SHIPMENT_STATUSES)}")
    target: ShipmentStatus = to
    why = require_text(reason, f"a reason for {to}") if reason is not None else None
    if target in NEEDS_REASON and why is None:
        raise ValidationError(f"a shipment becomes {target} only with a reason")
    if target == "DELAYED" and eta is None:
        raise ValidationError("a delay needs the carrier's new ETA (eta)")
    if eta is not None and target in ("LABEL_PRINTED", "DELIVERED", "CANCELLED"):
        raise ValidationError(f"an ETA comes with a carrier's scan on the road, not with {target}")
    if eta is not None and (eta.tzinfo is None or eta <= clock.now()):
        raise ValidationError(f"the new ETA must be a future time with a timezone, got {eta}")
    place = require_text(location, "a location", limit=MAX_LOCATION) if location else None
    if len(note) > 500:
        raise ValidationError(f"a tracking note is at most 500 characters, got {len(note)}")

    async def run() -> Shipment:
        return await _advance(
            conn, actor, shipment_id, target, location=place, reason=why, eta=eta, note=note
        )

    async with atomic(conn):
        return await idempotent(conn, idempotency_key, f"logistics.{to.lower()}", Shipment, run)


async def _advance(
    conn: AsyncConn,
    actor: Actor,
    shipment_id: str,
    to: ShipmentStatus,
    *,
    location: str | None,
    reason: str | None,
    eta: datetime | None,
    note: str,
) -> Shipment:
    cur = await conn.execute(
        "select order_id from shipments where shipment_id = %s", (shipment_id,)
    )
    found = await cur.fetchone()
    if found is None:
        raise NotFoundError(
            f"shipment {shipment_id!r} does not exist; IDs look like SHP-7001",
            entity="shipment",
            id=str(shipment_id),
        )
    order = await lock_order(conn, found["order_id"])  # the order first, as every writer does
    cur = await conn.execute(
        f"select {SHIPMENT_COLUMNS} from shipments where shipment_id = %s for update",
        (shipment_id,),
    )
    ship = await cur.fetchone()
    assert ship is not None
    check_shipment_transition(shipment_id, ship["status"], to)
    now = clock.now()
    shipped_at: datetime | None = None
    delivered_at = now if to == "DELIVERED" else None
    if to == "PICKED_UP":
        await _leave_the_building(conn, actor, order, ship)
        shipped_at = now
        eta = eta or now + (ship["eta"] - ship["created_at"])  # the quoted transit time
    if location is None:
        location = await _last_location(conn, shipment_id, ship["origin_facility_id"], to)
    await conn.execute(
        "update shipments set status = %(to)s, shipped_at = coalesce(%(shipped)s, shipped_at), "
        "eta = coalesce(%(eta)s, eta), delivered_at = %(delivered)s "
        "where shipment_id = %(id)s",
        {"to": to, "shipped": shipped_at, "eta": eta, "delivered": delivered_at,
         "id": shipment_id},
    )  # fmt: skip
    await conn.execute(
        TRACK_SQL,
        {"shipment_id": shipment_id, "status": to, "location": location, "at": now,
         "note": note, "reason": reason},
    )  # fmt: skip
    payload: dict[str, JsonValue] = {
        "shipment_id": shipment_id, "order_id": order.order_id,
        "customer_id": order.customer_id, "carrier_id": ship["carrier_id"],
        "tracking_number": ship["tracking_number"], "from_status": ship["status"],
        "to_status": to, "location": location, "reason": reason,
        "eta": (eta or ship["eta"]).isoformat() if (eta or ship["eta"]) else None,
        "previous_eta": ship["eta"].isoformat() if ship["eta"] else None,
    }  # fmt: skip
    await record(
        conn,
        actor,
        event_type=f"shipment.{to.lower()}",
        entity_type="shipment",
        entity_id=shipment_id,
        action=f"shipment.{to.lower()}",
        before={"status": ship["status"], "eta": payload["previous_eta"]},
        after={"status": to, "eta": payload["eta"]},
        payload=payload,
    )
    if to == "PICKED_UP":
        await _ship_order_when_all_left(conn, actor, order)
    elif to == "DELIVERED":
        await deliver_order_when_all_arrived(conn, actor, order)
    return await load_shipment(conn, shipment_id)


async def _leave_the_building(
    conn: AsyncConn, actor: Actor, order: OrderHeader, ship: dict[str, Any]
) -> None:
    if order.status != "READY":
        hint = "; release the hold first" if order.status == "ON_HOLD" else ""
        raise InvalidTransitionError(
            f"order {order.order_id} is {order.status}; its shipments are picked up only while "
            f"it is READY{hint}"
        )
    cur = await conn.execute(
        "select sl.line_no, l.sku, sl.quantity "
        "from shipment_lines sl join order_lines l "
        "on l.order_id = sl.order_id and l.line_no = sl.line_no "
        "where sl.shipment_id = %(id)s order by sl.line_no",
        {"id": ship["shipment_id"]},
    )
    lines = [ShippedLine(r["line_no"], r["sku"], r["quantity"]) for r in await cur.fetchall()]
    await take_for_shipment(
        conn, actor, order_id=order.order_id, facility_id=ship["origin_facility_id"],
        shipment_id=ship["shipment_id"], lines=lines,
    )  # fmt: skip
    await conn.execute(
        "update order_lines l set quantity_shipped = l.quantity_shipped + s.quantity "
        "from unnest(%(line_nos)s::smallint[], %(quantities)s::int[]) as s(line_no, quantity) "
        "where l.order_id = %(order_id)s and l.line_no = s.line_no",
        {"order_id": order.order_id, "line_nos": [a.line_no for a in lines],
         "quantities": [a.quantity for a in lines]},
    )  # fmt: skip


async def _ship_order_when_all_left(conn: AsyncConn, actor: Actor, order: OrderHeader) -> None:
    cur = await conn.execute(
        "select bool_and(quantity_shipped = quantity) as done from order_lines where order_id = %s",
        (order.order_id,),
    )
    row = await cur.fetchone()
    if row is not None and row["done"]:
        await move_order(conn, actor, order, "SHIPPED", note="every unit picked up by a carrier")


async def deliver_order_when_all_arrived(
    conn: AsyncConn, actor: Actor, order: OrderHeader
) -> OrderHeader | None:
    """Make a locked SHIPPED order DELIVERED once its shipments (not cancelled) all arrived."""
    if order.status != "SHIPPED":
        return None
    cur = await conn.execute(
        "select count(*) filter (where status = 'DELIVERED') as arrived, "
        "count(*) filter (where status not in ('DELIVERED', 'CANCELLED')) as open "
        "from shipments where order_id = %s",
        (order.order_id,),
    )
    row = await cur.fetchone()
    if row is None or row["open"] or not row["arrived"]:
        return None
    return await move_order(conn, actor, order, "DELIVERED", note="every shipment delivered")


async def _last_location(
    conn: AsyncConn, shipment_id: str, origin_facility_id: str, to: ShipmentStatus
) -> str:
    """Where the shipment was last scanned; its origin while it has not left."""
    if to in ("LABEL_PRINTED", "PICKED_UP", "CANCELLED"):
        return await facility_location(conn, origin_facility_id)
    cur = await conn.execute(
        "select location from shipment_events where shipment_id = %s "
        "order by at desc, shipment_event_id desc limit 1",
        (shipment_id,),
    )
    row = await cur.fetchone()
    return str(row["location"]) if row else await facility_location(conn, origin_facility_id)


# ───────────────────────── one call per scan ─────────────────────────


async def print_label(
    conn: AsyncConn, actor: Actor, shipment_id: str, *, idempotency_key: str | None = None
) -> Shipment:
    """CREATED → LABEL_PRINTED."""
    return await advance_shipment(
        conn, actor, shipment_id, "LABEL_PRINTED", idempotency_key=idempotency_key
    )


async def pick_up(
    conn: AsyncConn,
    actor: Actor,
    shipment_id: str,
    *,
    location: str | None = None,
    idempotency_key: str | None = None,
) -> Shipment:
    """LABEL_PRINTED → PICKED_UP: the stock leaves the books; the ETA runs from now."""
    return await advance_shipment(
        conn, actor, shipment_id, "PICKED_UP", location=location, idempotency_key=idempotency_key
    )


async def delay_shipment(
    conn: AsyncConn,
    actor: Actor,
    shipment_id: str,
    *,
    reason: str,
    new_eta: datetime,
    location: str | None = None,
    idempotency_key: str | None = None,
) -> Shipment:
    """→ DELAYED with the reason and the carrier's new ETA."""
    return await advance_shipment(
        conn, actor, shipment_id, "DELAYED", location=location, reason=reason, eta=new_eta,
        idempotency_key=idempotency_key,
    )  # fmt: skip


async def deliver_shipment(
    conn: AsyncConn,
    actor: Actor,
    shipment_id: str,
    *,
    location: str | None = None,
    note: str = "",
    idempotency_key: str | None = None,
) -> Shipment:
    """OUT_FOR_DELIVERY (or EXCEPTION) → DELIVERED; the order's last makes it DELIVERED."""
    return await advance_shipment(
        conn, actor, shipment_id, "DELIVERED", location=location, note=note,
        idempotency_key=idempotency_key,
    )  # fmt: skip


async def cancel_shipment(
    conn: AsyncConn,
    actor: Actor,
    shipment_id: str,
    *,
    reason: str,
    idempotency_key: str | None = None,
) -> Shipment:
    """Cancel a shipment the carrier does not have yet; its stock stays held for the order."""
    return await advance_shipment(
        conn, actor, shipment_id, "CANCELLED", reason=reason, idempotency_key=idempotency_key
    )
