"""History backfill: the expected readings, counters, orders and faults, quickly, and before
whatever is already stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from simulation.backfill import BackfillProgress, backfill
from simulation.context import rows
from simulation.world.faults import ground_truth
from tools.core import db
from tools.core.clock import FixedClock
from tools.inventory.stock import ledger_mismatches

TUESDAY = datetime(2026, 3, 3, 6, 0, tzinfo=UTC)
TWO = ["MUC-CNC-002", "PHX-CNC-012"]


@pytest.mark.anyio
async def test_a_day_of_history_writes_every_minute_of_every_sensor_but_the_failed_hours(
    plant: db.AsyncConn, fixed_clock: FixedClock, db_url: str
) -> None:
    fixed_clock.set(TUESDAY)
    told: list[BackfillProgress] = []

    report = await backfill(
        db_url, 1, machine_ids=TWO, motor_failure=("MUC-CNC-002", 0.5), sensor_drift=None,
        progress=told.append,
    )  # fmt: skip

    [burnout] = await ground_truth(plant, "MUC-CNC-002")
    assert burnout.pattern == "MOTOR_BURNOUT" and burnout.source == "backfill"
    assert burnout.failure_at == TUESDAY - timedelta(hours=12)
    assert burnout.ended_at is not None and burnout.ended_at > burnout.failure_at
    silent = sum(
        1 for k in range(1, 1441)
        if burnout.failure_at <= report.start + timedelta(minutes=k) < burnout.ended_at
    )  # fmt: skip
    assert report.readings == (2 * 1440 - silent) * 7
    stored = await rows(
        plant, "select machine_id, count(*) as n, min(ts) as first, max(ts) as last "
        "from sensor_readings group by machine_id order by machine_id",
    )  # fmt: skip
    assert [(r["machine_id"], r["n"]) for r in stored] == [
        ("MUC-CNC-002", (1440 - silent) * 7), ("PHX-CNC-012", 1440 * 7)
    ]  # fmt: skip
    assert stored[1]["first"] == TUESDAY - timedelta(days=1, minutes=-1)
    assert stored[1]["last"] == TUESDAY
    counters = await rows(
        plant, "select count(*) as n from production_counters where machine_id = any(%(m)s) "
        "and updated_at > %(t)s", {"m": TWO, "t": report.start},
    )  # fmt: skip
    assert report.counters == counters[0]["n"] > 0
    assert [p.done for p in told] == [1, 2, 3] and told[-1].total == 3
    [event] = await rows(
        plant, "select payload from event_log where type = 'simulation.backfilled'"
    )
    assert event["payload"]["readings"] == report.readings


@pytest.mark.anyio
async def test_burnout_and_drift_show_in_the_history_of_their_machines(
    plant: db.AsyncConn, fixed_clock: FixedClock, db_url: str
) -> None:
    fixed_clock.set(TUESDAY)

    await backfill(db_url, 1, machine_ids=TWO, motor_failure=("MUC-CNC-002", 0.5),
                   sensor_drift=("PHX-CNC-012", 0.3))  # fmt: skip

    faults = {t.machine_id: t for t in await ground_truth(plant)}
    peak = await rows(
        plant, "select max(value) as top from sensor_readings where machine_id = 'MUC-CNC-002' "
        "and sensor = 'motor_current' and ts < %(f)s", {"f": faults["MUC-CNC-002"].failure_at},
    )  # fmt: skip
    assert peak[0]["top"] > 45.0
    drift = faults["PHX-CNC-012"]
    vibration = await rows(
        plant, "select percentile_cont(0.5) within group (order by value) as level "
        "from sensor_readings where machine_id = 'PHX-CNC-012' and sensor = 'vibration' "
        "and ts between %(a)s and %(b)s",
        {"a": drift.failure_at - timedelta(minutes=30), "b": drift.failure_at},
    )  # fmt: skip
    assert vibration[0]["level"] > 4.0


@pytest.mark.anyio
async def test_history_orders_are_completed_delivered_and_keep_the_ledger_balanced(
    plant: db.AsyncConn, fixed_clock: FixedClock, db_url: str
) -> None:
    fixed_clock.set(TUESDAY)

    report = await backfill(
        db_url, 12, machine_ids=["PHX-CMM-001"], motor_failure=None, sensor_drift=None,
        orders_per_day=10,
    )  # fmt: skip

    assert report.orders > 5 and report.shipments == report.orders
    history = await rows(
        plant, "select o.status, o.created_at, s.status as shipped, s.delivered_at from orders o "
        "join shipments s on s.order_id = o.order_id where o.notes = 'history'",
    )  # fmt: skip
    assert len(history) == report.orders
    assert {(h["status"], h["shipped"]) for h in history} == {("COMPLETED", "DELIVERED")}
    assert all(report.start <= h["created_at"] < h["delivered_at"] < TUESDAY for h in history)
    async with plant.transaction():
        assert await ledger_mismatches(plant) == []


@pytest.mark.anyio
async def test_a_second_backfill_goes_further_back_before_the_first(
    plant: db.AsyncConn, fixed_clock: FixedClock, db_url: str
) -> None:
    fixed_clock.set(TUESDAY)
    first = await backfill(db_url, 0.5, machine_ids=["PHX-CMM-001"], motor_failure=None,
                           sensor_drift=None, orders_per_day=0)  # fmt: skip

    second = await backfill(db_url, 0.5, machine_ids=["PHX-CMM-001"], motor_failure=None,
                            sensor_drift=None, orders_per_day=0)  # fmt: skip

    assert second.end == first.start and second.readings == first.readings == 720 * 7
