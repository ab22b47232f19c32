"""Invariants under concurrency: many writers reserving, shipping and receiving the same SKU.

Each writer has its own connection; they start together with asyncio.gather. Whatever order
the server runs them in, stock never goes negative, reserved never exceeds on-hand, the ledger
sums to on-hand, no order ships twice, and every mutation leaves one event and one audit row.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest

from tools.core import db
from tools.core.clock import FixedClock
from tools.core.errors import ConflictError, InsufficientStockError, InvalidTransitionError
from tools.core.operations import Actor
from tools.inventory.reservations import reserve_stock
from tools.inventory.stock import ledger_mismatches
from tools.logistics.shipments import create_shipments
from tools.logistics.tracking import pick_up, print_label
from tools.orders.contracts import LineRequest, OrderDraft
from tools.orders.orders import create_order, validate_order
from tools.orders.progress import mark_ready, start_production
from tools.purchasing.purchase_orders import create_purchase_order, receive_purchase_order

SKU = "SKU-BRG-6205"  # stocked at PHX, MUC and DET; bought by BMW; sold by two suppliers
ROBOT = Actor(type="agent", id="fulfilment")
pytestmark = pytest.mark.anyio
T = TypeVar("T")


async def rows(conn: db.AsyncConn, query: str, *params: object) -> list[dict[str, Any]]:
    cur = await conn.execute(query, params)  # type: ignore[arg-type]
    found = await cur.fetchall()
    await conn.commit()
    return found


async def validated(conn: db.AsyncConn, clock: FixedClock, quantity: int) -> str:
    order = await create_order(
        conn,
        ROBOT,
        OrderDraft(
            customer_id="BMW",
            lines=[LineRequest(sku=SKU, quantity=quantity)],
            due_at=clock.now() + timedelta(days=30),
            facility_id="MUC",
        ),
    )
    await validate_order(conn, ROBOT, order.order_id)
    return order.order_id


async def ready(conn: db.AsyncConn, clock: FixedClock, quantity: int) -> str:
    order_id = await validated(conn, clock, quantity)
    await reserve_stock(conn, ROBOT, order_id)
    await start_production(conn, ROBOT, order_id)
    await mark_ready(conn, ROBOT, order_id)
    return order_id


def with_connection(
    url: str, job: Callable[[db.AsyncConn], Awaitable[T]]
) -> Callable[[], Awaitable[T | Exception]]:
    """A writer: its own connection; an expected refusal comes back as the result."""

    async def run() -> T | Exception:
        async with db.connection(url) as conn:
            try:
                return await job(conn)
            except (InsufficientStockError, ConflictError, InvalidTransitionError) as refused:
                return refused

    return run


async def low_flags(conn: db.AsyncConn) -> dict[str, int]:
    """1 for each level of the SKU flagged low, else 0, by entity ID."""
    flags = await rows(
        conn, "select sku || '@' || facility_id as entity, low_since is not null as low "
        "from stock_levels where sku = %s", SKU,
    )  # fmt: skip
    return {f["entity"]: int(f["low"]) for f in flags}


async def check_the_books(conn: db.AsyncConn) -> None:
    levels = await rows(
        conn,
        "select s.sku, s.facility_id, s.on_hand, s.reserved, "
        "coalesce((select sum(quantity) from stock_reservations r where r.sku = s.sku "
        "and r.facility_id = s.facility_id and r.status in ('RESERVED', 'COMMITTED')), 0) as held "
        "from stock_levels s where s.sku = %s",
        SKU,
    )
    for lv in levels:
        assert 0 <= lv["reserved"] <= lv["on_hand"], lv
        assert lv["reserved"] == lv["held"], lv
    assert await ledger_mismatches(conn) == []
    await conn.commit()


async def test_racing_reservations_shipments_and_receipts_keep_the_books_straight(
    plant: db.AsyncConn, db_url: str, fixed_clock: FixedClock
) -> None:
    free = sum(
        r["on_hand"] - r["reserved"]
        for r in await rows(plant, "select * from stock_levels where sku = %s", SKU)
    )
    to_ship = [await ready(plant, fixed_clock, 20) for _ in range(4)]
    to_reserve = [await validated(plant, fixed_clock, 45) for _ in range(8)]
    receipts = [
        (await create_purchase_order(
            plant, ROBOT, supplier_id="RHEINTECH", sku=SKU, facility_id="DET", quantity=20
        )).po_id
        for _ in range(4)
    ]  # fmt: skip
    await plant.commit()
    flagged_before = await low_flags(plant)
    events_before = (await rows(plant, "select max(event_id) as n from event_log"))[0]["n"]
    audit_before = (await rows(plant, "select max(audit_id) as n from audit_log"))[0]["n"]

    async def ship(conn: db.AsyncConn, order_id: str) -> list[str]:
        shipments = await create_shipments(conn, ROBOT, order_id)
        for s in shipments:
            await print_label(conn, ROBOT, s.shipment_id)
            await pick_up(conn, ROBOT, s.shipment_id)
        return [s.shipment_id for s in shipments]

    writers = [
        *(with_connection(db_url, lambda c, o=o: reserve_stock(c, ROBOT, o, allow_partial=False))
          for o in to_reserve),
        *(with_connection(db_url, lambda c, p=p: receive_purchase_order(c, ROBOT, p))
          for p in receipts),
        # two dispatchers race to ship each order
        *(with_connection(db_url, lambda c, o=o: ship(c, o)) for o in to_ship for _ in (1, 2)),
    ]  # fmt: skip
    assert len(writers) >= 8
    with_timeout = asyncio.wait_for(asyncio.gather(*(w() for w in writers)), timeout=120)
    results = await with_timeout

    reservations = results[: len(to_reserve)]
    reserved = [r for r in reservations if not isinstance(r, Exception)]
    refused = [r for r in reservations if isinstance(r, Exception)]
    assert all(isinstance(r, InsufficientStockError) for r in refused)
    # 8 × 45 is more than was ever free: what was, less the 80 shipped, plus the 80 received
    assert refused and 45 * len(reserved) <= free
    assert all(not isinstance(r, Exception) for r in results[len(to_reserve) : -8])
    shipped = [r for r in results[-8:] if not isinstance(r, Exception)]
    assert len(shipped) == len(to_ship)  # one dispatcher per order won, the other was refused
    assert all(isinstance(r, ConflictError) for r in results[-8:] if isinstance(r, Exception))

    await check_the_books(plant)
    orders = await rows(
        plant,
        "select o.order_id, o.status, l.quantity, l.quantity_shipped, "
        "coalesce((select -sum(m.quantity) from stock_movements m join shipments s "
        "on s.shipment_id = m.reference_id where s.order_id = o.order_id), 0) as moved, "
        "(select count(*) from shipments s where s.order_id = o.order_id) as shipments "
        "from orders o join order_lines l using (order_id) where o.order_id = any(%s)",
        to_ship + to_reserve,
    )
    for o in orders:
        if o["order_id"] in to_ship:
            assert (o["status"], o["quantity_shipped"], o["moved"]) == ("SHIPPED", 20, 20), o
        else:
            assert o["status"] in ("RESERVED", "VALIDATED") and o["moved"] == 0, o
    assert sum(o["status"] == "RESERVED" for o in orders) == len(reserved)

    types = Counter(
        r["type"]
        for r in await rows(plant, "select type from event_log where event_id > %s", events_before)
    )
    n_shipments = sum(len(s) for s in shipped if isinstance(s, list))
    assert types["stock.reserved"] == types["order.reserved"] == len(reserved)
    assert types["purchase_order.received"] == len(receipts)
    assert types["shipment.created"] == types["shipment.picked_up"] == n_shipments
    assert types["order.shipped"] == len(to_ship)
    flips = Counter(
        (r["entity_id"], r["type"])
        for r in await rows(
            plant, "select entity_id, type from event_log where event_id > %s "
            "and type in ('stock.low', 'stock.restored')", events_before,
        )
    )  # fmt: skip
    for entity, now_low in (await low_flags(plant)).items():
        assert flips[entity, "stock.low"] - flips[entity, "stock.restored"] == (
            now_low - flagged_before[entity]
        ), entity
    audit = await rows(
        plant, "select count(*) as n from audit_log where audit_id > %s", audit_before
    )
    assert audit[0]["n"] == sum(types.values())


async def test_of_many_racing_pickups_of_one_shipment_exactly_one_takes_the_stock(
    plant: db.AsyncConn, db_url: str, fixed_clock: FixedClock
) -> None:
    order_id = await ready(plant, fixed_clock, 30)
    (shipment,) = await create_shipments(plant, ROBOT, order_id)
    await print_label(plant, ROBOT, shipment.shipment_id)
    await plant.commit()

    results = await asyncio.wait_for(
        asyncio.gather(*(
            with_connection(db_url, lambda c: pick_up(c, ROBOT, shipment.shipment_id))()
            for _ in range(8)
        )),
        timeout=60,
    )  # fmt: skip

    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(
        "is PICKED_UP and cannot become PICKED_UP" in str(r)
        for r in results
        if isinstance(r, Exception)
    )
    moved = await rows(
        plant, "select count(*) as n, sum(quantity) as q from stock_movements "
        "where reference_id = %s", shipment.shipment_id,
    )  # fmt: skip
    assert moved == [{"n": 1, "q": -30}]
    picked = await rows(
        plant, "select count(*) as n from event_log where type = 'shipment.picked_up' "
        "and entity_id = %s", shipment.shipment_id,
    )  # fmt: skip
    assert picked == [{"n": 1}]
    await check_the_books(plant)


async def test_racing_reservations_of_one_order_reserve_it_once(
    plant: db.AsyncConn, db_url: str, fixed_clock: FixedClock
) -> None:
    order_id = await validated(plant, fixed_clock, 25)
    await plant.commit()

    results = await asyncio.wait_for(
        asyncio.gather(*(
            with_connection(db_url, lambda c: reserve_stock(c, ROBOT, order_id))()
            for _ in range(8)
        )),
        timeout=60,
    )  # fmt: skip

    assert sorted(getattr(r, "reserved_now", -1) for r in results) == [0] * 7 + [25]
    held = await rows(
        plant, "select sum(quantity) as q from stock_reservations where order_id = %s", order_id
    )
    assert held == [{"q": 25}]
    await check_the_books(plant)
