"""The low-stock reactor's purchasing answer: suggest or raise a purchase order for the gap."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from pydantic import JsonValue

from tools.communications import notifications as communications
from tools.core import clock, events
from tools.core.db import AsyncConn
from tools.core.operations import Actor, record
from tools.purchasing.purchase_orders import create_purchase_order


def _int(value: object) -> int:
    return int(value) if isinstance(value, int | float | str) and str(value).strip() else 0


async def answer_low_stock(
    conn: AsyncConn, actor: Actor, event: events.Event, *, auto_purchase: bool
) -> str:
    """Suggest (or, with `auto_purchase`, raise) a purchase order for a `stock.low` event;
    says what it did."""
    p = event.payload
    sku, facility = str(p.get("sku", "")), str(p.get("facility_id", ""))
    available, on_order = _int(p.get("available")), _int(p.get("on_order"))
    reorder_point, reorder_quantity = _int(p.get("reorder_point")), _int(p.get("reorder_quantity"))
    if available + on_order > reorder_point:
        return f"open purchase orders ({on_order}) already cover the gap"
    cur = await conn.execute(
        "select i.supplier_id, s.name, i.unit_price, i.lead_time_days, i.min_order_qty "
        "from supplier_items i join suppliers s using (supplier_id) "
        "where i.sku = %s and s.status = 'ACTIVE' "
        "order by i.is_preferred desc, i.unit_price, i.lead_time_days limit 1",
        (sku,),
    )
    offer = await cur.fetchone()
    if offer is None:
        return f"no active supplier sells {sku}; move stock from another facility"
    quantity = max(reorder_quantity, offer["min_order_qty"], reorder_point - available - on_order)
    if auto_purchase:
        po = await create_purchase_order(
            conn, actor, supplier_id=offer["supplier_id"], sku=sku, facility_id=facility,
            quantity=quantity, idempotency_key=f"reactor:stock.low:{event.event_id}",
        )  # fmt: skip
        return f"raised {po.po_id}: {quantity} x {sku} from {offer['supplier_id']}"
    expected = clock.now() + timedelta(days=offer["lead_time_days"])
    unit_price: Decimal = offer["unit_price"]
    suggestion: dict[str, JsonValue] = {
        "sku": sku, "facility_id": facility, "available": available, "on_order": on_order,
        "reorder_point": reorder_point, "supplier_id": offer["supplier_id"],
        "supplier_name": offer["name"], "quantity": quantity, "unit_price": str(unit_price),
        "lead_time_days": offer["lead_time_days"], "expected_at": expected.isoformat(),
        "source_event_id": event.event_id,
    }  # fmt: skip
    suggested = await record_suggestion(
        conn, actor, entity_id=event.entity_id or f"{sku}@{facility}", payload=suggestion
    )
    await communications.notify_for_event(conn, actor, suggested)
    return f"suggested {quantity} x {sku} from {offer['supplier_id']}"


async def record_suggestion(
    conn: AsyncConn, actor: Actor, *, entity_id: str, payload: dict[str, JsonValue]
) -> events.Event:
    """Record a purchase-order suggestion as an event (it has no row of its own)."""
    return await record(
        conn, actor, event_type="purchase_order.suggested", entity_type="stock_level",
        entity_id=entity_id, action="suggest_purchase_order", payload=payload,
    )  # fmt: skip
