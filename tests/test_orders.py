"""Orders: creation against the contract, reading and searching, and every lifecycle move."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from tools.core import db
from tools.core.clock import FixedClock
from tools.core.errors import InvalidTransitionError, NotFoundError, ValidationError
from tools.core.operations import Actor
from tools.inventory.reservations import reserve_stock
from tools.orders.contracts import LineRequest, OrderDraft
from tools.orders.orders import create_order, get_order, list_orders, review_order, validate_order
from tools.orders.progress import (
    cancel_order,
    complete_order,
    complete_order_if_delivered,
    hold_order,
    mark_ready,
    release_order,
    start_production,
)

PLANNER = Actor(type="user", id="planner", thread_id="thread-7")
pytestmark = pytest.mark.anyio


def draft(
    clock: FixedClock,
    customer_id: str = "BOEING",
    lines: tuple[tuple[str, int], ...] = (("SKU-TB-1001", 10),),
    **extra: Any,
) -> OrderDraft:
    return OrderDraft(
        customer_id=customer_id,
        lines=[LineRequest(sku=sku, quantity=q) for sku, q in lines],
        due_at=clock.now() + timedelta(days=20),
        **extra,
    )


async def rows(conn: db.AsyncConn, query: str, *params: object) -> list[dict[str, Any]]:
    cur = await conn.execute(query, params)  # type: ignore[arg-type]
    return await cur.fetchall()


async def count(conn: db.AsyncConn, table: str) -> int:
    return int((await rows(conn, f"select count(*) as n from {table}"))[0]["n"])


async def event_types(conn: db.AsyncConn, entity_id: str) -> list[str]:
    found = await rows(
        conn, "select type from event_log where entity_id = %s order by event_id", entity_id
    )
    return [r["type"] for r in found]


# ───────────────────────── create ─────────────────────────


async def test_creating_an_order_writes_the_order_its_lines_its_first_step_an_event_and_an_audit(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    order = await create_order(
        plant, PLANNER, draft(fixed_clock, lines=(("SKU-TB-1001", 10), ("SKU-TB-2001", 4)))
    )

    assert order.order_id == "ORD-10024"
    assert order.status == "CREATED"
    assert [(li.line_no, li.sku, li.quantity) for li in order.lines] == [
        (1, "SKU-TB-1001", 10),
        (2, "SKU-TB-2001", 4),
    ]
    assert [(e.from_status, e.to_status, e.actor) for e in order.events] == [
        (None, "CREATED", "user:planner")
    ]
    assert await event_types(plant, order.order_id) == ["order.created"]
    audit = await rows(
        plant, "select action, actor_id, thread_id from audit_log where entity_id = %s",
        order.order_id,
    )  # fmt: skip
    assert audit == [{"action": "order.create", "actor_id": "planner", "thread_id": "thread-7"}]


async def test_an_order_takes_list_prices_the_customers_region_and_priority_and_a_home_facility(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    plain = await create_order(plant, PLANNER, draft(fixed_clock, "TESLA", (("SKU-MH-4001", 5),)))
    rush = await create_order(plant, PLANNER, draft(fixed_clock, is_rush=True))

    assert plain.lines[0].unit_price == Decimal("385.00")
    assert (plain.ship_to_region, plain.priority, plain.facility_id) == ("NA-WEST", 2, "DET")
    assert (rush.is_rush, rush.priority, rush.facility_id) == (True, 1, "PHX")


async def test_a_product_outside_the_customers_divisions_is_refused_and_nothing_is_written(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    before = await count(plant, "orders")

    with pytest.raises(ValidationError, match="SKU-TB-1001 is a AERO product; TESLA's contract"):
        await create_order(plant, PLANNER, draft(fixed_clock, "TESLA"))

    assert await count(plant, "orders") == before
    assert await count(plant, "audit_log") == 0


async def test_a_rush_order_needs_a_contract_that_allows_rush(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    with pytest.raises(ValidationError, match="TESLA's contract does not allow rush orders"):
        await create_order(
            plant, PLANNER, draft(fixed_clock, "TESLA", (("SKU-MH-4001", 5),), is_rush=True)
        )


async def test_an_expired_contract_refuses_new_orders(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    await plant.execute(
        "update customers set contract_valid_until = '2026-03-01' where customer_id = 'BOEING'"
    )

    with pytest.raises(ValidationError, match="BOEING's contract ran until 2026-03-01"):
        await create_order(plant, PLANNER, draft(fixed_clock))


async def test_certified_products_need_certified_material_for_a_material_cert_customer(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    await create_order(plant, PLANNER, draft(fixed_clock))  # certified titanium is on record
    await plant.execute(
        "update batch_certificates set valid_until = issued_on where kind <> 'FAA_8130_3'"
    )

    with pytest.raises(ValidationError, match="SKU-TB-1001 must be made from certified material"):
        await create_order(plant, PLANNER, draft(fixed_clock))
    # TESLA does not require MATERIAL_CERT, and its products need no certification
    await create_order(plant, PLANNER, draft(fixed_clock, "TESLA", (("SKU-MH-4001", 5),)))


async def test_an_itar_customer_gets_aerospace_parts_only_in_north_america(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    with pytest.raises(ValidationError, match="GE_AEROSPACE requires ITAR handling.*EU-WEST"):
        await create_order(
            plant, PLANNER, draft(fixed_clock, "GE_AEROSPACE", ship_to_region="EU-WEST")
        )


async def test_unknown_customers_skus_and_facilities_are_not_found(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    with pytest.raises(NotFoundError, match="customer 'ACME' does not exist"):
        await create_order(plant, PLANNER, draft(fixed_clock, "ACME"))
    with pytest.raises(NotFoundError, match="unknown SKU SKU-NOPE-1"):
        await create_order(plant, PLANNER, draft(fixed_clock, lines=(("SKU-NOPE-1", 1),)))
    with pytest.raises(NotFoundError, match="facility 'XYZ' does not exist"):
        await create_order(plant, PLANNER, draft(fixed_clock, facility_id="XYZ"))
    with pytest.raises(ValidationError, match="no carrier ships to region 'MARS'"):
        await create_order(plant, PLANNER, draft(fixed_clock, ship_to_region="MARS"))


@pytest.mark.parametrize(
    ("lines", "extra", "message"),
    [
        ((("SKU-TB-1001", 0),), {}, "line 1 .SKU-TB-1001. quantity must be a whole number"),
        ((("SKU-TB-1001", -3),), {}, "at least 1, got -3"),
        ((), {}, "an order has 1 to 50 lines, got 0"),
        ((("SKU-TB-1001", 1), ("SKU-TB-1001", 2)), {}, "SKU-TB-1001 appears on two lines"),
        ((("SKU-TB-1001", 1),), {"priority": 9}, "priority runs from 1"),
        ((("SKU-TB-1001", 1),), {"notes": "x" * 2001}, "at most 2000"),
    ],
)
async def test_bad_order_input_is_refused_with_what_would_be_valid(
    plant: db.AsyncConn,
    fixed_clock: FixedClock,
    lines: tuple[tuple[str, int], ...],
    extra: dict[str, Any],
    message: str,
) -> None:
    with pytest.raises(ValidationError, match=message):
        await create_order(plant, PLANNER, draft(fixed_clock, lines=lines, **extra))
    assert await count(plant, "event_log") == 1  # plant.seeded only


async def test_a_due_date_in_the_past_is_refused(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    late = draft(fixed_clock).model_copy(update={"due_at": fixed_clock.now() - timedelta(hours=1)})

    with pytest.raises(ValidationError, match="is not in the future"):
        await create_order(plant, PLANNER, late)


async def test_the_same_idempotency_key_creates_one_order(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    first = await create_order(plant, PLANNER, draft(fixed_clock), idempotency_key="edi-1")
    again = await create_order(plant, PLANNER, draft(fixed_clock), idempotency_key="edi-1")

    assert again == first
    assert await event_types(plant, first.order_id) == ["order.created"]
    assert await count(plant, "orders") == 24


# ───────────────────────── read ─────────────────────────


async def test_getting_an_order_gives_its_lines_and_history(plant: db.AsyncConn) -> None:
    order = await get_order(plant, "ORD-10023")

    assert order.status == "ON_HOLD"
    assert [e.to_status for e in order.events] == ["CREATED", "VALIDATED", "ON_HOLD"]
    assert len(order.lines) == 3
    with pytest.raises(NotFoundError, match="order 'ORD-1' does not exist"):
        await get_order(plant, "ORD-1")


async def test_orders_are_found_by_customer_status_sku_and_due_date(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    boeing = await list_orders(plant, customer_id="BOEING")
    reserved = await list_orders(plant, status="RESERVED")
    with_blade = await list_orders(plant, sku="SKU-TB-2001")
    soon = await list_orders(plant, due_before=fixed_clock.now() + timedelta(days=9))
    page = await list_orders(plant, limit=5, offset=5)

    assert {o.order_id for o in boeing} == {
        "ORD-10001", "ORD-10003", "ORD-10009", "ORD-10013", "ORD-10020",
    }  # fmt: skip
    assert {o.customer_id for o in reserved} == {"BOEING", "GE_AEROSPACE", "RIVIAN", "TESLA"}
    assert all("SKU-TB-2001" in o.skus for o in with_blade) and len(with_blade) == 5
    assert all(o.due_at < fixed_clock.now() + timedelta(days=9) for o in soon)
    assert len(page) == 5
    assert [o.due_at for o in await list_orders(plant)] == sorted(
        o.due_at for o in await list_orders(plant)
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": 0}, "limit must be 1 to 500"),
        ({"limit": 501}, "limit must be 1 to 500"),
        ({"offset": -1}, "offset must be 0 to 1,000,000"),
        ({"offset": 10**20}, "offset must be 0 to 1,000,000"),
        ({"status": "LOST"}, "status 'LOST' is not one of CREATED, VALIDATED"),
    ],
)
async def test_listing_orders_refuses_bad_filters(
    plant: db.AsyncConn, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        await list_orders(plant, **kwargs)


# ───────────────────────── the lifecycle ─────────────────────────


async def test_validating_checks_the_contract_and_records_its_special_terms(
    plant: db.AsyncConn,
) -> None:
    order = await validate_order(plant, PLANNER, "ORD-10020")

    assert order.status == "VALIDATED"
    assert order.events[-1].note == "contract checked: contract, divisions, rush, material_cert"
    payload = (await rows(plant, "select payload from event_log where type = 'order.validated'"))[
        0
    ]["payload"]
    assert payload["compliance"] == ["AS9100", "FAA_8130_3", "MATERIAL_CERT"]
    assert payload["payment_terms_days"] == 45


async def test_an_order_whose_contract_lapsed_cannot_be_validated_and_stays_created(
    plant: db.AsyncConn,
) -> None:
    await plant.execute(
        "update customers set contract_valid_until = '2026-01-31' where customer_id = 'RIVIAN'"
    )

    with pytest.raises(ValidationError, match="ORD-10021 cannot be validated: RIVIAN's contract"):
        await validate_order(plant, PLANNER, "ORD-10021")

    assert (await get_order(plant, "ORD-10021")).status == "CREATED"
    assert (await review_order(plant, "ORD-10021")).ok is False


async def test_an_invalid_move_names_the_current_status_and_the_allowed_ones(
    plant: db.AsyncConn,
) -> None:
    with pytest.raises(
        InvalidTransitionError,
        match="order ORD-10017 is VALIDATED and cannot become VALIDATED; from VALIDATED it can "
        "become RESERVED, ON_HOLD, CANCELLED",
    ):
        await validate_order(plant, PLANNER, "ORD-10017")
    with pytest.raises(InvalidTransitionError, match="ORD-10001 is COMPLETED, a final status"):
        await hold_order(plant, PLANNER, "ORD-10001", reason="audit")
    with pytest.raises(InvalidTransitionError, match="from SHIPPED it can become DELIVERED"):
        await cancel_order(plant, PLANNER, "ORD-10003", reason="changed our mind")


async def test_a_hold_needs_a_reason_and_a_release_returns_the_order_where_it_was(
    plant: db.AsyncConn,
) -> None:
    with pytest.raises(ValidationError, match="a hold reason is required"):
        await hold_order(plant, PLANNER, "ORD-10015", reason="  ")

    held = await hold_order(plant, PLANNER, "ORD-10015", reason="credit check")
    with pytest.raises(InvalidTransitionError, match="ORD-10015 is ON_HOLD already .credit check."):
        await hold_order(plant, PLANNER, "ORD-10015", reason="again")
    released = await release_order(plant, PLANNER, "ORD-10015")

    assert (held.status, held.hold_reason) == ("ON_HOLD", "credit check")
    assert (released.status, released.hold_reason) == ("RESERVED", None)
    assert await event_types(plant, "ORD-10015") == ["order.held", "order.hold_released"]
    # the demo plant's held order goes back to VALIDATED, where it was held from
    assert (await release_order(plant, PLANNER, "ORD-10023")).status == "VALIDATED"


async def test_only_an_order_on_hold_can_be_released(plant: db.AsyncConn) -> None:
    with pytest.raises(InvalidTransitionError, match="ORD-10017 is VALIDATED, not ON_HOLD"):
        await release_order(plant, PLANNER, "ORD-10017")


async def test_cancelling_releases_the_orders_stock(plant: db.AsyncConn) -> None:
    held = await rows(
        plant, "select sku, facility_id, reserved from stock_levels where sku = 'SKU-TB-1001' "
        "order by facility_id",
    )  # fmt: skip

    order = await cancel_order(plant, PLANNER, "ORD-10013", reason="customer withdrew")

    after = await rows(
        plant, "select sku, facility_id, reserved from stock_levels where sku = 'SKU-TB-1001' "
        "order by facility_id",
    )  # fmt: skip
    assert (order.status, order.cancel_reason) == ("CANCELLED", "customer withdrew")
    assert sum(r["reserved"] for r in held) - sum(r["reserved"] for r in after) == 55
    assert await rows(
        plant, "select distinct status from stock_reservations where order_id = 'ORD-10013'"
    ) == [{"status": "RELEASED"}]
    assert await event_types(plant, "ORD-10013") == ["stock.released", "order.cancelled"]


async def test_production_commits_the_stock_then_the_order_is_ready(plant: db.AsyncConn) -> None:
    started = await start_production(plant, PLANNER, "ORD-10014")
    ready = await mark_ready(plant, PLANNER, "ORD-10014")

    assert (started.status, ready.status) == ("IN_PRODUCTION", "READY")
    assert await rows(
        plant, "select distinct status from stock_reservations where order_id = 'ORD-10014'"
    ) == [{"status": "COMMITTED"}]
    assert await event_types(plant, "ORD-10014") == [
        "stock.committed", "order.in_production", "order.ready",
    ]  # fmt: skip
    with pytest.raises(InvalidTransitionError, match="ORD-10017 is VALIDATED and cannot become"):
        await start_production(plant, PLANNER, "ORD-10017")


async def test_a_delivered_order_is_completed_once(plant: db.AsyncConn) -> None:
    done = await complete_order_if_delivered(plant, PLANNER, "ORD-10002")
    again = await complete_order_if_delivered(plant, PLANNER, "ORD-10002")
    under_way = await complete_order_if_delivered(plant, PLANNER, "ORD-10004")

    assert done is not None and done.status == "COMPLETED"
    assert again is None and under_way is None
    assert await event_types(plant, "ORD-10002") == ["order.completed"]
    assert await event_types(plant, "ORD-10004") == []
    with pytest.raises(InvalidTransitionError, match="ORD-10004 is SHIPPED and cannot become"):
        await complete_order(plant, PLANNER, "ORD-10004")


async def test_a_whole_order_runs_from_creation_to_reservation(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    order = await create_order(plant, PLANNER, draft(fixed_clock, "BMW", (("SKU-BRG-7014", 3),)))
    await validate_order(plant, PLANNER, order.order_id)
    reserved = await reserve_stock(plant, PLANNER, order.order_id)

    assert reserved.order_status == "RESERVED"
    assert [e.to_status for e in (await get_order(plant, order.order_id)).events] == [
        "CREATED", "VALIDATED", "RESERVED",
    ]  # fmt: skip
