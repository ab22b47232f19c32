"""Logistics: carriers and estimates, shipments from reservations, tracking to delivery."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from tools.core import db
from tools.core.clock import FixedClock
from tools.core.errors import ConflictError, InvalidTransitionError, NotFoundError, ValidationError
from tools.core.operations import Actor
from tools.inventory.reservations import order_reservations, reserve_stock
from tools.inventory.stock import ledger_mismatches, stock_level
from tools.logistics.rates import list_carriers, shipping_estimates
from tools.logistics.shipments import create_shipments, get_shipment, list_shipments, track
from tools.logistics.tracking import (
    advance_shipment,
    cancel_shipment,
    delay_shipment,
    deliver_shipment,
    pick_up,
    print_label,
)
from tools.orders.orders import get_order
from tools.orders.progress import (
    complete_order_if_delivered,
    hold_order,
    mark_ready,
    start_production,
)

DISPATCH = Actor(type="user", id="dispatch")
CARRIER = Actor(type="simulator", id="carriers")
pytestmark = pytest.mark.anyio


async def rows(conn: db.AsyncConn, query: str, *params: object) -> list[dict[str, Any]]:
    cur = await conn.execute(query, params)  # type: ignore[arg-type]
    return await cur.fetchall()


async def event_types(conn: db.AsyncConn, entity_id: str) -> list[str]:
    found = await rows(
        conn, "select type from event_log where entity_id = %s order by event_id", entity_id
    )
    return [r["type"] for r in found]


async def ready_split_order(conn: db.AsyncConn) -> str:
    """AIRBUS's ORD-10017, its stock reserved at MUC and PHX, made and packed."""
    await reserve_stock(conn, DISPATCH, "ORD-10017")
    await start_production(conn, DISPATCH, "ORD-10017")
    await mark_ready(conn, DISPATCH, "ORD-10017")
    return "ORD-10017"


# ───────────────────────── carriers and estimates ─────────────────────────


async def test_carriers_are_listed_with_their_service_levels(plant: db.AsyncConn) -> None:
    carriers = await list_carriers(plant)

    assert [c.carrier_id for c in carriers] == ["DHL", "FEDEX", "UPS"]
    assert carriers[0].service_levels == ["EXPRESS", "FREIGHT", "GROUND", "OVERNIGHT"]
    assert "EU-WEST" in carriers[0].destination_regions


async def test_an_estimate_prices_every_carrier_and_service_from_the_rate_bands(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    quotes = await shipping_estimates(
        plant, origin_facility_id="PHX", destination_region="NA-EAST", weight_kg=Decimal("68.63")
    )

    assert len(quotes) == 3 * 3  # three carriers, three parcel services (freight starts at 150)
    assert [q.cost for q in quotes] == sorted(q.cost for q in quotes)
    ups_ground = next(q for q in quotes if (q.carrier_id, q.service_level) == ("UPS", "GROUND"))
    rate = (
        await rows(
            plant,
            "select base_cost, cost_per_kg, transit_days from shipping_rates where carrier_id = "
            "'UPS' and origin_region = 'NA-WEST' and destination_region = 'NA-EAST' and "
            "service_level = 'GROUND' and min_weight_kg = 30",
        )
    )[0]
    expected = (rate["base_cost"] + rate["cost_per_kg"] * Decimal("68.63")).quantize(
        Decimal("0.01")
    )
    assert (ups_ground.cost, ups_ground.transit_days) == (expected, rate["transit_days"])
    assert ups_ground.eta == fixed_clock.now() + timedelta(days=rate["transit_days"])
    freight = await shipping_estimates(
        plant, origin_facility_id="DET", destination_region="EU-CENTRAL", weight_kg=Decimal(900)
    )
    assert {q.service_level for q in freight} == {"FREIGHT"}


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"origin_facility_id": "XXX"}, NotFoundError, "facility 'XXX' does not exist"),
        (
            {"destination_region": "APAC"},
            ValidationError,
            "no carrier ships from NA-WEST to 'APAC'",
        ),
        ({"weight_kg": Decimal(0)}, ValidationError, "weighs more than 0 kg"),
        ({"service_level": "ROCKET"}, ValidationError, "'ROCKET' is not one of GROUND"),
        ({"carrier_id": "POST"}, NotFoundError, "carrier 'POST' does not exist"),
    ],
)
async def test_an_impossible_estimate_says_what_is_possible(
    plant: db.AsyncConn, kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    ask: dict[str, Any] = {
        "origin_facility_id": "PHX", "destination_region": "NA-EAST", "weight_kg": Decimal(10),
    }  # fmt: skip
    with pytest.raises(error, match=message):
        await shipping_estimates(plant, **(ask | kwargs))


# ───────────────────────── creating shipments ─────────────────────────


async def test_a_ready_order_ships_from_its_reservations_at_the_cheapest_rate(
    plant: db.AsyncConn,
) -> None:
    (shipment,) = await create_shipments(plant, DISPATCH, "ORD-10007")

    assert (shipment.status, shipment.origin_facility_id, shipment.destination_region) == (
        "CREATED", "PHX", "NA-EAST",
    )  # fmt: skip
    assert shipment.weight_kg == Decimal("68.63")  # 101 × 0.450 + 61 × 0.380
    cheapest = (await shipping_estimates(
        plant, origin_facility_id="PHX", destination_region="NA-EAST", weight_kg=Decimal("68.63")
    ))[0]  # fmt: skip
    assert (shipment.carrier_id, shipment.service_level, shipment.cost) == (
        cheapest.carrier_id, cheapest.service_level, cheapest.cost,
    )  # fmt: skip
    assert [(li.line_no, li.quantity) for li in shipment.lines] == [(1, 101), (2, 61)]
    assert shipment.tracking_number is not None
    assert [(e.status, e.location) for e in shipment.events] == [("CREATED", "Phoenix, US")]
    assert await event_types(plant, shipment.shipment_id) == ["shipment.created"]
    assert (await track(plant, shipment.tracking_number)).shipment_id == shipment.shipment_id


async def test_a_rush_order_ships_the_fastest_way_and_a_named_carrier_is_honoured(
    plant: db.AsyncConn,
) -> None:
    await plant.execute("update orders set is_rush = true where order_id = 'ORD-10007'")
    (rush,) = await create_shipments(plant, DISPATCH, "ORD-10007", carrier_id="FEDEX")

    assert (rush.carrier_id, rush.service_level) == ("FEDEX", "OVERNIGHT")


async def test_stock_split_across_facilities_ships_in_one_shipment_from_each(
    plant: db.AsyncConn,
) -> None:
    order_id = await ready_split_order(plant)

    shipments = await create_shipments(plant, DISPATCH, order_id)

    assert [s.origin_facility_id for s in shipments] == ["MUC", "PHX"]
    by_origin = {s.origin_facility_id: [(li.sku, li.quantity) for li in s.lines] for s in shipments}
    assert by_origin == {
        "MUC": [("SKU-TB-1001", 42), ("SKU-TB-1002", 94)],
        "PHX": [("SKU-TB-1001", 6), ("SKU-TB-1002", 21)],
    }


async def test_an_order_is_not_shipped_twice(plant: db.AsyncConn) -> None:
    await create_shipments(plant, DISPATCH, "ORD-10007")

    with pytest.raises(ConflictError, match="ORD-10007 has nothing left to ship"):
        await create_shipments(plant, DISPATCH, "ORD-10007")
    with pytest.raises(InvalidTransitionError, match="ORD-10017 is VALIDATED; shipments are"):
        await create_shipments(plant, DISPATCH, "ORD-10017")
    assert len(await list_shipments(plant, order_id="ORD-10007")) == 1


# ───────────────────────── tracking ─────────────────────────


async def test_a_shipment_runs_from_label_to_delivery_and_completes_its_order(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    before = {sku: await stock_level(plant, sku, "PHX") for sku in ("SKU-TB-1001", "SKU-TB-1002")}
    (shipment,) = await create_shipments(plant, DISPATCH, "ORD-10007")
    sid = shipment.shipment_id
    await print_label(plant, DISPATCH, sid)
    fixed_clock.advance(timedelta(hours=2))
    picked = await pick_up(plant, CARRIER, sid)

    after = {sku: await stock_level(plant, sku, "PHX") for sku in before}
    assert picked.shipped_at == fixed_clock.now()
    assert picked.eta == fixed_clock.now() + (shipment.eta - shipment.created_at)  # type: ignore[operator]
    for sku, shipped in (("SKU-TB-1001", 101), ("SKU-TB-1002", 61)):
        assert after[sku].on_hand == before[sku].on_hand - shipped
        assert after[sku].reserved == before[sku].reserved - shipped
    assert await ledger_mismatches(plant) == []
    assert {r.status for r in await order_reservations(plant, "ORD-10007")} == {"FULFILLED"}
    order = await get_order(plant, "ORD-10007")
    assert order.status == "SHIPPED"
    assert [li.quantity_shipped for li in order.lines] == [101, 61]

    await advance_shipment(plant, CARRIER, sid, "IN_TRANSIT", location="Louisville Worldport, US")
    new_eta = picked.eta + timedelta(days=2)  # type: ignore[operator]
    delayed = await delay_shipment(plant, CARRIER, sid, reason="missed connection at the hub",
                                   new_eta=new_eta)  # fmt: skip
    assert delayed.eta == new_eta
    assert (delayed.events[-1].location, delayed.events[-1].reason) == (
        "Louisville Worldport, US", "missed connection at the hub",
    )  # fmt: skip
    await advance_shipment(plant, CARRIER, sid, "IN_TRANSIT")
    await advance_shipment(plant, CARRIER, sid, "OUT_FOR_DELIVERY", location="Cincinnati, US")
    delivered = await deliver_shipment(plant, CARRIER, sid, note="signed by J. Doe")

    assert delivered.delivered_at == fixed_clock.now()
    assert [e.status for e in delivered.events] == [
        "CREATED", "LABEL_PRINTED", "PICKED_UP", "IN_TRANSIT", "DELAYED", "IN_TRANSIT",
        "OUT_FOR_DELIVERY", "DELIVERED",
    ]  # fmt: skip
    assert (await get_order(plant, "ORD-10007")).status == "DELIVERED"
    completed = await complete_order_if_delivered(plant, CARRIER, "ORD-10007")
    assert completed is not None and completed.status == "COMPLETED"
    assert await event_types(plant, "ORD-10007") == [
        "order.shipped", "order.delivered", "order.completed",
    ]  # fmt: skip
    movements = await rows(
        plant, "select sum(quantity) as q from stock_movements where reference_id = %s", sid
    )
    assert movements == [{"q": -162}]


async def test_a_split_order_is_shipped_when_both_leave_and_delivered_when_both_arrive(
    plant: db.AsyncConn,
) -> None:
    order_id = await ready_split_order(plant)
    first, second = await create_shipments(plant, DISPATCH, order_id)
    for s in (first, second):
        await print_label(plant, DISPATCH, s.shipment_id)

    await pick_up(plant, CARRIER, first.shipment_id)
    assert (await get_order(plant, order_id)).status == "READY"
    await pick_up(plant, CARRIER, second.shipment_id)
    assert (await get_order(plant, order_id)).status == "SHIPPED"
    for s in (first, second):
        await advance_shipment(plant, CARRIER, s.shipment_id, "IN_TRANSIT")
        await advance_shipment(plant, CARRIER, s.shipment_id, "OUT_FOR_DELIVERY")
    await deliver_shipment(plant, CARRIER, first.shipment_id)
    assert (await get_order(plant, order_id)).status == "SHIPPED"
    assert await complete_order_if_delivered(plant, CARRIER, order_id) is None
    await deliver_shipment(plant, CARRIER, second.shipment_id)
    assert (await get_order(plant, order_id)).status == "DELIVERED"


async def test_an_invalid_scan_names_the_status_and_what_may_follow_and_changes_nothing(
    plant: db.AsyncConn,
) -> None:
    (shipment,) = await create_shipments(plant, DISPATCH, "ORD-10007")

    with pytest.raises(
        InvalidTransitionError,
        match=f"shipment {shipment.shipment_id} is CREATED and cannot become PICKED_UP; from "
        "CREATED it can become LABEL_PRINTED, CANCELLED",
    ):
        await pick_up(plant, CARRIER, shipment.shipment_id)
    with pytest.raises(InvalidTransitionError, match="SHP-7001 is DELIVERED, a final status"):
        await advance_shipment(plant, CARRIER, "SHP-7001", "IN_TRANSIT")
    with pytest.raises(ValidationError, match="status 'LOST' is not one of CREATED"):
        await advance_shipment(plant, CARRIER, shipment.shipment_id, "LOST")
    with pytest.raises(NotFoundError, match="shipment 'SHP-1' does not exist"):
        await print_label(plant, CARRIER, "SHP-1")
    assert (await get_shipment(plant, shipment.shipment_id)).events == shipment.events


async def test_a_delay_needs_a_reason_and_a_new_eta(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    later = fixed_clock.now() + timedelta(days=3)

    with pytest.raises(ValidationError, match="a shipment becomes DELAYED only with a reason"):
        await advance_shipment(plant, CARRIER, "SHP-7005", "DELAYED", eta=later)
    with pytest.raises(ValidationError, match="a delay needs the carrier's new ETA"):
        await advance_shipment(plant, CARRIER, "SHP-7005", "DELAYED", reason="storm")
    with pytest.raises(ValidationError, match="must be a future time"):
        await delay_shipment(plant, CARRIER, "SHP-7005", reason="storm", new_eta=fixed_clock.now())
    delayed = await delay_shipment(plant, CARRIER, "SHP-7006", reason="customs", new_eta=later)
    assert (delayed.status, delayed.eta) == ("DELAYED", later)  # DELAYED again: the ETA moves
    payload = await rows(plant, "select payload from event_log where type = 'shipment.delayed'")
    assert payload[0]["payload"]["eta"] == later.isoformat()


async def test_a_cancelled_shipment_leaves_the_stock_held_for_the_order(
    plant: db.AsyncConn,
) -> None:
    before = await stock_level(plant, "SKU-TB-1001", "PHX")
    (shipment,) = await create_shipments(plant, DISPATCH, "ORD-10007")

    with pytest.raises(ValidationError, match="a reason for CANCELLED is required"):
        await cancel_shipment(plant, DISPATCH, shipment.shipment_id, reason="")
    cancelled = await cancel_shipment(plant, DISPATCH, shipment.shipment_id, reason="wrong crate")

    assert cancelled.status == "CANCELLED"
    assert await stock_level(plant, "SKU-TB-1001", "PHX") == before
    (again,) = await create_shipments(plant, DISPATCH, "ORD-10007")  # can ship anew
    assert again.shipment_id != shipment.shipment_id
    with pytest.raises(InvalidTransitionError, match="SHP-7005 is IN_TRANSIT and cannot become"):
        await cancel_shipment(plant, DISPATCH, "SHP-7005", reason="too late")


async def test_a_shipment_of_an_order_on_hold_is_not_picked_up(plant: db.AsyncConn) -> None:
    (shipment,) = await create_shipments(plant, DISPATCH, "ORD-10007")
    await print_label(plant, DISPATCH, shipment.shipment_id)
    await hold_order(plant, DISPATCH, "ORD-10007", reason="quality query")

    with pytest.raises(InvalidTransitionError, match="ORD-10007 is ON_HOLD; .*release the hold"):
        await pick_up(plant, CARRIER, shipment.shipment_id)
    assert (await get_shipment(plant, shipment.shipment_id)).status == "LABEL_PRINTED"


async def test_cancelling_an_order_cancels_its_shipments_still_at_the_dock(
    plant: db.AsyncConn,
) -> None:
    from tools.orders.progress import cancel_order

    (shipment,) = await create_shipments(plant, DISPATCH, "ORD-10007")
    order = await cancel_order(plant, DISPATCH, "ORD-10007", reason="programme cancelled")

    assert order.status == "CANCELLED"
    assert (await get_shipment(plant, shipment.shipment_id)).status == "CANCELLED"
    assert (await stock_level(plant, "SKU-TB-1001", "PHX")).reserved == 166 - 101
    with pytest.raises(InvalidTransitionError, match="cannot become CANCELLED"):
        await cancel_order(plant, DISPATCH, "ORD-10004", reason="no")
