"""Reactors answer events exactly once: notices, order completion, work orders, purchasing."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from tools.core import clock, db
from tools.core.clock import FixedClock
from tools.core.operations import Actor
from tools.core.settings import Settings
from tools.inventory import stock as inventory
from tools.logistics.tracking import advance_shipment, deliver_shipment
from tools.machine_data import sensors
from tools.maintenance.anomalies import detect_anomalies
from tools.orders.contracts import LineRequest, OrderDraft
from tools.orders.orders import create_order, get_order
from tools.reactors import rules as reactors

PLANNER = Actor(type="user", id="planner")


async def rows(conn: db.AsyncConn, query: str, *params: object) -> list[dict[str, object]]:
    cur = await conn.execute(query, params)  # type: ignore[arg-type]
    return await cur.fetchall()


@pytest.mark.anyio
async def test_delivery_of_the_last_shipment_completes_the_order_and_asks_for_feedback(
    plant: db.AsyncConn,
) -> None:
    await advance_shipment(plant, PLANNER, "SHP-7005", "OUT_FOR_DELIVERY", location="Austin, US")
    await deliver_shipment(plant, PLANNER, "SHP-7005", location="Austin, US")

    handled = await reactors.process_pending(plant)

    assert handled >= 1
    (order,) = await rows(plant, "select status from orders where order_id = 'ORD-10004'")
    assert order["status"] == "COMPLETED"
    subjects = await rows(
        plant,
        "select subject from notifications where entity_type = 'shipment' "
        "and entity_id = 'SHP-7005' order by notification_id",
    )
    assert len(subjects) == 2
    assert any("How did we do" in str(s["subject"]) for s in subjects)


@pytest.mark.anyio
async def test_an_event_handled_twice_or_by_two_processes_reacts_once(
    plant: db.AsyncConn, db_url: str
) -> None:
    await advance_shipment(plant, PLANNER, "SHP-7007", "OUT_FOR_DELIVERY", location="Fremont, US")
    await deliver_shipment(plant, PLANNER, "SHP-7007", location="Fremont, US")

    async def processor() -> int:
        async with db.connection(db_url) as conn:
            return await reactors.process_pending(conn)

    await asyncio.gather(*(processor() for _ in range(4)))
    await reactors.process_pending(plant)

    notices = await rows(
        plant, "select count(*) as n from notifications where entity_id = 'SHP-7007'"
    )
    runs = await rows(
        plant,
        "select reactor, outcome from reactor_runs r join event_log e using (event_id) "
        "where e.type = 'shipment.delivered' and e.entity_id = 'SHP-7007'",
    )
    assert notices == [{"n": 2}]
    assert runs == [{"reactor": "delivery_follow_up", "outcome": "DONE"}]


@pytest.mark.anyio
async def test_low_stock_is_answered_with_a_suggested_purchase_order(plant: db.AsyncConn) -> None:
    await inventory.adjust_stock(
        plant, PLANNER, "SKU-BRG-7014", "PHX", delta=-1, reason="used on PHX-CNC-012",
        kind="CONSUMPTION",
    )  # fmt: skip

    await reactors.process_pending(plant)

    suggested = await rows(
        plant,
        "select payload->>'supplier_id' as supplier, (payload->>'quantity')::int as quantity "
        "from event_log where type = 'purchase_order.suggested'",
    )
    assert len(suggested) == 1
    assert suggested[0]["supplier"] == "NIPPONBEARING"
    assert int(suggested[0]["quantity"]) >= 1  # type: ignore[call-overload]
    alerts = await rows(
        plant, "select subject from notifications where entity_id = 'SKU-BRG-7014@PHX'"
    )
    assert any("Low stock" in str(a["subject"]) for a in alerts)
    assert any("Suggested purchase" in str(a["subject"]) for a in alerts)
    assert (
        await rows(
            plant,
            "select po_id from purchase_orders where status = 'PENDING' "
            "and sku = 'SKU-BRG-7014' and facility_id = 'PHX'",
        )
        == []
    )


@pytest.mark.anyio
async def test_with_auto_purchase_low_stock_raises_one_purchase_order(
    plant: db.AsyncConn,
) -> None:
    auto = Settings(reactor_auto_purchase=True)
    await inventory.adjust_stock(
        plant, PLANNER, "SKU-BRG-7014", "PHX", delta=-1, reason="scrapped", kind="SCRAP"
    )

    await reactors.process_pending(plant, settings=auto)
    await reactors.process_pending(plant, settings=auto)

    pos = await rows(
        plant,
        "select supplier_id, quantity from purchase_orders where sku = 'SKU-BRG-7014' "
        "and facility_id = 'PHX' and status = 'PENDING'",
    )
    assert len(pos) == 1 and pos[0]["supplier_id"] == "NIPPONBEARING"


@pytest.mark.anyio
async def test_a_critical_anomaly_opens_one_work_order_and_alerts_maintenance(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    start = clock.now() - timedelta(minutes=30)
    readings = [
        sensors.Reading(
            machine_id="PHX-CNC-007", sensor="vibration", ts=start + timedelta(minutes=i),
            value=2.0 + 0.4 * i + (0.05 if i % 2 else -0.05),
        )
        for i in range(30)
    ]  # fmt: skip
    await sensors.record_readings(plant, PLANNER, readings=readings)
    report = await detect_anomalies(plant, PLANNER, machine_ids=["PHX-CNC-007"])
    assert any(a.severity == "CRITICAL" for a in report.written)

    await reactors.process_pending(plant)
    await reactors.process_pending(plant)

    orders = await rows(
        plant,
        "select kind, priority from work_orders where machine_id = 'PHX-CNC-007' "
        "and status = 'OPEN' and kind in ('CORRECTIVE', 'PREDICTIVE')",
    )
    assert len(orders) == 1 and orders[0]["priority"] == "CRITICAL"
    alerts = await rows(plant, "select recipient from notifications where entity_type = 'anomaly'")
    assert alerts


@pytest.mark.anyio
async def test_a_validated_order_without_special_terms_gets_no_reminder(
    plant: db.AsyncConn,
) -> None:
    from tools.core.events import emit

    async with plant.transaction():
        event = await emit(
            plant, "order.validated", source="user", entity_type="order", entity_id="ORD-10004"
        )
        await plant.execute(
            "delete from customer_compliance where customer_id = "
            "(select customer_id from orders where order_id = 'ORD-10004')"
        )
        await plant.execute("update orders set is_rush = false where order_id = 'ORD-10004'")

    outcomes = await reactors.react(plant, event)

    assert outcomes["contract_terms_reminder"].startswith("SKIPPED")
    assert (
        await rows(plant, "select 1 from notifications where source_event_id = %s", event.event_id)
        == []
    )


@pytest.mark.anyio
async def test_a_new_order_is_validated_by_the_plant_rules_or_held_with_the_broken_term(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    def draft(customer_id: str, sku: str) -> OrderDraft:
        due = fixed_clock.now() + timedelta(days=20)
        return OrderDraft(
            customer_id=customer_id, lines=[LineRequest(sku=sku, quantity=4)], due_at=due
        )

    good = await create_order(plant, PLANNER, draft("TESLA", "SKU-MH-4001"))
    lapsing = await create_order(plant, PLANNER, draft("RIVIAN", "SKU-MH-4001"))
    # Rivian's contract lapses before the rules see the order.
    await plant.execute(
        "update customers set contract_valid_until = %s where customer_id = 'RIVIAN'",
        (fixed_clock.now().date() - timedelta(days=1),),
    )

    await reactors.process_pending(plant)
    await reactors.process_pending(plant)  # a second pass changes nothing

    assert (await get_order(plant, good.order_id)).status == "VALIDATED"
    held = await get_order(plant, lapsing.order_id)
    assert held.status == "ON_HOLD"
    assert held.hold_reason is not None and "RIVIAN's contract" in held.hold_reason
    moves = await rows(
        plant,
        "select to_status from order_events where order_id = %s order by order_event_id",
        lapsing.order_id,
    )
    assert [m["to_status"] for m in moves] == ["CREATED", "ON_HOLD"]
    runs = await rows(
        plant,
        "select r.outcome from reactor_runs r join event_log e using (event_id) "
        "where r.reactor = 'order_validation' and e.entity_id in (%s, %s)",
        good.order_id,
        lapsing.order_id,
    )
    assert [r["outcome"] for r in runs] == ["DONE", "DONE"]
