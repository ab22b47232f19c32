"""Purchase orders: raised with a supplier that sells the SKU, tracked, received into stock.

    PENDING → IN_TRANSIT → RECEIVED, with DELAYED (a reason and a new expected date; again as
    often as the supplier slips) from PENDING, IN_TRANSIT or DELAYED, and CANCELLED before the
    goods are on their way (PENDING or DELAYED). RECEIVED and CANCELLED are final.

Receiving books a RECEIPT movement into the level of the SKU at the PO's facility, which may
clear its low-stock flag (`stock.restored`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal, get_args

from pydantic import BaseModel

from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.errors import NotFoundError, ValidationError
from tools.core.lifecycle import Lifecycle
from tools.core.limits import check_page, check_quantity, require_text
from tools.core.operations import Actor, atomic, idempotent, record
from tools.inventory.ledger import LevelChange, apply_changes, lock_levels

PoStatus = Literal["PENDING", "IN_TRANSIT", "DELAYED", "RECEIVED", "CANCELLED"]
PO_STATUSES: tuple[PoStatus, ...] = get_args(PoStatus)
PO_LIFECYCLE: Lifecycle[PoStatus] = Lifecycle(
    entity="purchase order",
    statuses=PO_STATUSES,
    moves={
        "PENDING": frozenset({"IN_TRANSIT", "DELAYED", "RECEIVED", "CANCELLED"}),
        "IN_TRANSIT": frozenset({"DELAYED", "RECEIVED"}),
        "DELAYED": frozenset({"IN_TRANSIT", "DELAYED", "RECEIVED", "CANCELLED"}),
        "RECEIVED": frozenset(),
        "CANCELLED": frozenset(),
    },
)


class PurchaseOrder(BaseModel):
    """A purchase order and its supplier's terms."""

    po_id: str
    supplier_id: str
    sku: str
    facility_id: str
    quantity: int
    unit_price: Decimal
    status: PoStatus
    ordered_at: datetime
    expected_at: datetime
    received_at: datetime | None
    delay_reason: str | None


_COLUMNS = (
    "po_id, supplier_id, sku, facility_id, quantity, unit_price, status, ordered_at, "
    "expected_at, received_at, delay_reason"
)


async def get_purchase_order(conn: AsyncConn, po_id: str) -> PurchaseOrder:
    """One purchase order."""
    async with conn.transaction():
        cur = await conn.execute(
            f"select {_COLUMNS} from purchase_orders where po_id = %s", (po_id,)
        )
        row = await cur.fetchone()
    if row is None:
        raise NotFoundError(
            f"purchase order {po_id!r} does not exist; IDs look like PO-5001",
            entity="purchase_order",
            id=str(po_id),
        )
    return PurchaseOrder.model_validate(row)


async def list_purchase_orders(
    conn: AsyncConn,
    *,
    status: str | None = None,
    supplier_id: str | None = None,
    sku: str | None = None,
    facility_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[PurchaseOrder]:
    """Purchase orders matching every filter given, soonest expected first."""
    check_page(limit, offset)
    if status is not None and status not in PO_STATUSES:
        raise ValidationError(f"status {status!r} is not one of {', '.join(PO_STATUSES)}")
    async with conn.transaction():
        cur = await conn.execute(
            f"select {_COLUMNS} from purchase_orders "
            "where (%(status)s::text is null or status = %(status)s) "
            "and (%(supplier)s::text is null or supplier_id = %(supplier)s) "
            "and (%(sku)s::text is null or sku = %(sku)s) "
            "and (%(facility)s::text is null or facility_id = %(facility)s) "
            "order by expected_at, po_id limit %(limit)s offset %(offset)s",
            {"status": status, "supplier": supplier_id, "sku": sku, "facility": facility_id,
             "limit": limit, "offset": offset},
        )  # fmt: skip
        return [PurchaseOrder.model_validate(r) for r in await cur.fetchall()]


_TERMS = """
select s.status as supplier_status, i.unit_price, i.lead_time_days, i.min_order_qty
from suppliers s left join supplier_items i on i.supplier_id = s.supplier_id and i.sku = %(sku)s
where s.supplier_id = %(supplier)s
"""
_INSERT = f"""
insert into purchase_orders (supplier_id, sku, facility_id, quantity, unit_price, status,
    ordered_at, expected_at)
values (%(supplier)s, %(sku)s, %(facility)s, %(quantity)s, %(price)s, 'PENDING', %(at)s,
    %(expected)s)
returning {_COLUMNS}
"""


async def create_purchase_order(
    conn: AsyncConn,
    actor: Actor,
    *,
    supplier_id: str,
    sku: str,
    facility_id: str,
    quantity: int,
    unit_price: Decimal | None = None,
    expected_at: datetime | None = None,
    idempotency_key: str | None = None,
) -> PurchaseOrder:
    """A PENDING purchase order at the supplier's price, expected after its lead time.

    The supplier must be ACTIVE and sell the SKU, the quantity at least its minimum order
    quantity, and the facility must stock the SKU.
    """
    check_quantity(quantity, "a purchase order quantity")
    if unit_price is not None and unit_price <= 0:
        raise ValidationError(f"a purchase price must be above 0, got {unit_price}")

    async def run() -> PurchaseOrder:
        now = clock.now()
        cur = await conn.execute(_TERMS, {"sku": sku, "supplier": supplier_id})
        terms = await cur.fetchone()
        if terms is None:
            raise NotFoundError(
                f"supplier {supplier_id!r} does not exist; IDs look like RHEINTECH",
                entity="supplier",
                id=str(supplier_id),
            )
        if terms["unit_price"] is None:
            raise ValidationError(await _not_sold(conn, supplier_id, sku))
        if terms["supplier_status"] != "ACTIVE":
            raise ValidationError(
                f"supplier {supplier_id} is {terms['supplier_status']}; order from an ACTIVE one"
            )
        if quantity < terms["min_order_qty"]:
            raise ValidationError(
                f"{supplier_id} sells {sku} in orders of at least {terms['min_order_qty']}; "
                f"{quantity} is too few"
            )
        if not await lock_levels(conn, keys=[(sku, facility_id)]):
            raise ValidationError(
                f"{facility_id} does not stock {sku}; choose a facility that does"
            )
        expected = expected_at or now + timedelta(days=terms["lead_time_days"])
        if expected.tzinfo is None or expected <= now:
            raise ValidationError(f"the expected date must be in the future, got {expected}")
        cur = await conn.execute(
            _INSERT,
            {"supplier": supplier_id, "sku": sku, "facility": facility_id, "quantity": quantity,
             "price": unit_price or terms["unit_price"], "at": now, "expected": expected},
        )  # fmt: skip
        row = await cur.fetchone()
        assert row is not None
        po = PurchaseOrder.model_validate(row)
        await record(
            conn,
            actor,
            event_type="purchase_order.created",
            entity_type="purchase_order",
            entity_id=po.po_id,
            action="purchase_order.create",
            after={"status": "PENDING", "quantity": quantity},
            payload={"po_id": po.po_id, "supplier_id": supplier_id, "sku": sku,
                     "facility_id": facility_id, "quantity": quantity,
                     "unit_price": str(po.unit_price), "value": str(po.unit_price * quantity),
                     "expected_at": po.expected_at.isoformat()},
        )  # fmt: skip
        return po

    async with atomic(conn):
        return await idempotent(conn, idempotency_key, "purchasing.create", PurchaseOrder, run)


async def _not_sold(conn: AsyncConn, supplier_id: str, sku: str) -> str:
    cur = await conn.execute(
        "select supplier_id from supplier_items where sku = %s order by supplier_id", (sku,)
    )
    sellers = [r["supplier_id"] for r in await cur.fetchall()]
    return f"{supplier_id} does not sell {sku}; " + (
        f"it is sold by {', '.join(sellers)}" if sellers else "no supplier sells it"
    )


async def _move(
    conn: AsyncConn,
    actor: Actor,
    po_id: str,
    to: PoStatus,
    *,
    reason: str | None = None,
    expected_at: datetime | None = None,
) -> PurchaseOrder:
    cur = await conn.execute(
        f"select {_COLUMNS} from purchase_orders where po_id = %s for update", (po_id,)
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFoundError(
            f"purchase order {po_id!r} does not exist; IDs look like PO-5001",
            entity="purchase_order",
            id=str(po_id),
        )
    po = PurchaseOrder.model_validate(row)
    PO_LIFECYCLE.check(po_id, po.status, to)
    now = clock.now()
    if to == "RECEIVED":
        await lock_levels(conn, keys=[(po.sku, po.facility_id)])
        await apply_changes(conn, actor, [LevelChange(
            po.sku, po.facility_id, on_hand=po.quantity, kind="RECEIPT",
            reference_type="purchase_order", reference_id=po_id,
        )])  # fmt: skip
    cur = await conn.execute(
        f"update purchase_orders set status = %(to)s, "
        "expected_at = coalesce(%(expected)s, expected_at), "
        "delay_reason = case when %(to)s = 'DELAYED' then %(reason)s else delay_reason end, "
        "received_at = %(received)s "
        f"where po_id = %(po_id)s returning {_COLUMNS}",
        {"to": to, "expected": expected_at, "reason": reason,
         "received": now if to == "RECEIVED" else None, "po_id": po_id},
    )  # fmt: skip
    after = await cur.fetchone()
    assert after is not None
    moved = PurchaseOrder.model_validate(after)
    await record(
        conn,
        actor,
        event_type=f"purchase_order.{to.lower()}",
        entity_type="purchase_order",
        entity_id=po_id,
        action=f"purchase_order.{to.lower()}",
        before={"status": po.status, "expected_at": po.expected_at.isoformat()},
        after={"status": to, "expected_at": moved.expected_at.isoformat(),
               **({"reason": reason} if reason else {})},
        payload={"po_id": po_id, "supplier_id": po.supplier_id, "sku": po.sku,
                 "facility_id": po.facility_id, "quantity": po.quantity, "from_status": po.status,
                 "to_status": to, "reason": reason,
                 "expected_at": moved.expected_at.isoformat(),
                 "previous_expected_at": po.expected_at.isoformat()},
    )  # fmt: skip
    return moved


async def _transition(
    conn: AsyncConn,
    actor: Actor,
    po_id: str,
    to: PoStatus,
    *,
    key: str | None,
    reason: str | None = None,
    expected_at: datetime | None = None,
) -> PurchaseOrder:
    async def run() -> PurchaseOrder:
        return await _move(conn, actor, po_id, to, reason=reason, expected_at=expected_at)

    async with atomic(conn):
        return await idempotent(conn, key, f"purchasing.{to.lower()}", PurchaseOrder, run)


async def mark_po_in_transit(
    conn: AsyncConn, actor: Actor, po_id: str, *, idempotency_key: str | None = None
) -> PurchaseOrder:
    """PENDING or DELAYED → IN_TRANSIT: the supplier has shipped."""
    return await _transition(conn, actor, po_id, "IN_TRANSIT", key=idempotency_key)


async def delay_purchase_order(
    conn: AsyncConn,
    actor: Actor,
    po_id: str,
    *,
    reason: str,
    expected_at: datetime,
    idempotency_key: str | None = None,
) -> PurchaseOrder:
    """→ DELAYED with the supplier's reason and new expected date."""
    why = require_text(reason, "a delay reason")
    if expected_at.tzinfo is None or expected_at <= clock.now():
        raise ValidationError(
            f"the new expected date must be a future time with a timezone, got {expected_at}"
        )
    return await _transition(
        conn, actor, po_id, "DELAYED", key=idempotency_key, reason=why, expected_at=expected_at
    )


async def receive_purchase_order(
    conn: AsyncConn, actor: Actor, po_id: str, *, idempotency_key: str | None = None
) -> PurchaseOrder:
    """→ RECEIVED: the quantity is booked into stock with a RECEIPT movement."""
    return await _transition(conn, actor, po_id, "RECEIVED", key=idempotency_key)


async def cancel_purchase_order(
    conn: AsyncConn,
    actor: Actor,
    po_id: str,
    *,
    reason: str,
    idempotency_key: str | None = None,
) -> PurchaseOrder:
    """PENDING or DELAYED → CANCELLED, with a reason."""
    why = require_text(reason, "a cancellation reason")
    return await _transition(conn, actor, po_id, "CANCELLED", key=idempotency_key, reason=why)
