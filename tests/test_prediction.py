"""Failure prediction: the degradation trend extrapolated to the critical level."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest

from tools.core import db, events
from tools.core.clock import FixedClock
from tools.core.errors import NotFoundError, ValidationError
from tools.core.operations import Actor
from tools.machine_data.sensors import Reading, record_readings
from tools.machine_data.thresholds import Threshold
from tools.maintenance.prediction import assess, list_predictions, predict_failure

SIM = Actor(type="simulator", id="sensors")
AGENT = Actor(type="agent", id="maintenance", thread_id="t-7")
NORMAL = {"vibration": 1.5, "temperature": 40.0, "spindle_speed": 8000.0, "spindle_load": 50.0,
          "coolant_pressure": 6.0, "motor_current": 25.0, "power": 15.0}  # fmt: skip


async def put(
    conn: db.AsyncConn, machine_id: str, end: datetime, hours: float, **curves: object
) -> None:
    """A reading a minute for `hours` up to `end`; each sensor follows its curve (a function of
    hours before `end`, which is 0 at `end`) or wobbles around its normal level."""
    n = int(hours * 60)
    batch: list[Reading] = []
    for sensor, level in NORMAL.items():
        curve = curves.get(sensor)
        for i in range(n):
            t = -(n - 1 - i) / 60
            v = curve(t) if callable(curve) else level * (1 + 0.02 * math.sin(i * 2.1))
            batch.append(Reading(machine_id=machine_id, sensor=sensor, value=v,
                                 ts=end + timedelta(hours=t)))  # fmt: skip
    await record_readings(conn, SIM, readings=batch)


def bearing(t: float) -> float:
    """Vibration growing 10 % an hour, 3.64 mm/s now, with 1 % deterministic noise."""
    return 2.0 * math.exp(0.1 * (t + 6)) * (1 + 0.01 * math.sin(t * 97))


@pytest.mark.anyio
async def test_exponential_vibration_growth_on_phx_cnc_007_predicts_a_bearing_failure(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    now = fixed_clock.now()
    await put(plant, "PHX-CNC-007", now, 6, vibration=bearing,
              temperature=lambda t: 48 + 2.5 * t + 0.1 * math.sin(t * 50))  # fmt: skip
    after = (await events.since(plant, 0))[-1].event_id

    p = await predict_failure(plant, AGENT, machine_id="PHX-CNC-007", horizon_hours=72)

    expected_rul = math.log(6.3 / (2.0 * math.exp(0.6))) / 0.1  # 5.48 h to the 6.3 mm/s limit
    assert (p.failure_mode, p.method) == ("BEARING_DEGRADATION", "exponential-least-squares")
    assert p.rul_hours == pytest.approx(expected_rul, rel=0.03)
    assert p.rul_low_hours is not None and p.rul_high_hours is not None
    assert p.rul_low_hours < p.rul_hours < p.rul_high_hours
    assert p.predicted_failure_at == now + timedelta(hours=p.rul_hours)
    assert p.probability > 0.999
    assert p.confidence > 0.95
    assert (p.fit.sensor, p.fit.readings, p.fit.critical) == ("vibration", 360, 6.3)
    assert p.fit.slope_per_hour == pytest.approx(0.1, rel=0.02)
    assert p.fit.current_level == pytest.approx(2.0 * math.exp(0.6), rel=0.01)
    assert any("vibration is rising" in e for e in p.evidence)
    [stored] = await list_predictions(plant, "PHX-CNC-007")
    assert (stored.prediction_id, stored.probability) == (p.prediction_id, p.probability)
    assert stored.evidence["fit"]["model"] == "exponential"  # type: ignore[index]
    assert [(e.type, e.payload["machine_id"]) for e in await events.since(plant, after)] == [
        ("machine.failure_predicted", "PHX-CNC-007")
    ]


@pytest.mark.anyio
async def test_a_short_horizon_before_the_expected_failure_gives_a_small_probability(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    await put(plant, "PHX-CNC-007", fixed_clock.now(), 6, vibration=bearing)

    soon = await predict_failure(
        plant, AGENT, machine_id="PHX-CNC-007", failure_mode="BEARING_DEGRADATION", horizon_hours=2
    )
    around = await predict_failure(
        plant, AGENT, machine_id="PHX-CNC-007", failure_mode="BEARING_DEGRADATION",
        horizon_hours=5.48,
    )  # fmt: skip

    assert soon.probability < 0.001
    assert 0.2 < around.probability < 0.8
    assert soon.fit.level_at_horizon == pytest.approx(2.0 * math.exp(0.8), rel=0.01)


def test_the_probability_is_the_normal_tail_of_the_fitted_level_at_the_horizon() -> None:
    xs = [-(9 - i) / 2 for i in range(10)]  # ten readings over 4.5 h, the last now
    noise = [0.1, -0.1, 0.05, -0.05, 0.0, 0.1, -0.1, 0.05, -0.05, 0.0]
    values = [50 + 2 * x + e for x, e in zip(xs, noise, strict=True)]
    limit = Threshold(sensor="temperature", unit="°C", direction="ABOVE", warning=52,
                      critical=54, machine_id="M", source="global")  # fmt: skip

    a = assess(xs, values, limit, "linear", horizon=1.5)

    n, x_mean = 10, sum(xs) / 10
    y_mean = sum(values) / n
    sxx = sum((x - x_mean) ** 2 for x in xs)
    b = sum((x - x_mean) * (y - y_mean) for x, y in zip(xs, values, strict=True)) / sxx
    intercept = y_mean - b * x_mean
    s = math.sqrt(sum((y - intercept - b * x) ** 2 for x, y in zip(xs, values, strict=True)) / 8)
    se_h = s * math.sqrt(1 / n + (1.5 - x_mean) ** 2 / sxx)
    z = (54 - (intercept + b * 1.5)) / se_h
    assert a.fit.slope_per_hour == pytest.approx(b)
    assert a.fit.residual_std == pytest.approx(s)
    assert a.probability == pytest.approx(1 - 0.5 * (1 + math.erf(z / math.sqrt(2))))
    assert a.rul == pytest.approx((54 - intercept) / b)


@pytest.mark.anyio
async def test_a_steady_machine_has_no_remaining_life_estimate_and_a_negligible_probability(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    await put(plant, "PHX-CNC-005", fixed_clock.now(), 4)

    p = await predict_failure(
        plant, AGENT, machine_id="PHX-CNC-005", failure_mode="BEARING_DEGRADATION"
    )

    assert p.probability < 1e-6
    assert p.predicted_failure_at is None or p.rul_hours is None or p.rul_hours > 1000


@pytest.mark.anyio
async def test_falling_coolant_pressure_predicts_a_coolant_failure_against_its_low_limit(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    await put(plant, "DET-CNC-002", fixed_clock.now(), 4,
              coolant_pressure=lambda t: 3.0 - 0.5 * t + 0.01 * math.sin(t * 40))  # fmt: skip

    p = await predict_failure(plant, AGENT, machine_id="DET-CNC-002", horizon_hours=24)

    assert p.failure_mode == "COOLANT_FAILURE"
    assert (p.fit.direction, p.fit.critical, p.fit.model) == ("BELOW", 2.5, "linear")
    assert p.rul_hours == pytest.approx(1.0, rel=0.03)
    assert p.probability > 0.999


@pytest.mark.anyio
async def test_a_metric_already_past_critical_has_no_life_left(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    await put(plant, "MUC-CNC-001", fixed_clock.now(), 2,
              motor_current=lambda t: 47 + 3 * t + 0.05 * math.sin(t * 31))  # fmt: skip

    p = await predict_failure(
        plant, AGENT, machine_id="MUC-CNC-001", failure_mode="ELECTRICAL_FAULT"
    )

    assert (p.rul_hours, p.rul_low_hours, p.predicted_failure_at) == (0.0, 0.0, fixed_clock.now())
    assert p.probability > 0.999


@pytest.mark.anyio
async def test_without_a_classified_fault_the_most_likely_failure_mode_is_kept(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    await put(plant, "MUC-CNC-002", fixed_clock.now(), 3,
              motor_current=lambda t: 30 + 1.5 * t + 0.05 * math.sin(t * 31))  # fmt: skip

    p = await predict_failure(plant, AGENT, machine_id="MUC-CNC-002", horizon_hours=168)

    assert (p.failure_mode, p.fit.sensor) == ("ELECTRICAL_FAULT", "motor_current")
    assert p.rul_hours == pytest.approx((45 - 30) / 1.5, rel=0.03)


@pytest.mark.anyio
async def test_a_prediction_retried_with_its_key_is_stored_once(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    await put(plant, "PHX-CNC-007", fixed_clock.now(), 2, vibration=bearing)

    first = await predict_failure(plant, AGENT, machine_id="PHX-CNC-007", idempotency_key="p-1")
    again = await predict_failure(plant, AGENT, machine_id="PHX-CNC-007", idempotency_key="p-1")

    assert again == first
    assert len(await list_predictions(plant, "PHX-CNC-007")) == 1


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        ({"machine_id": "PHX-CNC-404"}, NotFoundError, "machine 'PHX-CNC-404' does not exist"),
        ({"machine_id": "PHX-CNC-003"}, ValidationError,
         "the last 24 h hold too few readings .*vibration: 0 readings"),
        ({"machine_id": "PHX-CNC-003", "failure_mode": "RUST"}, ValidationError,
         "failure mode 'RUST' is unknown"),
        ({"machine_id": "PHX-CNC-003", "horizon_hours": 0}, ValidationError,
         "horizon must be above 0"),
        ({"machine_id": "PHX-CNC-003", "window_hours": 1000}, ValidationError,
         "window must be above 0 and at most 30 days"),
    ],
)  # fmt: skip
async def test_a_prediction_that_cannot_be_made_is_refused_and_writes_nothing(
    plant: db.AsyncConn, args: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        await predict_failure(plant, AGENT, **args)  # type: ignore[arg-type]

    cur = await plant.execute("select count(*) as n from failure_predictions")
    assert await cur.fetchone() == {"n": 0}
