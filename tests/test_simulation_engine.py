"""The simulation engine: reproducible for a seed, one per database, steerable while it runs,
and each generator doing its part of the outside world."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest
from pydantic import JsonValue

from simulation import state
from simulation.config import SimConfig
from simulation.context import poisson, rows
from simulation.engine import Engine
from simulation.world.faults import start_fault
from tools.core import db, events
from tools.core.clock import FixedClock, SimulatedClock, set_clock
from tools.core.errors import ConflictError, ValidationError

START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


async def engine_on(conn: db.AsyncConn, clock: FixedClock, *names: str, **config: Any) -> Engine:
    settings = SimConfig(**config)
    engine = Engine(conn, clock, settings.only(*names) if names else settings)  # type: ignore[arg-type]
    assert await engine.try_acquire()
    return engine


def comparable(found: list[events.Event]) -> list[tuple[str, str | None, JsonValue]]:
    """Events without what differs between identical runs (batch IDs are random)."""
    out: list[tuple[str, str | None, JsonValue]] = []
    for e in found:
        payload = {k: v for k, v in e.payload.items() if k != "batch_id"}
        entity = None if e.entity_type == "sensor_batch" else e.entity_id
        out.append((e.type, entity, payload))
    return out


async def played(conn: db.AsyncConn, clock: FixedClock, seed: int, minutes: float) -> list[Any]:
    clock.set(START)
    engine = await engine_on(conn, clock, seed=seed)
    await engine.reset(seed)
    first = (await events.since(conn, 0, limit=1))[0].event_id
    await engine.step(minutes)
    await engine.release()
    async with conn.transaction():
        found = await events.since(conn, first, limit=100_000)
    return comparable(found)


@pytest.mark.anyio
async def test_the_same_seed_plays_the_same_events(
    conn: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    first = await played(conn, fixed_clock, 7, 45)
    again = await played(conn, fixed_clock, 7, 45)
    other = await played(conn, fixed_clock, 8, 45)

    assert len(first) > 60
    assert {t for t, _, _ in first} >= {"sensor.readings_recorded", "production.recorded"}
    assert first == again
    assert first != other


def test_poisson_counts_have_the_mean_and_variance_of_their_rate() -> None:
    rng = random.Random(3)
    for mean in (0.05, 2.0, 75.0):
        draws = [poisson(rng, mean) for _ in range(20_000)]
        average = sum(draws) / len(draws)
        variance = sum((d - average) ** 2 for d in draws) / len(draws)
        tolerance = 4 * math.sqrt(mean / len(draws))
        assert abs(average - mean) < tolerance
        assert abs(variance - mean) < 0.1 * mean + tolerance


@pytest.mark.anyio
async def test_orders_arrive_at_the_configured_rate_from_customers_buying_their_divisions(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    engine = await engine_on(plant, fixed_clock, "orders", tick_s=1800)
    engine.set_rate("orders", 6.0)

    await engine.step(12 * 60)

    made = await rows(
        plant,
        "select o.order_id, o.customer_id, o.is_rush, bool_and(d.division_id is not null) as own "
        "from orders o join order_lines l on l.order_id = o.order_id "
        "join products p on p.sku = l.sku left join customer_divisions d "
        "on d.customer_id = o.customer_id and d.division_id = p.division_id "
        "where o.order_id > 'ORD-10023' group by o.order_id",
    )
    expected = 6.0 * 12
    assert abs(len(made) - expected) < 4 * math.sqrt(expected)
    assert all(o["own"] for o in made)
    assert len({o["customer_id"] for o in made}) >= 4


@pytest.mark.anyio
async def test_a_second_engine_does_not_run_while_the_first_holds_the_lock(
    plant: db.AsyncConn, fixed_clock: FixedClock, db_url: str
) -> None:
    first = await engine_on(plant, fixed_clock, "sensors")
    async with db.connection(db_url) as other_conn:
        second = Engine(other_conn, fixed_clock, SimConfig())

        assert not await second.try_acquire()
        with pytest.raises(ConflictError, match="does not hold the engine lock"):
            await second.step(1)
        status = await state.status(other_conn)
        assert status.engine_lock is not None

        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: second.acquire(poll_s=0.01))
            with anyio.fail_after(10):
                await second.waiting.wait()
            assert not second.holding
            await first.release()
        assert second.holding
        await second.step(1)
        await second.release()


@pytest.mark.anyio
async def test_generators_switch_and_take_new_rates_and_queued_commands_while_running(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    engine = await engine_on(plant, fixed_clock, "orders", tick_s=3600)
    engine.set_rate("orders", 0)
    await engine.step(120)
    assert engine.world.counts["orders"] == 0

    await state.enqueue(plant, "rate", {"generator": "orders", "value": 30.0})
    await state.enqueue(plant, "disable", {"generator": "carriers"})
    await state.enqueue(plant, "rate", {"generator": "nonsense", "value": 1.0})
    await engine.step(60)

    assert engine.config.rate("orders") == 30.0 and not engine.config.on("carriers")
    assert engine.world.counts["orders"] > 10
    done = await rows(plant, "select result from sim_commands order by command_id")
    assert [r["result"]["ok"] for r in done] == [True, True, False]
    saved = await state.load_state(plant)
    assert saved is not None and saved.generators["orders"].rate == 30.0
    assert saved.counts["orders"] == engine.world.counts["orders"]
    with pytest.raises(ValidationError, match="unknown generator"):
        engine.enable("weather")


@pytest.mark.anyio
async def test_reset_restores_the_baseline(plant: db.AsyncConn, fixed_clock: FixedClock) -> None:
    counts = "select (select count(*) from orders) as orders, (select count(*) from shipments) " \
        "as shipments, (select count(*) from sensor_readings) as readings, " \
        "(select count(*) from sim_ground_truth) as faults, (select string_agg(status, ',' " \
        "order by machine_id) from equipment) as statuses"  # fmt: skip
    baseline = await rows(plant, counts)
    engine = await engine_on(plant, fixed_clock, "sensors", "orders", "fulfilment", "carriers")
    engine.set_rate("orders", 20)
    engine.delay_supplier("NIPPONBEARING")
    await start_fault(
        plant, machine_id="PHX-CNC-007", pattern="MOTOR_BURNOUT",
        failure_at=fixed_clock.now() + timedelta(hours=1),
    )  # fmt: skip
    await engine.step(30)
    assert await rows(plant, counts) != baseline

    fixed_clock.set(START)
    await engine.reset(42)

    assert await rows(plant, counts) == baseline
    assert engine.config.delayed_suppliers == [] and not engine.world.counts


@pytest.mark.anyio
async def test_machines_stop_when_their_last_shift_ends_and_count_parts_while_they_run(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    fixed_clock.set(datetime(2026, 3, 2, 20, 30, tzinfo=UTC))  # Munich's late shift ends at 21:00
    engine = await engine_on(plant, fixed_clock, "production", tick_s=300)

    await engine.step(60)

    muc = await rows(
        plant, "select machine_id, status from equipment where facility_id = 'MUC' "
        "and machine_id in ('MUC-CNC-001', 'MUC-CNC-002', 'MUC-GRD-001') order by machine_id",
    )  # fmt: skip
    assert {m["status"] for m in muc} == {"IDLE"}
    made = await rows(
        plant, "select sum(parts_produced) as parts, sum(runtime_minutes) as runtime "
        "from production_counters where shift_name = 'LATE' and shift_date = '2026-03-02'",
    )  # fmt: skip
    assert made[0]["parts"] > 0 and 0 < made[0]["runtime"]


@pytest.mark.anyio
async def test_a_delayed_suppliers_orders_slip_while_the_others_arrive(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    engine = await engine_on(plant, fixed_clock, "suppliers")
    engine.set_rate("suppliers", 0)
    engine.delay_supplier("NIPPONBEARING")
    fixed_clock.advance(timedelta(days=70))

    await engine.step(1)

    found = await rows(
        plant, "select supplier_id, status, delay_reason from purchase_orders order by po_id"
    )
    for po in found:
        if po["supplier_id"] == "NIPPONBEARING":
            assert po["status"] == "DELAYED" and "backlog" in po["delay_reason"]
        else:
            assert po["status"] in ("IN_TRANSIT", "RECEIVED")


@pytest.mark.anyio
async def test_carriers_deliver_what_is_on_the_road_and_the_reactors_complete_the_orders(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    engine = await engine_on(plant, fixed_clock, "carriers", "reactors", tick_s=3600)
    engine.set_rate("carriers", 0)
    on_the_road = "select s.shipment_id, s.status, o.status as order_status from shipments s " \
        "join orders o on o.order_id = s.order_id where s.shipment_id = any(%(ids)s)"  # fmt: skip
    moving = [r["shipment_id"] for r in await rows(
        plant, "select shipment_id from shipments where status <> 'DELIVERED'")]  # fmt: skip

    await engine.step(6 * 24 * 60)

    found = await rows(plant, on_the_road, {"ids": moving})
    assert len(found) == len(moving) >= 4
    assert {s["status"] for s in found} == {"DELIVERED"}
    assert {s["order_status"] for s in found} == {"COMPLETED"}
    scans = await rows(plant, "select count(*) as n from shipment_events where status = "
                              "'OUT_FOR_DELIVERY' and at > %(t)s", {"t": START})  # fmt: skip
    assert scans[0]["n"] >= 4


@pytest.mark.anyio
async def test_customers_ask_to_expedite_a_delayed_shipment_once(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    engine = await engine_on(plant, fixed_clock, "customers")
    engine.set_rate("customers", 1.0)

    await engine.step(5)

    asked = await rows(
        plant, "select i.kind, i.order_id from customer_inquiries i join shipments s "
        "on s.order_id = i.order_id and s.status = 'DELAYED' where i.kind = 'EXPEDITE'",
    )  # fmt: skip
    assert len(asked) == 1


@pytest.mark.anyio
async def test_a_paused_engine_holds_plant_time_and_picks_up_where_it_stopped(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    wall = [0.0]
    plant_clock = SimulatedClock(START, 60.0, monotonic=lambda: wall[0])
    previous = set_clock(plant_clock)
    try:
        engine = Engine(plant, plant_clock, SimConfig().only("sensors"))
        assert await engine.try_acquire()
        engine.pause()
        wall[0] += 600
        assert plant_clock.now() == START and engine.paused
        engine.resume()
        wall[0] += 2
        assert plant_clock.now() == START + timedelta(minutes=2)
        engine.set_speed(120)
        wall[0] += 1
        assert plant_clock.now() == START + timedelta(minutes=4)
        with pytest.raises(ValidationError, match="speed"):
            engine.set_speed(0)
    finally:
        set_clock(previous)
