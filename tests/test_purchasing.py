"""Purchase orders: raised on a supplier's terms, tracked, received into stock, cancelled."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from tools.core import db
from tools.core.clock import FixedClock
from tools.core.errors import InvalidTransitionError, NotFoundError, ValidationError
from tools.core.operations import Actor
from tools.inventory.stock import ledger_mismatches, movements, stock_level
from tools.purchasing.purchase_orders import (
    cancel_purchase_order,
    create_purchase_order,
    delay_purchase_order,
    get_purchase_order,
    list_purchase_orders,
    mark_po_in_transit,
    receive_purchase_order,
)

BUYER = Actor(type="agent", id="inventory")
pytestmark = pytest.mark.anyio


async def rows(conn: db.AsyncConn, query: str, *params: object) -> list[dict[str, Any]]:
    cur = await conn.execute(query, params)  # type: ignore[arg-type]
    return await cur.fetchall()


async def event_types(conn: db.AsyncConn, entity_id: str) -> list[str]:
    found = await rows(
        conn, "select type from event_log where entity_id = %s order by event_id", entity_id
    )
    return [r["type"] for r in found]


async def test_a_purchase_order_takes_the_suppliers_price_and_lead_time(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    po = await create_purchase_order(
        plant, BUYER, supplier_id="RHEINTECH", sku="SKU-BRG-7014", facility_id="PHX", quantity=4
    )

    assert (po.po_id, po.status, po.unit_price) == ("PO-5007", "PENDING", Decimal("705.00"))
    assert po.expected_at == fixed_clock.now() + timedelta(days=10)
    assert await event_types(plant, po.po_id) == ["purchase_order.created"]
    payload = (await rows(plant, "select payload from event_log where entity_id = 'PO-5007'"))[0]
    assert payload["payload"]["value"] == "2820.00"


@pytest.mark.parametrize(
    ("supplier", "sku", "facility", "quantity", "error", "message"),
    [
        ("TITANMET", "SKU-BRG-7014", "PHX", 4, ValidationError,
         "TITANMET does not sell SKU-BRG-7014; it is sold by NIPPONBEARING, RHEINTECH"),
        ("NIPPONBEARING", "SKU-BRG-6205", "PHX", 20, ValidationError,
         "NIPPONBEARING sells SKU-BRG-6205 in orders of at least 50; 20 is too few"),
        ("ACME", "SKU-BRG-6205", "PHX", 50, NotFoundError, "supplier 'ACME' does not exist"),
        ("TITANMET", "SKU-RM-IN718", "MUC", 10, ValidationError, "MUC does not stock SKU-RM-IN718"),
        ("RHEINTECH", "SKU-BRG-7014", "PHX", 0, ValidationError, "at least 1, got 0"),
    ],
)  # fmt: skip
async def test_a_purchase_order_the_supplier_cannot_fill_is_refused(
    plant: db.AsyncConn,
    supplier: str,
    sku: str,
    facility: str,
    quantity: int,
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        await create_purchase_order(
            plant, BUYER, supplier_id=supplier, sku=sku, facility_id=facility, quantity=quantity
        )
    assert len(await list_purchase_orders(plant)) == 6


async def test_a_supplier_on_hold_takes_no_orders(plant: db.AsyncConn) -> None:
    await plant.execute("update suppliers set status = 'ON_HOLD' where supplier_id = 'RHEINTECH'")

    with pytest.raises(ValidationError, match="supplier RHEINTECH is ON_HOLD"):
        await create_purchase_order(
            plant, BUYER, supplier_id="RHEINTECH", sku="SKU-BRG-7014", facility_id="PHX",
            quantity=2,
        )  # fmt: skip


async def test_a_received_purchase_order_replenishes_stock_with_a_receipt(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    po = await create_purchase_order(
        plant, BUYER, supplier_id="RHEINTECH", sku="SKU-BRG-7014", facility_id="PHX", quantity=6
    )
    await mark_po_in_transit(plant, BUYER, po.po_id)
    new_date = fixed_clock.now() + timedelta(days=14)
    delayed = await delay_purchase_order(
        plant, BUYER, po.po_id, reason="customs inspection", expected_at=new_date
    )
    received = await receive_purchase_order(plant, BUYER, po.po_id)

    assert (delayed.status, delayed.delay_reason, delayed.expected_at) == (
        "DELAYED", "customs inspection", new_date,
    )  # fmt: skip
    assert (received.status, received.received_at) == ("RECEIVED", fixed_clock.now())
    assert (await stock_level(plant, "SKU-BRG-7014", "PHX")).on_hand == 2 + 6
    receipt = (await movements(plant, "SKU-BRG-7014", "PHX", limit=1))[0]
    assert (receipt.kind, receipt.quantity, receipt.reference_id) == ("RECEIPT", 6, po.po_id)
    assert await ledger_mismatches(plant) == []
    assert await event_types(plant, po.po_id) == [
        "purchase_order.created", "purchase_order.in_transit", "purchase_order.delayed",
        "purchase_order.received",
    ]  # fmt: skip


async def test_receiving_a_low_level_above_its_reorder_point_restores_it(
    plant: db.AsyncConn,
) -> None:
    from tools.inventory.stock import check_reorder

    await check_reorder(plant, BUYER, sku="SKU-BRG-7014", facility_id="PHX")
    po = await create_purchase_order(
        plant, BUYER, supplier_id="RHEINTECH", sku="SKU-BRG-7014", facility_id="PHX", quantity=10
    )
    await receive_purchase_order(plant, BUYER, po.po_id)

    assert (await stock_level(plant, "SKU-BRG-7014", "PHX")).low_since is None
    restored = await rows(plant, "select entity_id from event_log where type = 'stock.restored'")
    assert restored == [{"entity_id": "SKU-BRG-7014@PHX"}]


async def test_a_purchase_order_is_received_once(plant: db.AsyncConn) -> None:
    await receive_purchase_order(plant, BUYER, "PO-5003", idempotency_key="dock-1")
    again = await receive_purchase_order(plant, BUYER, "PO-5003", idempotency_key="dock-1")

    assert again.status == "RECEIVED"
    with pytest.raises(
        InvalidTransitionError,
        match="PO-5003 is RECEIVED, a final status: it cannot become RECEIVED",
    ):
        await receive_purchase_order(plant, BUYER, "PO-5003")
    receipts = await rows(plant, "select count(*) as n from stock_movements where kind = 'RECEIPT'")
    assert receipts == [{"n": 1}]


async def test_cancelling_needs_a_reason_and_goods_not_yet_on_their_way(
    plant: db.AsyncConn,
) -> None:
    with pytest.raises(ValidationError, match="a cancellation reason is required"):
        await cancel_purchase_order(plant, BUYER, "PO-5003", reason="")
    cancelled = await cancel_purchase_order(plant, BUYER, "PO-5003", reason="found stock")

    assert cancelled.status == "CANCELLED"
    with pytest.raises(
        InvalidTransitionError,
        match="PO-5001 is IN_TRANSIT and cannot become CANCELLED; from IN_TRANSIT it can become "
        "DELAYED, RECEIVED",
    ):
        await cancel_purchase_order(plant, BUYER, "PO-5001", reason="too late")


async def test_a_delay_needs_a_reason_and_a_future_date(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    with pytest.raises(ValidationError, match="a delay reason is required"):
        await delay_purchase_order(
            plant, BUYER, "PO-5003", reason=" ", expected_at=fixed_clock.now() + timedelta(days=1)
        )
    with pytest.raises(ValidationError, match="must be a future time"):
        await delay_purchase_order(
            plant, BUYER, "PO-5003", reason="strike", expected_at=fixed_clock.now()
        )
    with pytest.raises(NotFoundError, match="purchase order 'PO-1' does not exist"):
        await mark_po_in_transit(plant, BUYER, "PO-1")
    assert (await get_purchase_order(plant, "PO-5003")).status == "PENDING"


async def test_a_supplier_can_slip_again_and_again(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    first = fixed_clock.now() + timedelta(days=7)
    second = fixed_clock.now() + timedelta(days=21)
    await delay_purchase_order(plant, BUYER, "PO-5003", reason="port congestion", expected_at=first)
    po = await delay_purchase_order(plant, BUYER, "PO-5003", reason="vessel rerouted",
                                    expected_at=second)  # fmt: skip

    assert (po.expected_at, po.delay_reason) == (second, "vessel rerouted")


async def test_purchase_orders_are_listed_by_status_supplier_and_sku(plant: db.AsyncConn) -> None:
    pending = await list_purchase_orders(plant, status="PENDING")
    nippon = await list_purchase_orders(plant, supplier_id="NIPPONBEARING")

    assert {p.po_id for p in pending} == {"PO-5003", "PO-5004", "PO-5005"}
    assert {p.sku for p in nippon} == {"SKU-BRG-6205", "SKU-BRG-NN3020", "SKU-SPN-12K"}
    with pytest.raises(ValidationError, match="status 'LATE' is not one of PENDING"):
        await list_purchase_orders(plant, status="LATE")
