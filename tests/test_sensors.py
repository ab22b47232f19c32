"""Sensor readings recorded in batches, and the thresholds they are judged by."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import pytest

from tools.core import db, events
from tools.core.clock import FixedClock
from tools.core.errors import ConflictError, NotFoundError, ValidationError
from tools.core.operations import Actor
from tools.machine_data.sensors import SENSOR_UNITS, Reading, record_readings
from tools.machine_data.thresholds import (
    clear_threshold,
    get_thresholds,
    set_threshold,
    vibration_class,
)

SIM = Actor(type="simulator", id="sensors")
ENGINEER = Actor(type="user", id="maint-eng")


def series(machine_id: str, sensor: str, end: datetime, values: list[float]) -> list[Reading]:
    """Readings ten seconds apart, the last at `end`."""
    n = len(values)
    return [
        Reading(machine_id=machine_id, sensor=sensor, ts=end - timedelta(seconds=10 * (n - 1 - i)),
                value=v)
        for i, v in enumerate(values)
    ]  # fmt: skip


async def scalar(conn: db.AsyncConn, query: str, *params: object) -> Any:
    cur = await conn.execute(query, params)
    row = await cur.fetchone()
    assert row is not None
    return next(iter(row.values()))


@pytest.mark.anyio
async def test_a_batch_is_stored_with_one_event_and_one_audit_row_and_moves_the_heartbeat(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    now = fixed_clock.now()
    batch = series("PHX-CNC-007", "vibration", now, [2.0 + i / 100 for i in range(50)])
    batch += series("MUC-CNC-001", "temperature", now - timedelta(seconds=5), [41.0] * 30)
    after = await scalar(plant, "select max(event_id) from event_log")

    result = await record_readings(plant, SIM, readings=batch)

    assert (result.readings, result.machines) == (80, 2)
    assert result.per_machine == {"PHX-CNC-007": 50, "MUC-CNC-001": 30}
    assert result.per_sensor == {"vibration": 50, "temperature": 30}
    assert await scalar(plant, "select count(*) from sensor_readings") == 80
    assert (
        await scalar(plant, "select unit from sensor_readings where sensor = 'temperature' limit 1")
        == "°C"
    )
    logged = await events.since(plant, after)
    assert [e.type for e in logged] == ["sensor.readings_recorded"]
    assert logged[0].payload["readings"] == 80
    assert await scalar(plant, "select count(*) from audit_log") == 1
    heartbeats = await plant.execute(
        "select machine_id, last_heartbeat_at from equipment "
        "where machine_id in ('PHX-CNC-007', 'MUC-CNC-001') order by machine_id"
    )
    assert await heartbeats.fetchall() == [
        {"machine_id": "MUC-CNC-001", "last_heartbeat_at": now - timedelta(seconds=5)},
        {"machine_id": "PHX-CNC-007", "last_heartbeat_at": now},
    ]


@pytest.mark.anyio
async def test_an_older_batch_does_not_move_the_heartbeat_back(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    now = fixed_clock.now()
    await record_readings(plant, SIM, readings=series("PHX-CNC-007", "power", now, [20.0]))
    old = now - timedelta(hours=2)

    await record_readings(plant, SIM, readings=series("PHX-CNC-007", "power", old, [21.0]))

    assert (
        await scalar(
            plant, "select last_heartbeat_at from equipment where machine_id = 'PHX-CNC-007'"
        )
        == now
    )


@pytest.mark.anyio
async def test_ten_thousand_readings_for_every_machine_go_in_one_batch(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    cur = await plant.execute("select machine_id from equipment order by machine_id")
    machines = [row["machine_id"] for row in await cur.fetchall()]
    sensors = list(SENSOR_UNITS)
    batch: list[Reading] = []
    for m in machines:
        for s in sensors:
            batch += series(m, s, fixed_clock.now(), [1.0 + (i % 7) for i in range(60)])

    result = await record_readings(plant, SIM, readings=batch[:10_000])

    assert result.readings == 10_000
    assert await scalar(plant, "select count(*) from sensor_readings") == 10_000
    assert await scalar(plant, "select count(*) from event_log where type like 'sensor.%%'") == 1


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("reading", "message"),
    [
        ({"sensor": "humidity"}, "sensor 'humidity' is unknown; sensors are vibration"),
        ({"unit": "in/s"}, "unit 'in/s' is wrong; vibration is measured in mm/s"),
        ({"value": math.nan}, "value nan is impossible; it must be a finite number"),
        ({"value": math.inf}, "value inf is impossible"),
        ({"value": -0.5}, "value -0.5 is impossible; .* at least 0.0 mm/s"),
        ({"ts": datetime(2026, 3, 2, 5, 0)}, "has no timezone"),
        ({"ts_ahead": timedelta(minutes=6)}, "is in the future"),
    ],
)
async def test_a_bad_reading_is_refused_with_its_index_and_nothing_is_written(
    plant: db.AsyncConn, fixed_clock: FixedClock, reading: dict[str, Any], message: str
) -> None:
    good = series("PHX-CNC-007", "vibration", fixed_clock.now() - timedelta(minutes=1), [2.0] * 3)
    fields: dict[str, Any] = {"machine_id": "PHX-CNC-007", "sensor": "vibration",
                              "ts": fixed_clock.now(), "value": 2.0} | reading  # fmt: skip
    if "ts_ahead" in fields:
        fields["ts"] = fixed_clock.now() + fields.pop("ts_ahead")
    events_before = await scalar(plant, "select count(*) from event_log")

    with pytest.raises(ValidationError, match=f"reading 3 .*{message}"):
        await record_readings(plant, SIM, readings=[*good, Reading(**fields)])

    assert await scalar(plant, "select count(*) from sensor_readings") == 0
    assert await scalar(plant, "select count(*) from event_log") == events_before


@pytest.mark.anyio
async def test_readings_for_unknown_machines_are_refused_naming_them(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    batch = series("PHX-CNC-007", "vibration", fixed_clock.now(), [2.0])
    batch += series("PHX-CNC-099", "vibration", fixed_clock.now(), [2.0])
    batch += series("XYZ-CNC-001", "vibration", fixed_clock.now(), [2.0])

    with pytest.raises(NotFoundError, match="do not exist: PHX-CNC-099, XYZ-CNC-001"):
        await record_readings(plant, SIM, readings=batch)
    assert await scalar(plant, "select count(*) from sensor_readings") == 0


@pytest.mark.anyio
async def test_an_empty_batch_and_a_reading_twice_in_a_batch_are_refused(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    twice = series("PHX-CNC-007", "vibration", fixed_clock.now(), [2.0]) * 2

    with pytest.raises(ValidationError, match="1 to 100000 readings, got 0"):
        await record_readings(plant, SIM, readings=[])
    with pytest.raises(ValidationError, match="reading 1: PHX-CNC-007 vibration at .* twice"):
        await record_readings(plant, SIM, readings=twice)


@pytest.mark.anyio
async def test_a_reading_already_stored_is_a_conflict_and_the_batch_writes_nothing(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    first = series("PHX-CNC-007", "vibration", fixed_clock.now(), [2.0, 2.1])
    await record_readings(plant, SIM, readings=first)
    again = series("PHX-CNC-005", "vibration", fixed_clock.now(), [1.0]) + first[1:]

    with pytest.raises(ConflictError, match="sensor_readings"):
        await record_readings(plant, SIM, readings=again)
    assert await scalar(plant, "select count(*) from sensor_readings") == 2


@pytest.mark.anyio
async def test_a_batch_retried_with_its_idempotency_key_is_stored_once(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    batch = series("PHX-CNC-007", "vibration", fixed_clock.now(), [2.0, 2.1, 2.2])

    first = await record_readings(plant, SIM, readings=batch, idempotency_key="batch-1")
    again = await record_readings(plant, SIM, readings=batch, idempotency_key="batch-1")

    assert again == first
    assert await scalar(plant, "select count(*) from sensor_readings") == 3
    assert await scalar(plant, "select count(*) from audit_log") == 1


# ───────────────────────── thresholds ─────────────────────────


@pytest.mark.anyio
async def test_a_machine_has_its_own_thresholds_and_falls_back_to_the_global_ones(
    plant: db.AsyncConn,
) -> None:
    found = {t.sensor: t for t in await get_thresholds(plant, "PHX-CNC-007")}

    assert (found["vibration"].warning, found["vibration"].critical) == (4.0, 6.3)
    assert found["vibration"].source == "machine"
    assert (found["temperature"].warning, found["temperature"].critical) == (65.0, 80.0)
    assert found["temperature"].source == "global"
    assert found["coolant_pressure"].direction == "BELOW"
    assert set(found) == set(SENSOR_UNITS)


@pytest.mark.anyio
async def test_a_small_machine_gets_the_tighter_vibration_limits_of_its_class(
    plant: db.AsyncConn,
) -> None:
    cmm = {t.sensor: t for t in await get_thresholds(plant, "PHX-CMM-001")}
    mill = {t.sensor: t for t in await get_thresholds(plant, "PHX-CNC-005")}

    assert (cmm["vibration"].warning, cmm["vibration"].critical) == (1.8, 4.5)
    assert cmm["vibration"].source == "iso_class"
    assert (mill["vibration"].warning, mill["vibration"].critical) == (4.5, 7.1)
    assert mill["vibration"].source == "global"


def test_vibration_zones_follow_the_machine_class() -> None:
    medium = vibration_class(35.0)

    assert "group 2" in medium.name
    assert [medium.zone(v) for v in (1.0, 2.3, 4.4, 4.5, 7.0, 7.1, 12.0)] == [
        "A", "B", "B", "C", "C", "D", "D"
    ]  # fmt: skip
    assert vibration_class(3.5).cd == 4.5
    assert vibration_class(450.0).cd == 11.0


@pytest.mark.anyio
async def test_setting_a_machine_threshold_overrides_the_global_one_and_is_audited(
    plant: db.AsyncConn,
) -> None:
    changed = await set_threshold(
        plant, ENGINEER, machine_id="PHX-CNC-005", sensor="temperature", warning=60, critical=72
    )

    assert (changed.warning, changed.critical, changed.source) == (60, 72, "machine")
    found = {t.sensor: t for t in await get_thresholds(plant, "PHX-CNC-005")}
    assert (found["temperature"].warning, found["temperature"].source) == (60, "machine")
    other = {t.sensor: t for t in await get_thresholds(plant, "PHX-CNC-003")}
    assert other["temperature"].warning == 65
    cur = await plant.execute("select action, entity_id, before, after from audit_log")
    assert await cur.fetchall() == [
        {"action": "set_threshold", "entity_id": "PHX-CNC-005/temperature", "before": None,
         "after": {"direction": "ABOVE", "warning": 60.0, "critical": 72.0}}
    ]  # fmt: skip


@pytest.mark.anyio
async def test_changing_the_global_threshold_moves_every_machine_without_its_own(
    plant: db.AsyncConn,
) -> None:
    await set_threshold(plant, ENGINEER, sensor="motor_current", warning=40, critical=50)

    found = {t.sensor: t for t in await get_thresholds(plant, "MUC-CNC-001")}
    assert (found["motor_current"].warning, found["motor_current"].critical) == (40, 50)
    cur = await plant.execute("select before from audit_log")
    assert await cur.fetchone() == {
        "before": {"direction": "ABOVE", "warning": 38.0, "critical": 45.0}
    }


@pytest.mark.anyio
async def test_clearing_a_machine_threshold_brings_back_the_global_one(
    plant: db.AsyncConn,
) -> None:
    now_in_force = await clear_threshold(
        plant, ENGINEER, machine_id="PHX-CNC-007", sensor="vibration"
    )

    assert now_in_force is not None
    assert (now_in_force.warning, now_in_force.critical, now_in_force.source) == (
        4.5, 7.1, "global"
    )  # fmt: skip
    with pytest.raises(NotFoundError, match="has no 'vibration' threshold of its own"):
        await clear_threshold(plant, ENGINEER, machine_id="PHX-CNC-007", sensor="vibration")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        ({"sensor": "vibration", "warning": 5.0, "critical": 4.0}, ValidationError,
         "critical 4.0 must lie above warning 5.0"),
        ({"sensor": "coolant_pressure", "warning": 3.0, "critical": 3.5}, ValidationError,
         "critical 3.5 must lie below warning 3.0"),
        ({"sensor": "noise", "warning": 1.0, "critical": 2.0}, ValidationError,
         "sensor 'noise' is unknown"),
        ({"sensor": "power", "warning": 1.0, "critical": math.inf}, ValidationError,
         "must be finite"),
        ({"sensor": "power", "warning": 1.0, "critical": 2.0, "direction": "SIDEWAYS"},
         ValidationError, "use ABOVE or BELOW"),
        ({"sensor": "power", "warning": 1.0, "critical": 2.0, "machine_id": "PHX-CNC-404"},
         NotFoundError, "machine 'PHX-CNC-404' does not exist"),
    ],
)  # fmt: skip
async def test_a_bad_threshold_is_refused_and_changes_nothing(
    plant: db.AsyncConn, args: dict[str, Any], error: type[Exception], message: str
) -> None:
    args.setdefault("machine_id", "PHX-CNC-003")

    with pytest.raises(error, match=message):
        await set_threshold(plant, ENGINEER, **args)

    assert await scalar(plant, "select count(*) from audit_log") == 0
    assert await scalar(plant, "select count(*) from sensor_thresholds") == 11
