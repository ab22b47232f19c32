"""Inventory: levels, reservations across facilities, the ledger, low stock, and planning."""

from __future__ import annotations

import math
import statistics
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from tools.core import db
from tools.core.clock import FixedClock
from tools.core.errors import (
    InsufficientStockError,
    InvalidTransitionError,
    NotFoundError,
    ValidationError,
)
from tools.core.operations import Actor
from tools.inventory.planning import alternatives, search_products, spare_parts_for
from tools.inventory.reorder import reorder_plan
from tools.inventory.reservations import (
    commit_stock,
    order_reservations,
    release_stock,
    reserve_stock,
)
from tools.inventory.stock import (
    adjust_stock,
    check_reorder,
    ledger_mismatches,
    movements,
    stock_level,
    stock_levels,
)
from tools.orders.contracts import LineRequest, OrderDraft
from tools.orders.orders import create_order, validate_order

PLANNER = Actor(type="user", id="planner")
pytestmark = pytest.mark.anyio


async def rows(conn: db.AsyncConn, query: str, *params: object) -> list[dict[str, Any]]:
    cur = await conn.execute(query, params)  # type: ignore[arg-type]
    return await cur.fetchall()


async def level(conn: db.AsyncConn, sku: str, facility_id: str) -> tuple[int, int]:
    found = await stock_level(conn, sku, facility_id)
    return found.on_hand, found.reserved


async def types_since(conn: db.AsyncConn, after: int) -> list[str]:
    found = await rows(
        conn, "select type from event_log where event_id > %s order by event_id", after
    )
    return [r["type"] for r in found]


async def last_event(conn: db.AsyncConn) -> int:
    return int((await rows(conn, "select max(event_id) as n from event_log"))[0]["n"])


async def validated_order(
    conn: db.AsyncConn, clock: FixedClock, customer_id: str, *lines: tuple[str, int], **extra: Any
) -> str:
    order = await create_order(
        conn,
        PLANNER,
        OrderDraft(
            customer_id=customer_id,
            lines=[LineRequest(sku=s, quantity=q) for s, q in lines],
            due_at=clock.now() + timedelta(days=30),
            **extra,
        ),
    )
    await validate_order(conn, PLANNER, order.order_id)
    return order.order_id


# ───────────────────────── levels ─────────────────────────


async def test_stock_is_read_by_sku_and_facility_with_what_is_free(plant: db.AsyncConn) -> None:
    blades = await stock_levels(plant, sku="SKU-TB-1001")
    phoenix = await stock_levels(plant, facility_id="PHX")

    assert [(s.facility_id, s.on_hand, s.reserved, s.available) for s in blades] == [
        ("MUC", 72, 30, 42),
        ("PHX", 257, 166, 91),
    ]
    assert {s.facility_id for s in phoenix} == {"PHX"} and len(phoenix) == 14
    with pytest.raises(
        NotFoundError, match="SKU-EH-3001 is not stocked at MUC; it is stocked at PHX"
    ):
        await stock_level(plant, "SKU-EH-3001", "MUC")


# ───────────────────────── reserve, commit, release ─────────────────────────


async def test_reserving_covers_an_order_at_its_facility_and_marks_it_reserved(
    plant: db.AsyncConn,
) -> None:
    before = await level(plant, "SKU-MH-4001", "DET")
    mark = await last_event(plant)

    result = await reserve_stock(plant, PLANNER, "ORD-10019")

    assert (result.order_status, result.fully_reserved, result.shortfall) == ("RESERVED", True, 0)
    assert [(a.facility_id, a.quantity) for a in result.lines[0].allocations] == [("DET", 329)]
    assert await level(plant, "SKU-MH-4001", "DET") == (before[0], before[1] + 329)
    assert await types_since(plant, mark) == ["stock.reserved", "order.reserved"]
    audit = await rows(plant, "select action from audit_log order by audit_id")
    assert [r["action"] for r in audit] == ["stock.reserve", "order.reserved"]


async def test_reserving_splits_across_facilities_when_the_home_one_is_short(
    plant: db.AsyncConn,
) -> None:
    result = await reserve_stock(plant, PLANNER, "ORD-10017")  # AIRBUS at MUC

    assert result.fully_reserved
    split = {(a.sku, a.facility_id): a.quantity for line in result.lines for a in line.allocations}
    assert split == {
        ("SKU-TB-1001", "MUC"): 42, ("SKU-TB-1001", "PHX"): 6,
        ("SKU-TB-1002", "MUC"): 94, ("SKU-TB-1002", "PHX"): 21,
    }  # fmt: skip
    held = await order_reservations(plant, "ORD-10017")
    assert sorted((r.sku, r.facility_id, r.quantity, r.status) for r in held) == sorted(
        (sku, fac, q, "RESERVED") for (sku, fac), q in split.items()
    )


async def test_a_partial_reservation_is_reported_and_the_order_stays_validated(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    order_id = await validated_order(plant, fixed_clock, "BMW", ("SKU-BRG-7014", 30))

    result = await reserve_stock(plant, PLANNER, order_id)

    assert (result.order_status, result.fully_reserved) == ("VALIDATED", False)
    assert (result.reserved_now, result.shortfall) == (28, 2)
    assert {a.facility_id: a.quantity for a in result.lines[0].allocations} == {
        "DET": 14, "MUC": 12, "PHX": 2,
    }  # fmt: skip
    again = await reserve_stock(plant, PLANNER, order_id)
    assert (again.reserved_now, again.shortfall, again.lines[0].held_before) == (0, 2, 28)


async def test_refusing_a_partial_reservation_reserves_nothing_and_says_what_is_free(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    order_id = await validated_order(plant, fixed_clock, "BMW", ("SKU-BRG-7014", 30))
    mark = await last_event(plant)

    with pytest.raises(
        InsufficientStockError,
        match=r"line 1 needs 30 SKU-BRG-7014 but only 28 are free \(DET 14, MUC 12, PHX 2\)",
    ):
        await reserve_stock(plant, PLANNER, order_id, allow_partial=False)

    assert await order_reservations(plant, order_id) == []
    assert await level(plant, "SKU-BRG-7014", "DET") == (14, 0)
    assert await types_since(plant, mark) == []


async def test_only_a_validated_order_gets_stock(plant: db.AsyncConn) -> None:
    with pytest.raises(InvalidTransitionError, match="ORD-10020 is CREATED; .*validate it first"):
        await reserve_stock(plant, PLANNER, "ORD-10020")
    with pytest.raises(NotFoundError, match="order 'ORD-9' does not exist"):
        await reserve_stock(plant, PLANNER, "ORD-9")


async def test_a_reserved_order_reserves_nothing_more_and_writes_nothing(
    plant: db.AsyncConn,
) -> None:
    mark = await last_event(plant)

    result = await reserve_stock(plant, PLANNER, "ORD-10016")

    assert (result.order_status, result.reserved_now, result.fully_reserved) == (
        "RESERVED", 0, True,
    )  # fmt: skip
    assert await types_since(plant, mark) == []


async def test_releasing_gives_the_stock_back_and_the_order_returns_to_validated(
    plant: db.AsyncConn,
) -> None:
    before = await level(plant, "SKU-MH-4001", "DET")

    result = await release_stock(plant, PLANNER, "ORD-10015", reason="re-plan from MUC")

    assert result.order_status == "VALIDATED"
    assert [(a.sku, a.quantity) for a in result.released] == [("SKU-MH-4001", 376)]
    assert await level(plant, "SKU-MH-4001", "DET") == (before[0], before[1] - 376)
    events = await rows(
        plant, "select type from event_log where entity_id = 'ORD-10015' order by event_id"
    )
    assert [e["type"] for e in events] == ["stock.released", "order.reservation_released"]


async def test_committed_stock_is_released_only_by_cancelling(plant: db.AsyncConn) -> None:
    with pytest.raises(InvalidTransitionError, match="ORD-10009 is IN_PRODUCTION; .*cancel"):
        await release_stock(plant, PLANNER, "ORD-10009", reason="re-plan")
    with pytest.raises(ValidationError, match="a release reason is required"):
        await release_stock(plant, PLANNER, "ORD-10015", reason="")


async def test_committing_marks_a_reserved_orders_stock_committed(plant: db.AsyncConn) -> None:
    result = await commit_stock(plant, PLANNER, "ORD-10016")

    assert sum(a.quantity for a in result.released) == 443 + 256
    assert {r.status for r in await order_reservations(plant, "ORD-10016")} == {"COMMITTED"}
    with pytest.raises(InvalidTransitionError, match="only a RESERVED order's stock"):
        await commit_stock(plant, PLANNER, "ORD-10017")


# ───────────────────────── ledger, adjustments, low stock ─────────────────────────


async def test_an_adjustment_books_a_movement_and_the_ledger_still_balances(
    plant: db.AsyncConn,
) -> None:
    after = await adjust_stock(
        plant, PLANNER, "SKU-SP-VS100", "MUC", delta=-3, reason="cycle count",
        kind="ADJUSTMENT",
    )  # fmt: skip

    assert after.on_hand == 25
    latest = (await movements(plant, "SKU-SP-VS100", "MUC", limit=1))[0]
    assert (latest.quantity, latest.kind, latest.actor) == (-3, "ADJUSTMENT", "user:planner")
    assert await ledger_mismatches(plant) == []


@pytest.mark.parametrize(
    ("delta", "kind", "reason", "error", "message"),
    [
        (0, "ADJUSTMENT", "count", ValidationError, "delta may not be 0"),
        (5, "RECEIPT", "count", ValidationError, "'RECEIPT' cannot be booked by hand"),
        (-1, "ADJUSTMENT", "", ValidationError, "an adjustment reason is required"),
        (-60, "CONSUMPTION", "used", InsufficientStockError, "has 42 free .72 on hand, 30"),
    ],
)
async def test_a_bad_adjustment_changes_nothing(
    plant: db.AsyncConn,
    delta: int,
    kind: Any,
    reason: str,
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        await adjust_stock(plant, PLANNER, "SKU-TB-1001", "MUC", delta=delta, kind=kind,
                           reason=reason)  # fmt: skip
    assert await level(plant, "SKU-TB-1001", "MUC") == (72, 30)


async def test_stock_low_is_raised_when_a_level_crosses_its_reorder_point_not_every_time(
    plant: db.AsyncConn,
) -> None:
    async def take(delta: int) -> None:
        await adjust_stock(plant, PLANNER, "SKU-BRG-6205", "DET", delta=delta, reason="count")

    mark = await last_event(plant)
    await take(-30)  # 79 → 49, above the reorder point of 40
    await take(-10)  # → 39: crosses
    await take(-5)  # → 34: still low, nothing new
    await take(+20)  # → 54: back above

    assert await types_since(plant, mark) == [
        "stock.adjusted", "stock.low", "stock.adjusted", "stock.adjusted", "stock.restored",
        "stock.adjusted",
    ]  # fmt: skip
    low = await rows(plant, "select payload from event_log where type = 'stock.low'")
    assert low[0]["payload"]["available"] == 39 and low[0]["payload"]["reorder_point"] == 40


async def test_a_reorder_check_flags_each_low_level_once(plant: db.AsyncConn) -> None:
    first = await check_reorder(plant, PLANNER)
    second = await check_reorder(plant, PLANNER)

    flagged = {(lv.sku, lv.facility_id) for lv in first.newly_low}
    assert {("SKU-BRG-7014", "PHX"), ("SKU-SP-CP200", "DET"), ("SKU-RM-TI64", "MUC")} <= flagged
    assert flagged == {(lv.sku, lv.facility_id) for lv in first.low}
    assert second.newly_low == [] and len(second.low) == len(first.low)
    events = await rows(plant, "select count(*) as n from event_log where type = 'stock.low'")
    assert events[0]["n"] == len(flagged)


# ───────────────────────── finding stock ─────────────────────────


async def test_products_are_found_by_name_division_and_category(plant: db.AsyncConn) -> None:
    bearings = await search_products(plant, text="bearing")
    aero_blades = await search_products(plant, division_id="AERO", category="TURBINE_BLADE")
    literal = await search_products(plant, text="100%")

    assert {p.sku for p in bearings} == {"SKU-BRG-6205", "SKU-BRG-7014", "SKU-BRG-NN3020"}
    assert [p.sku for p in aero_blades] == ["SKU-TB-1001", "SKU-TB-1002", "SKU-TB-2001"]
    assert aero_blades[0].available == 42 + 91
    assert literal == []
    with pytest.raises(ValidationError, match="category 'BLADE' is not one of TURBINE_BLADE"):
        await search_products(plant, category="BLADE")


async def test_a_short_sku_has_alternatives_in_other_facilities_and_suppliers(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    found = await alternatives(plant, "SKU-BRG-7014", facility_id="PHX", quantity=4)

    assert [(f.facility_id, f.available) for f in found.other_facilities] == [
        ("DET", 14), ("MUC", 12),
    ]  # fmt: skip
    assert found.transfer_covers
    assert [(s.supplier_id, s.lead_time_days, s.unit_price) for s in found.suppliers] == [
        ("RHEINTECH", 10, Decimal("705.00")), ("NIPPONBEARING", 35, Decimal("610.00")),
    ]  # fmt: skip
    assert found.suppliers[0].arrives_by == fixed_clock.now() + timedelta(days=10)
    with pytest.raises(NotFoundError, match="unknown SKU 'SKU-X'"):
        await alternatives(plant, "SKU-X")


async def test_spare_parts_for_a_fault_come_with_their_stock(plant: db.AsyncConn) -> None:
    found = await spare_parts_for(plant, "PHX-CNC-007", "BEARING_DEGRADATION")

    assert found.model == "DMG MORI DMU 50"
    parts = {p.sku: p for p in found.parts}
    assert set(parts) == {"SKU-BRG-7014", "SKU-BRG-6205"}
    front = parts["SKU-BRG-7014"]
    assert (front.quantity_needed, front.available_on_site, front.enough_on_site) == (2, 2, True)
    assert [s.facility_id for s in front.stock] == ["PHX", "DET", "MUC"]
    with pytest.raises(ValidationError, match="fault type 'WOBBLE' is not one of BEARING_"):
        await spare_parts_for(plant, "PHX-CNC-007", "WOBBLE")
    with pytest.raises(NotFoundError, match="machine 'PHX-CNC-999' does not exist"):
        await spare_parts_for(plant, "PHX-CNC-999", "SPINDLE_WEAR")


async def test_the_reorder_plan_follows_the_documented_formulas(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    start = fixed_clock.now()
    daily = {3: 10, 10: 30, 20: 20}  # days ago → units ordered
    for days_ago, quantity in sorted(daily.items(), reverse=True):
        fixed_clock.set(start - timedelta(days=days_ago))
        line = LineRequest(sku="SKU-BRG-6205", quantity=quantity)
        await create_order(
            plant, PLANNER,
            OrderDraft(customer_id="BMW", lines=[line], due_at=start + timedelta(days=30),
                       facility_id="MUC"),
        )  # fmt: skip
    fixed_clock.set(start)

    plan = await reorder_plan(plant, "SKU-BRG-6205", "MUC", history_days=30)

    per_day = [0] * 30
    for days_ago, quantity in daily.items():
        per_day[days_ago] = quantity
    mean, std = statistics.fmean(per_day), statistics.pstdev(per_day)
    z = statistics.NormalDist().inv_cdf(0.95)
    lead = 21  # NipponBearing, the preferred supplier
    assert (plan.supplier_id, plan.lead_time_days, plan.demand_total) == ("NIPPONBEARING", lead, 60)
    assert plan.safety_stock == math.ceil(z * std * math.sqrt(lead))
    assert plan.reorder_point == math.ceil(mean * lead + z * std * math.sqrt(lead))
    eoq = math.sqrt(2 * mean * 365 * 150 / (0.25 * 31.20))
    assert plan.economic_order_quantity == math.ceil(eoq)
    assert plan.order_quantity == max(math.ceil(eoq), 50)
    rop = mean * lead + z * std * math.sqrt(lead)
    in_transit = await rows(
        plant, "select quantity from purchase_orders where sku = 'SKU-BRG-6205' "
        "and facility_id = 'MUC' and status = 'IN_TRANSIT'",
    )  # fmt: skip
    assert (plan.available, plan.on_order) == (217, in_transit[0]["quantity"])
    assert plan.position == plan.available + plan.on_order
    assert plan.order_by == start.date() + timedelta(days=math.floor((plan.position - rop) / mean))


async def test_without_demand_there_is_no_date_to_order(plant: db.AsyncConn) -> None:
    plan = await reorder_plan(plant, "SKU-SP-VS100", "PHX")

    assert (plan.daily_demand_mean, plan.safety_stock, plan.order_by) == (0, 0, None)
    with pytest.raises(ValidationError, match="service level"):
        await reorder_plan(plant, "SKU-SP-VS100", "PHX", service_level=1.0)
    with pytest.raises(NotFoundError, match="not stocked at PHX"):
        await reorder_plan(plant, "SKU-MH-4001", "PHX")
