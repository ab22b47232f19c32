"""Property tests of the order and shipment lifecycles against a model of their tables.

Any sequence of requested moves leaves a status the table allows; a refused move raises a
domain error that names the entity and its status, and changes nothing at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tools.core import db
from tools.core.clock import FixedClock
from tools.core.errors import InvalidTransitionError, TitanError
from tools.core.operations import Actor
from tools.demo import plant as demo_plant
from tools.inventory.reservations import release_stock, reserve_stock
from tools.inventory.stock import adjust_stock
from tools.logistics.shipments import SHIPMENT_STATUSES, ShipmentStatus, create_shipments
from tools.logistics.tracking import SHIPMENT_LIFECYCLE, advance_shipment, pick_up, print_label
from tools.orders.contracts import LineRequest, OrderDraft
from tools.orders.lifecycle import OPEN_STATUSES, ORDER_STATUSES, OrderStatus
from tools.orders.orders import create_order, validate_order
from tools.orders.progress import (
    cancel_order,
    complete_order,
    hold_order,
    mark_ready,
    release_order,
    start_production,
)

ROBOT = Actor(type="simulator", id="property")
SKU = "SKU-MH-4001"
PROPERTY_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture
def plant_url(db_url: str, fixed_clock: FixedClock) -> str:
    """The test database with the demo plant loaded, for examples that bring their own orders."""

    async def load() -> None:
        async with db.connection(db_url) as conn, conn.transaction():
            await demo_plant.seed(conn, seed=42)

    asyncio.run(load())
    return db_url


async def snapshot(conn: db.AsyncConn, order_id: str) -> list[Any]:
    """Everything a refused move must leave as it was."""
    found = []
    for query in (
        "select * from orders where order_id = %(id)s",
        "select * from order_lines where order_id = %(id)s order by line_no",
        "select * from stock_reservations where order_id = %(id)s order by reservation_id",
        "select * from shipments where order_id = %(id)s order by shipment_id",
        "select count(*) from shipment_events e join shipments s using (shipment_id) "
        "where s.order_id = %(id)s",
        "select * from stock_levels where sku = %(sku)s order by facility_id",
        "select count(*) from stock_movements",
        "select count(*) from order_events",
        "select max(event_id) from event_log",
        "select max(audit_id) from audit_log",
    ):
        cur = await conn.execute(query, {"id": order_id, "sku": SKU})
        found.append(await cur.fetchall())
    await conn.commit()
    return found


async def new_order(conn: db.AsyncConn, clock: FixedClock) -> str:
    """A new CREATED order for 5 units, with 5 more units in stock so that it can be reserved."""
    await adjust_stock(conn, ROBOT, SKU, "DET", delta=5, reason="made for the property test")
    order = await create_order(
        conn,
        ROBOT,
        OrderDraft(
            customer_id="TESLA",
            lines=[LineRequest(sku=SKU, quantity=5)],
            due_at=clock.now() + timedelta(days=30),
        ),
    )
    return order.order_id


# ───────────────────────── orders ─────────────────────────

ORDER_ACTIONS = (
    "validate", "reserve", "release_stock", "start_production", "mark_ready", "ship", "deliver",
    "complete", "hold", "release", "cancel",
)  # fmt: skip


def order_outcome(action: str, status: OrderStatus, held_from: OrderStatus) -> OrderStatus | None:
    """The status the model expects after `action`, or None when it must be refused."""
    simple: dict[str, tuple[tuple[OrderStatus, ...], OrderStatus]] = {
        "validate": (("CREATED",), "VALIDATED"),
        "reserve": (("VALIDATED", "RESERVED"), "RESERVED"),
        "release_stock": (("VALIDATED", "RESERVED"), "VALIDATED"),
        "start_production": (("RESERVED",), "IN_PRODUCTION"),
        "mark_ready": (("IN_PRODUCTION",), "READY"),
        "ship": (("READY",), "SHIPPED"),
        "deliver": (("SHIPPED",), "DELIVERED"),
        "complete": (("DELIVERED",), "COMPLETED"),
        "hold": (OPEN_STATUSES, "ON_HOLD"),
        "release": (("ON_HOLD",), held_from),
        "cancel": ((*OPEN_STATUSES, "ON_HOLD"), "CANCELLED"),
    }
    sources, target = simple[action]
    return target if status in sources else None


async def run_order_action(conn: db.AsyncConn, action: str, order_id: str) -> None:
    if action == "ship":
        for s in await create_shipments(conn, ROBOT, order_id):
            await print_label(conn, ROBOT, s.shipment_id)
            await pick_up(conn, ROBOT, s.shipment_id)
        return
    if action == "deliver":
        cur = await conn.execute(
            "select shipment_id from shipments where order_id = %s order by 1", (order_id,)
        )
        ids = [r["shipment_id"] for r in await cur.fetchall()]
        await conn.commit()
        if not ids:  # nothing to deliver: ask for something the order cannot do instead
            await complete_order(conn, ROBOT, order_id)
        for shipment_id in ids:
            for to in ("IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED"):
                await advance_shipment(conn, ROBOT, shipment_id, to)
        return
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "validate": lambda: validate_order(conn, ROBOT, order_id),
        "reserve": lambda: reserve_stock(conn, ROBOT, order_id),
        "release_stock": lambda: release_stock(conn, ROBOT, order_id, reason="re-plan"),
        "start_production": lambda: start_production(conn, ROBOT, order_id),
        "mark_ready": lambda: mark_ready(conn, ROBOT, order_id),
        "complete": lambda: complete_order(conn, ROBOT, order_id),
        "hold": lambda: hold_order(conn, ROBOT, order_id, reason="customer query"),
        "release": lambda: release_order(conn, ROBOT, order_id),
        "cancel": lambda: cancel_order(conn, ROBOT, order_id, reason="customer withdrew"),
    }
    await calls[action]()


async def order_walk(url: str, clock: FixedClock, actions: list[str]) -> None:
    async with db.connection(url) as conn:
        order_id = await new_order(conn, clock)
        status: OrderStatus = "CREATED"
        held_from: OrderStatus = "CREATED"
        for action in actions:
            expected = order_outcome(action, status, held_from)
            before = await snapshot(conn, order_id)
            try:
                await run_order_action(conn, action, order_id)
            except TitanError as exc:
                assert expected is None, f"{action} from {status} was refused: {exc}"
                assert isinstance(exc, InvalidTransitionError), exc
                # it names the order and its status, or (delivering again) the shipment and its
                message = str(exc)
                assert f"{order_id} is {status}" in message or (
                    status in ("DELIVERED", "COMPLETED") and " is DELIVERED, a final" in message
                ), exc
                assert await snapshot(conn, order_id) == before, f"{action} changed something"
            else:
                assert expected is not None, f"{action} from {status} was allowed"
                if action == "hold":
                    held_from = status
                status = expected
            cur = await conn.execute("select status from orders where order_id = %s", (order_id,))
            row = await cur.fetchone()
            await conn.commit()
            assert row is not None and row["status"] == status in ORDER_STATUSES


@PROPERTY_SETTINGS
@given(st.lists(st.sampled_from(ORDER_ACTIONS), max_size=12))
def test_any_sequence_of_order_moves_leaves_a_valid_status_and_refuses_the_rest_unchanged(
    plant_url: str, fixed_clock: FixedClock, actions: list[str]
) -> None:
    asyncio.run(order_walk(plant_url, fixed_clock, actions))


def test_the_happy_path_is_among_the_sequences_the_model_allows() -> None:
    status: OrderStatus = "CREATED"
    for action in ("validate", "reserve", "start_production", "mark_ready", "ship", "deliver",
                   "complete"):  # fmt: skip
        nxt = order_outcome(action, status, "CREATED")
        assert nxt is not None, action
        status = nxt
    assert status == "COMPLETED"


# ───────────────────────── shipments ─────────────────────────


async def shipment_walk(url: str, clock: FixedClock, targets: list[ShipmentStatus]) -> None:
    async with db.connection(url) as conn:
        order_id = await new_order(conn, clock)
        await validate_order(conn, ROBOT, order_id)
        await reserve_stock(conn, ROBOT, order_id)
        await start_production(conn, ROBOT, order_id)
        await mark_ready(conn, ROBOT, order_id)
        (shipment,) = await create_shipments(conn, ROBOT, order_id)
        sid, left = shipment.shipment_id, False
        status: ShipmentStatus = "CREATED"
        for to in targets:
            allowed = SHIPMENT_LIFECYCLE.can_become(status, to)
            before = await snapshot(conn, order_id)
            try:
                await advance_shipment(
                    conn, ROBOT, sid, to, reason="carrier scan" if to != "PICKED_UP" else None,
                    eta=clock.now() + timedelta(days=4) if to == "DELAYED" else None,
                )  # fmt: skip
            except TitanError as exc:
                assert not allowed, f"{status} → {to} was refused: {exc}"
                assert isinstance(exc, InvalidTransitionError), exc
                assert sid in str(exc) and status in str(exc), exc
                assert await snapshot(conn, order_id) == before, f"{status} → {to} changed"
            else:
                assert allowed, f"{status} → {to} was allowed"
                status, left = to, left or to == "PICKED_UP"
            await check_shipment(conn, sid, order_id, status, left)


async def check_shipment(
    conn: db.AsyncConn, shipment_id: str, order_id: str, status: str, left: bool
) -> None:
    cur = await conn.execute(
        "select s.status, s.delivered_at, s.shipped_at, o.status as order_status, "
        "l.quantity_shipped, (select count(*) from stock_movements m "
        "where m.reference_id = s.shipment_id) as moves "
        "from shipments s join orders o using (order_id) join order_lines l using (order_id) "
        "where s.shipment_id = %s",
        (shipment_id,),
    )
    row = await cur.fetchone()
    await conn.commit()
    assert row is not None
    assert row["status"] == status
    assert (row["delivered_at"] is not None) == (status == "DELIVERED")
    assert (row["shipped_at"] is not None, row["moves"], row["quantity_shipped"]) == (
        (True, 1, 5) if left else (False, 0, 0)
    )
    expected_order = "DELIVERED" if status == "DELIVERED" else "SHIPPED" if left else "READY"
    assert row["order_status"] == expected_order, order_id


@PROPERTY_SETTINGS
@given(st.lists(st.sampled_from(SHIPMENT_STATUSES), max_size=10))
def test_any_sequence_of_shipment_scans_leaves_a_valid_status_and_refuses_the_rest_unchanged(
    plant_url: str, fixed_clock: FixedClock, targets: list[ShipmentStatus]
) -> None:
    asyncio.run(shipment_walk(plant_url, fixed_clock, targets))
