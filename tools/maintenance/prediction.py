"""Failure prediction from the degradation trend: remaining useful life and the probability of
failure within a horizon, with every input of the computation in the result.

Method (one failure mode, its degradation metric, the readings of the last `window_hours`):

1. Time x is in hours relative to now (readings have x <= 0). The degradation model is fitted
   by ordinary least squares: y = a + b·x, where y is the metric itself (linear model) or its
   natural logarithm (exponential model, y = ln v, v = e^a·e^(b·x); used for bearing vibration,
   which grows exponentially as a defect spreads, when every reading is positive).
2. Failure is the metric reaching its critical threshold L (the threshold in force for the
   machine; ln L for the exponential model). Remaining useful life is the time the fitted line
   needs to reach L: RUL = (L - a) / b when the line heads toward L; 0 when it is past L; none
   when it does not head there.
3. Uncertainty: with residual variance s² = SSE / (n - 2), the fitted level at time x has the
   standard error se(x) = s·sqrt(1/n + (x - x̄)² / Sxx). The probability of failure within the
   horizon H is the probability that the true level at x = H lies past L, under a normal error:
   P = 1 - Φ((L - ŷ(H)) / se(H)) for a rising metric (Φ((L - ŷ(H)) / se(H)) for a falling one,
   coolant pressure). The RUL's 90 % interval is RUL ± 1.645·se(RUL)/|b| (delta method).
4. Confidence = R² of the fit x min(1, n / 30): a trend that explains the readings, from
   enough of them.

Failure modes and their metric: bearing degradation → vibration (exponential); spindle wear →
spindle load; motor burnout → temperature; coolant failure → coolant pressure (falling);
electrical fault → motor current; sensor drift → vibration (linear). Without a mode the fault
classification of the window chooses it; when it finds none, every mode with readings is
evaluated and the most probable failure is kept.

`estimate_failure` answers a question with the computation alone; `predict_failure` makes the
same one and stores it (a `failure_predictions` row and a `machine.failure_predicted` event).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from psycopg.types.json import Jsonb
from pydantic import BaseModel, JsonValue

from tools.core import clock
from tools.core.db import AsyncConn, read_only
from tools.core.errors import NotFoundError, ValidationError
from tools.core.operations import Actor, atomic, idempotent, record
from tools.machine_data.sensors import SENSOR_UNITS
from tools.machine_data.thresholds import Threshold, effective_thresholds
from tools.maintenance.fault_types import FaultType
from tools.maintenance.faults import classify_fault
from tools.maintenance.health import machines_hint

Model = Literal["exponential", "linear"]
FAILURE_METRICS: dict[FaultType, tuple[str, Model]] = {
    "BEARING_DEGRADATION": ("vibration", "exponential"),
    "SPINDLE_WEAR": ("spindle_load", "linear"),
    "MOTOR_BURNOUT": ("temperature", "linear"),
    "COOLANT_FAILURE": ("coolant_pressure", "linear"),
    "ELECTRICAL_FAULT": ("motor_current", "linear"),
    "SENSOR_DRIFT": ("vibration", "linear"),
}
MIN_READINGS = 10
Z90 = 1.6449  # the standard normal's 95th percentile: a two-sided 90 % interval
# A failure further out than this is "not in sight", not a date.
MAX_RUL_HOURS = 24 * 365


class Fit(BaseModel):
    """The least-squares degradation fit and what it was fitted to."""

    sensor: str
    unit: str
    model: Model
    direction: Literal["ABOVE", "BELOW"]
    critical: float
    warning: float
    threshold_source: str
    window_start: datetime
    window_end: datetime
    readings: int
    intercept: float  # a: the fitted level now (log units for the exponential model)
    slope_per_hour: float  # b
    residual_std: float  # s
    r_squared: float
    x_mean_hours: float
    sxx: float
    current_level: float  # the fitted level now, in the sensor's unit
    level_at_horizon: float  # the fitted level at now + horizon, in the sensor's unit


class FailureEstimate(BaseModel):
    """A machine's failure outlook from its degradation trend, as computed (not stored)."""

    machine_id: str
    failure_mode: FaultType
    method: str
    predicted_at: datetime
    horizon_hours: float
    probability: float  # of failure within the horizon
    rul_hours: float | None  # remaining useful life; None when the trend heads nowhere near
    rul_low_hours: float | None  # 90 % interval
    rul_high_hours: float | None
    predicted_failure_at: datetime | None
    confidence: float
    fit: Fit
    evidence: list[str]


class FailurePrediction(FailureEstimate):
    """A failure estimate stored as a prediction."""

    prediction_id: int


def _phi(z: float) -> float:
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


@dataclass(frozen=True)
class LeastSquares:
    """y = a + b·x fitted by ordinary least squares."""

    model: Model
    a: float
    b: float
    s: float  # residual standard deviation, sqrt(SSE / (n - 2))
    r2: float
    n: int
    x_mean: float
    sxx: float

    def se(self, x: float) -> float:
        """Standard error of the fitted level at x."""
        return self.s * math.sqrt(1 / self.n + (x - self.x_mean) ** 2 / self.sxx)


def fit_degradation(xs: list[float], values: list[float], model: Model) -> LeastSquares:
    """Least squares of the metric (or its logarithm, for the exponential model) on time; the
    linear model when a value is not positive."""
    if model == "exponential" and min(values) <= 0:
        model = "linear"
    ys = [math.log(v) for v in values] if model == "exponential" else values
    n = len(xs)
    x_mean, y_mean = sum(xs) / n, sum(ys) / n
    sxx = sum((x - x_mean) ** 2 for x in xs)
    if sxx == 0:
        raise ValidationError("all readings share one time stamp; a trend needs time to pass")
    sxy = sum((x - x_mean) * (y - y_mean) for x, y in zip(xs, ys, strict=True))
    syy = sum((y - y_mean) ** 2 for y in ys)
    b = sxy / sxx
    sse = max(syy - b * sxy, 0.0)
    r2 = 1 - sse / syy if syy > 0 else 1.0
    return LeastSquares(model, y_mean - b * x_mean, b, math.sqrt(sse / (n - 2)), r2, n, x_mean, sxx)


@dataclass(frozen=True)
class Assessment:
    """One metric's failure outlook: probability within the horizon, RUL and its interval."""

    probability: float
    rul: float | None
    low: float | None
    high: float | None
    fit: Fit
    confidence: float


def assess(
    xs: list[float], values: list[float], t: Threshold, model: Model, horizon: float
) -> Assessment:
    """Fit the trend of one metric and extrapolate it to the critical level (see module doc)."""
    ls = fit_degradation(xs, values, model)
    to_y = math.log if ls.model == "exponential" else float
    to_v = math.exp if ls.model == "exponential" else float
    level = to_y(t.critical)
    rising = t.direction == "ABOVE"
    at_h = ls.a + ls.b * horizon
    if ls.se(horizon) > 0:
        z = (level - at_h) / ls.se(horizon)
        probability = 1 - _phi(z) if rising else _phi(z)
    else:
        probability = float(at_h >= level if rising else at_h <= level)
    rul = low = high = None
    if (ls.a >= level) if rising else (ls.a <= level):
        rul = low = high = 0.0
    elif ls.b != 0 and (ls.b > 0) == rising:
        rul = (level - ls.a) / ls.b
        spread = Z90 * ls.se(rul) / abs(ls.b)
        low, high = max(0.0, rul - spread), rul + spread
    fit = Fit(
        sensor=t.sensor,
        unit=SENSOR_UNITS[t.sensor],
        model=ls.model,
        direction=t.direction,
        critical=t.critical,
        warning=t.warning,
        threshold_source=t.source,
        window_start=datetime.min,
        window_end=datetime.min,
        readings=ls.n,
        intercept=ls.a,
        slope_per_hour=ls.b,
        residual_std=ls.s,
        r_squared=ls.r2,
        x_mean_hours=ls.x_mean,
        sxx=ls.sxx,
        current_level=to_v(ls.a),
        level_at_horizon=to_v(at_h),
    )
    confidence = max(0.0, min(1.0, ls.r2 * min(1.0, ls.n / 30)))
    return Assessment(min(max(probability, 0.0), 1.0), rul, low, high, fit, confidence)


async def _series(
    conn: AsyncConn, machine_id: str, sensor: str, since: datetime, until: datetime
) -> tuple[list[float], list[float]]:
    cur = await conn.execute(
        "select extract(epoch from ts - %(until)s)::float8 / 3600 as x, value "
        "from sensor_readings where machine_id = %(m)s and sensor = %(s)s "
        "and ts > %(since)s and ts <= %(until)s order by ts",
        {"m": machine_id, "s": sensor, "since": since, "until": until},
    )
    rows = await cur.fetchall()
    return [r["x"] for r in rows], [r["value"] for r in rows]


def _check_arguments(failure_mode: str | None, horizon_hours: float, window_hours: float) -> None:
    if failure_mode is not None and failure_mode not in FAILURE_METRICS:
        raise ValidationError(
            f"failure mode {failure_mode!r} is unknown; use one of {', '.join(FAILURE_METRICS)}"
        )
    if not 0 < horizon_hours <= MAX_RUL_HOURS:
        raise ValidationError(
            f"the horizon must be above 0 and at most a year, got {horizon_hours} h"
        )
    if not 0 < window_hours <= 24 * 30:
        raise ValidationError(
            f"the window must be above 0 and at most 30 days, got {window_hours} h"
        )


async def estimate_failure(
    conn: AsyncConn,
    *,
    machine_id: str,
    failure_mode: str | None = None,
    horizon_hours: float = 72.0,
    window_hours: float = 24.0,
) -> FailureEstimate:
    """What `predict_failure` would predict for a machine now, storing nothing: the read of a
    question."""
    _check_arguments(failure_mode, horizon_hours, window_hours)
    async with read_only(conn):
        return await _estimate(conn, machine_id, failure_mode, horizon_hours, window_hours)


async def predict_failure(
    conn: AsyncConn,
    actor: Actor,
    *,
    machine_id: str,
    failure_mode: str | None = None,
    horizon_hours: float = 72.0,
    window_hours: float = 24.0,
    idempotency_key: str | None = None,
) -> FailurePrediction:
    """Predict a machine's failure from its degradation trend and store the prediction."""
    _check_arguments(failure_mode, horizon_hours, window_hours)

    async def run() -> FailurePrediction:
        found = await _estimate(conn, machine_id, failure_mode, horizon_hours, window_hours)
        return await _store(conn, actor, found)

    async with atomic(conn):
        return await idempotent(conn, idempotency_key, "prediction.predict", FailurePrediction, run)


async def _estimate(
    conn: AsyncConn, machine_id: str, mode: str | None, horizon: float, window: float
) -> FailureEstimate:
    thresholds = (await effective_thresholds(conn, [machine_id])).get(machine_id)
    if thresholds is None:
        raise NotFoundError(
            f"machine {machine_id!r} does not exist; {await machines_hint(conn, [machine_id])}"
        )
    until = clock.now()
    since = until - timedelta(hours=window)
    evidence: list[str] = []
    if mode is None:
        diagnosis = await classify_fault(conn, machine_id, window_minutes=window * 60)
        if diagnosis.fault_type is not None:
            mode = diagnosis.fault_type
            evidence = diagnosis.candidates[0].evidence
    modes = [m for m in FAILURE_METRICS if m == mode or (mode is None and m != "SENSOR_DRIFT")]
    best: tuple[FaultType, Assessment] | None = None
    short: list[str] = []
    for m in modes:
        sensor, model = FAILURE_METRICS[m]
        xs, values = await _series(conn, machine_id, sensor, since, until)
        if sensor not in thresholds or len(xs) < MIN_READINGS:
            short.append(f"{sensor}: {len(xs)} readings")
            continue
        assessed = assess(xs, values, thresholds[sensor], model, horizon)
        if best is None or assessed.probability > best[1].probability:
            best = (m, assessed)
    if best is None:
        raise ValidationError(
            f"cannot predict failure of {machine_id}: the last {window:g} h hold too few "
            f"readings ({'; '.join(short)}); a trend needs at least {MIN_READINGS} with a threshold"
        )
    chosen, found = best
    rul = found.rul
    fit = found.fit.model_copy(update={"window_start": since, "window_end": until})
    if not evidence:
        evidence = [
            f"{fit.sensor} fitted {fit.model}: level now {fit.current_level:.3g} {fit.unit}"
            f", slope {fit.slope_per_hour:+.4g}/h, R² {fit.r_squared:.2f}"
        ]
    return FailureEstimate(
        machine_id=machine_id,
        failure_mode=chosen,
        method=f"{fit.model}-least-squares",
        predicted_at=until,
        horizon_hours=horizon,
        probability=found.probability,
        rul_hours=rul,
        rul_low_hours=found.low,
        rul_high_hours=found.high,
        predicted_failure_at=(
            until + timedelta(hours=rul) if rul is not None and rul <= MAX_RUL_HOURS else None
        ),
        confidence=found.confidence,
        fit=fit,
        evidence=evidence,
    )


async def _store(conn: AsyncConn, actor: Actor, found: FailureEstimate) -> FailurePrediction:
    cur = await conn.execute(
        "insert into failure_predictions (machine_id, failure_mode, probability, predicted_at, "
        "predicted_failure_at, confidence, model, evidence) values (%(m)s, %(mode)s, %(p)s, "
        "%(at)s, %(fail)s, %(c)s, %(model)s, %(ev)s) returning prediction_id",
        {
            "m": found.machine_id,
            "mode": found.failure_mode,
            "p": found.probability,
            "at": found.predicted_at,
            "fail": found.predicted_failure_at,
            "c": found.confidence,
            "model": found.method,
            "ev": Jsonb(
                {
                    "fit": found.fit.model_dump(mode="json"),
                    "horizon_hours": found.horizon_hours,
                    "rul_hours": found.rul_hours,
                    "rul_interval_90": [found.rul_low_hours, found.rul_high_hours],
                    "evidence": found.evidence,
                }
            ),
        },
    )
    row = await cur.fetchone()
    assert row is not None
    prediction = FailurePrediction.model_validate(
        found.model_dump() | {"prediction_id": row["prediction_id"]}
    )
    failure_at = prediction.predicted_failure_at
    await record(
        conn,
        actor,
        event_type="machine.failure_predicted",
        entity_type="failure_prediction",
        entity_id=str(prediction.prediction_id),
        action="predict",
        after={"probability": prediction.probability, "failure_mode": prediction.failure_mode},
        payload={
            "machine_id": prediction.machine_id,
            "failure_mode": prediction.failure_mode,
            "probability": prediction.probability,
            "horizon_hours": prediction.horizon_hours,
            "rul_hours": prediction.rul_hours,
            "confidence": prediction.confidence,
            "predicted_failure_at": failure_at.isoformat() if failure_at else None,
        },
    )
    return prediction


class StoredPrediction(BaseModel):
    prediction_id: int
    machine_id: str
    failure_mode: FaultType
    probability: float
    predicted_at: datetime
    predicted_failure_at: datetime | None
    confidence: float
    model: str
    evidence: dict[str, JsonValue]


async def list_predictions(
    conn: AsyncConn, machine_id: str, *, limit: int = 20
) -> list[StoredPrediction]:
    """A machine's stored predictions, newest first (evidence holds the fit and its inputs)."""
    cur = await conn.execute(
        "select prediction_id, machine_id, failure_mode, probability, predicted_at, "
        "predicted_failure_at, confidence, model, evidence from failure_predictions "
        "where machine_id = %s order by predicted_at desc, prediction_id desc limit %s",
        (machine_id, limit),
    )
    return [StoredPrediction.model_validate(r) for r in await cur.fetchall()]
