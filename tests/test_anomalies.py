"""Anomaly detection over a recent window, and fault classification from the sensor signature."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest

from tools.core import db, events
from tools.core.clock import FixedClock
from tools.core.errors import InvalidTransitionError, NotFoundError
from tools.core.operations import Actor
from tools.machine_data.sensors import Reading, record_readings
from tools.maintenance.anomalies import detect_anomalies, list_anomalies, set_anomaly_status
from tools.maintenance.faults import classify_fault

SIM = Actor(type="simulator", id="sensors")
DETECTOR = Actor(type="system", id="anomaly-detector")
NORMAL = {"vibration": 1.5, "temperature": 40.0, "spindle_speed": 8000.0, "spindle_load": 50.0,
          "coolant_pressure": 6.0, "motor_current": 25.0, "power": 15.0}  # fmt: skip


def wobble(level: float, n: int = 60, amplitude: float = 0.02) -> list[float]:
    """`n` values around `level`, deterministic, no trend."""
    return [level * (1 + amplitude * math.sin(i * 2.1)) for i in range(n)]


def ramp(start: float, per_hour: float, n: int = 60, noise: float = 0.01) -> list[float]:
    """One reading a minute rising `per_hour`, with a little deterministic noise."""
    return [start + per_hour * i / 60 + noise * math.sin(i * 1.7) for i in range(n)]


async def put(
    conn: db.AsyncConn, machine_id: str, end: datetime, **series: float | Sequence[float]
) -> None:
    """Readings a minute apart up to `end` (an hour, or as many as the longest series given):
    every sensor normal unless given a level or values."""
    n = max((len(v) for v in series.values() if not isinstance(v, float | int)), default=60)
    batch: list[Reading] = []
    for sensor, normal in NORMAL.items():
        given = series.get(sensor, normal)
        values = wobble(given, n) if isinstance(given, float | int) else list(given)
        batch += [
            Reading(machine_id=machine_id, sensor=sensor, value=v,
                    ts=end - timedelta(minutes=len(values) - 1 - i))
            for i, v in enumerate(values)
        ]  # fmt: skip
    await record_readings(conn, SIM, readings=batch)


# ───────────────────────── detection ─────────────────────────


@pytest.mark.anyio
async def test_vibration_past_the_machines_own_limit_is_an_anomaly_in_its_iso_zone(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    await put(plant, "PHX-CNC-007", fixed_clock.now(), vibration=5.0)
    after = (await events.since(plant, 0))[-1].event_id

    report = await detect_anomalies(plant, DETECTOR, machine_ids=["PHX-CNC-007"])

    [anomaly] = report.written
    assert (anomaly.sensor, anomaly.kind, anomaly.severity, anomaly.threshold) == (
        "vibration", "THRESHOLD", "WARNING", 4.0
    )  # fmt: skip
    assert anomaly.details["zone"] == "C"
    assert "ISO 10816 zone C (ISO 10816-3 group 2" in anomaly.description
    assert anomaly.detected_at == fixed_clock.now()
    [event] = await events.since(plant, after)
    assert (event.type, event.entity_type, event.entity_id) == (
        "sensor.anomaly", "anomaly", str(anomaly.anomaly_id)
    )  # fmt: skip
    assert event.payload["machine_id"] == "PHX-CNC-007"
    assert event.payload["facility_id"] == "PHX"
    assert event.payload["severity"] == "WARNING"


@pytest.mark.anyio
async def test_detection_rerun_over_the_same_data_writes_nothing_new(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    await put(plant, "PHX-CNC-007", fixed_clock.now(), vibration=5.0)
    first = await detect_anomalies(plant, DETECTOR)

    again = await detect_anomalies(plant, DETECTOR)
    fixed_clock.advance(timedelta(minutes=2))
    later = await detect_anomalies(plant, DETECTOR)

    assert len(first.written) == 1
    assert (len(again.findings), again.written, later.written) == (1, [], [])
    cur = await plant.execute("select count(*) as n from event_log where type = 'sensor.anomaly'")
    assert await cur.fetchone() == {"n": 1}


@pytest.mark.anyio
async def test_an_escalation_to_critical_is_a_new_anomaly_and_a_resolved_one_can_recur(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    await put(plant, "PHX-CNC-007", fixed_clock.now(), vibration=5.0)
    [warning] = (await detect_anomalies(plant, DETECTOR)).written
    fixed_clock.advance(timedelta(minutes=30))
    await put(plant, "PHX-CNC-007", fixed_clock.now(), vibration=wobble(6.8, 10))

    [critical] = (await detect_anomalies(plant, DETECTOR, window_minutes=10)).written
    await set_anomaly_status(plant, DETECTOR, anomaly_id=critical.anomaly_id, status="RESOLVED")
    fixed_clock.advance(timedelta(minutes=1))
    await put(plant, "PHX-CNC-007", fixed_clock.now(), vibration=[6.9])
    recurred = (await detect_anomalies(plant, DETECTOR, window_minutes=10)).written

    assert (warning.severity, critical.severity, critical.threshold) == ("WARNING", "CRITICAL", 6.3)
    assert [(a.kind, a.severity) for a in recurred] == [("THRESHOLD", "CRITICAL")]


@pytest.mark.anyio
async def test_rising_vibration_is_a_trend_anomaly_before_it_reaches_any_limit(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    await put(plant, "PHX-CNC-007", fixed_clock.now(), vibration=ramp(1.5, 0.3))

    report = await detect_anomalies(plant, DETECTOR, machine_ids=["PHX-CNC-007"])

    [trend] = report.written
    assert (trend.kind, trend.severity, trend.threshold) == ("TREND", "WARNING", 6.3)
    assert trend.details["slope_per_hour"] == pytest.approx(0.3, rel=0.02)
    assert trend.details["hours_to_critical"] == pytest.approx((6.3 - 1.795) / 0.3, rel=0.02)
    assert "at this rate it reaches critical 6.3 mm/s in 15.1 h" in trend.description


@pytest.mark.anyio
async def test_a_steep_trend_within_twelve_hours_of_critical_is_critical(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    await put(plant, "MUC-CNC-001", fixed_clock.now(), temperature=ramp(40.0, 6.0))

    [trend] = (await detect_anomalies(plant, DETECTOR, machine_ids=["MUC-CNC-001"])).written

    assert (trend.sensor, trend.kind, trend.severity) == ("temperature", "TREND", "CRITICAL")


@pytest.mark.anyio
async def test_temperature_current_load_and_coolant_are_judged_against_their_thresholds(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    await put(plant, "MUC-CNC-002", fixed_clock.now(), temperature=82.0, motor_current=40.0,
              spindle_load=90.0, coolant_pressure=3.0)  # fmt: skip

    report = await detect_anomalies(plant, DETECTOR, machine_ids=["MUC-CNC-002"])

    found = {(a.sensor, a.severity, a.threshold) for a in report.written if a.kind == "THRESHOLD"}
    assert found == {
        ("temperature", "CRITICAL", 80.0), ("motor_current", "WARNING", 38.0),
        ("spindle_load", "WARNING", 85.0), ("coolant_pressure", "WARNING", 4.0),
    }  # fmt: skip
    coolant = next(a for a in report.written if a.sensor == "coolant_pressure")
    assert "below its warning level 4 bar" in coolant.description


@pytest.mark.anyio
async def test_a_small_machine_warns_in_zone_c_of_its_vibration_class(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    await put(plant, "PHX-CMM-001", fixed_clock.now(), vibration=2.5)

    [anomaly] = (await detect_anomalies(plant, DETECTOR, machine_ids=["PHX-CMM-001"])).written

    assert (anomaly.severity, anomaly.threshold) == ("WARNING", 1.8)
    assert anomaly.details["threshold_source"] == "iso_class"
    assert anomaly.details["zone_limits_mm_s"] == {"A/B": 0.71, "B/C": 1.8, "C/D": 4.5}


@pytest.mark.anyio
async def test_a_spike_past_critical_is_reported_after_the_level_recovers(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    current = wobble(25.0)
    current[30] = 47.0
    await put(plant, "DET-CNC-002", fixed_clock.now(), motor_current=current)

    [spike] = (await detect_anomalies(plant, DETECTOR, machine_ids=["DET-CNC-002"])).written

    assert (spike.kind, spike.value, spike.threshold) == ("SPIKE", 47.0, 45.0)


@pytest.mark.anyio
async def test_a_stuck_sensor_on_a_running_machine_is_a_flatline(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    await put(plant, "DET-CNC-002", fixed_clock.now(), vibration=[1.25] * 40)
    await put(plant, "PHX-CNC-009", fixed_clock.now(), vibration=[1.25] * 40)  # IDLE

    report = await detect_anomalies(plant, DETECTOR, machine_ids=["DET-CNC-002", "PHX-CNC-009"])

    assert [(a.machine_id, a.kind) for a in report.written] == [("DET-CNC-002", "FLATLINE")]
    assert "looks stuck" in report.written[0].description


@pytest.mark.anyio
async def test_anomalies_are_acknowledged_then_resolved_and_listed(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    await put(plant, "PHX-CNC-007", fixed_clock.now(), vibration=5.0)
    [anomaly] = (await detect_anomalies(plant, DETECTOR)).written

    acked = await set_anomaly_status(plant, DETECTOR, anomaly_id=anomaly.anomaly_id,
                                     status="ACKNOWLEDGED")  # fmt: skip
    resolved = await set_anomaly_status(plant, DETECTOR, anomaly_id=anomaly.anomaly_id,
                                        status="RESOLVED", note="false alarm")  # fmt: skip

    assert (acked.status, resolved.status) == ("ACKNOWLEDGED", "RESOLVED")
    assert [a.anomaly_id for a in await list_anomalies(plant, "PHX-CNC-007")] == [
        anomaly.anomaly_id
    ]
    assert await list_anomalies(plant, "PHX-CNC-007", status="OPEN") == []
    with pytest.raises(
        InvalidTransitionError, match="is RESOLVED, a final status: it cannot become OPEN"
    ):
        await set_anomaly_status(plant, DETECTOR, anomaly_id=anomaly.anomaly_id, status="OPEN")
    with pytest.raises(NotFoundError, match="anomaly 999 does not exist"):
        await set_anomaly_status(plant, DETECTOR, anomaly_id=999, status="RESOLVED")


@pytest.mark.anyio
async def test_detection_of_an_unknown_machine_is_refused(plant: db.AsyncConn) -> None:
    with pytest.raises(NotFoundError, match="machines PHX-CNC-404 do not exist"):
        await detect_anomalies(plant, DETECTOR, machine_ids=["PHX-CNC-404"])


# ───────────────────────── classification ─────────────────────────


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("signature", "fault", "evidence"),
    [
        ({"vibration": ramp(3.5, 2.0), "temperature": ramp(42.0, 6.0, noise=0.1)},
         "BEARING_DEGRADATION", "vibration is past its warning level"),
        ({"spindle_load": ramp(80.0, 12.0, noise=0.2), "vibration": ramp(2.0, 1.0),
          "power": ramp(20.0, 8.0, noise=0.1)},
         "SPINDLE_WEAR", "spindle_load is past its warning level"),
        ({"motor_current": 41.0, "temperature": 70.0, "power": 32.0},
         "MOTOR_BURNOUT", "motor_current is past its warning level"),
        ({"coolant_pressure": ramp(4.5, -2.0, noise=0.02), "temperature": ramp(45.0, 10.0)},
         "COOLANT_FAILURE", "coolant_pressure is under its warning level"),
        ({"motor_current": [12.0, 38.0] * 30}, "ELECTRICAL_FAULT", "motor_current is erratic"),
        ({"vibration": [1.4] * 60}, "SENSOR_DRIFT", "vibration is stuck at 1.4 mm/s"),
        ({"vibration": ramp(1.0, 1.0)}, "SENSOR_DRIFT", "rises while temperature, load"),
    ],
)  # fmt: skip
async def test_a_fault_is_classified_from_its_sensor_signature_with_the_evidence(
    plant: db.AsyncConn,
    fixed_clock: FixedClock,
    signature: dict[str, float | list[float]],
    fault: str,
    evidence: str,
) -> None:
    await put(plant, "PHX-CNC-005", fixed_clock.now(), **signature)

    diagnosis = await classify_fault(plant, "PHX-CNC-005")

    assert diagnosis.fault_type == fault
    assert diagnosis.confidence == diagnosis.candidates[0].score >= 0.5
    assert any(evidence in e for e in diagnosis.candidates[0].evidence)


@pytest.mark.anyio
async def test_a_healthy_signature_names_no_fault(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    await put(plant, "PHX-CNC-005", fixed_clock.now())

    diagnosis = await classify_fault(plant, "PHX-CNC-005")

    assert (diagnosis.fault_type, diagnosis.confidence, diagnosis.candidates) == (None, 0.0, [])
