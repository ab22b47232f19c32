"""Fault classification: the likely fault of a machine from its sensor signature over a recent
window, each fault type scored 0-1 with the evidence for every point (see `_signature_scores`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel

from tools.core.db import AsyncConn
from tools.machine_data.thresholds import Threshold, effective_thresholds
from tools.maintenance.anomalies import (
    FLATLINE_MIN_READINGS,
    FLATLINE_SENSORS,
    known_machines,
    window_ending_now,
)
from tools.maintenance.fault_types import FaultType
from tools.maintenance.health import TREND_MIN_READINGS, TREND_T_MIN, MetricStats, window_stats

FAULT_MIN_SCORE = 0.5


class FaultCandidate(BaseModel):
    fault_type: FaultType
    score: float
    evidence: list[str]


class FaultDiagnosis(BaseModel):
    machine_id: str
    window_start: datetime
    window_end: datetime
    fault_type: FaultType | None  # the best candidate scoring at least 0.5
    confidence: float
    candidates: list[FaultCandidate]


@dataclass(frozen=True)
class _Signal:
    """One sensor in the window, reduced to what the signatures look at."""

    s: MetricStats
    t: Threshold | None

    @property
    def e(self) -> float:  # exceedance of the current level; -9 without a threshold
        return self.t.exceedance(self.s.current) if self.t else -9.0

    @property
    def rising(self) -> bool:
        t = self.s.trend_t
        return t is not None and self.s.n >= TREND_MIN_READINGS and t >= TREND_T_MIN

    @property
    def falling(self) -> bool:
        t = self.s.trend_t
        return t is not None and self.s.n >= TREND_MIN_READINGS and t <= -TREND_T_MIN

    @property
    def erratic(self) -> bool:  # coefficient of variation of a quarter or more
        return bool(self.s.std and self.s.mean > 0 and self.s.std / self.s.mean >= 0.25)

    def say(self, what: str) -> str:
        s = self.s
        slope = f", {s.slope_per_hour:+.3f} {s.unit}/h" if s.slope_per_hour is not None else ""
        limits = f" (warning {self.t.warning:g}, critical {self.t.critical:g})" if self.t else ""
        return f"{s.sensor} {what}: now {s.current:.2f} {s.unit}{slope}{limits}"


def _signature_scores(sig: dict[str, _Signal]) -> list[FaultCandidate]:
    """Score each fault type 0-1 from the signature; every point comes with its evidence.

    - bearing: *vibration past warning (+0.4) or within half a span of it (+0.2) or rising
      (+0.3)*, with temperature following it up (+0.2) while spindle load stays normal (+0.1).
    - spindle wear: *spindle load past warning (+0.4) or rising (+0.3)*, with vibration past
      warning or rising (+0.3) and power past warning or rising (+0.2).
    - motor: *motor current past warning (+0.4) or rising (+0.2)*, temperature past warning or
      rising (+0.3), power past warning (+0.2), vibration normal (+0.1).
    - coolant: *coolant pressure under warning (+0.5) or falling (+0.3)*, temperature past
      warning or rising (+0.3).
    - electrical: *motor current erratic (CV >= 0.25, +0.4), spiking past critical (+0.3) or
      past warning while power is a span inside warning (+0.3)*, power erratic (+0.2).
    - sensor drift: *a flatlined sensor (+0.6), or vibration rising alone while temperature,
      load and current have no trend (+0.5)*.

    A type needs one of its leading signs (in italics); otherwise it scores 0.
    """
    vib, temp, load, cur, power, cool = (
        sig.get(n, _BLANK)
        for n in (
            "vibration",
            "temperature",
            "spindle_load",
            "motor_current",
            "power",
            "coolant_pressure",
        )
    )
    cur_spike = cur.t is not None and cur.t.level(cur.s.max) == "CRITICAL" and cur.e < 1
    cv = (cur.s.std or 0.0) / cur.s.mean if cur.s.mean else 0.0
    stuck = [
        (True, True, 0.6, f"{n} is stuck at {g.s.last:g} {g.s.unit} over {g.s.n} readings")
        for n, g in sig.items()
        if n in FLATLINE_SENSORS and g.s.n >= FLATLINE_MIN_READINGS and g.s.max == g.s.min
    ]
    alone = (
        vib.rising
        and not (temp.rising or load.rising or cur.rising)
        and all(g.s.n >= TREND_MIN_READINGS for g in (temp, load, cur))
    )
    # (leading sign?, present?, points, evidence)
    rules: dict[FaultType, list[tuple[bool, bool, float, str]]] = {
        "BEARING_DEGRADATION": [
            (True, vib.e >= 0, 0.4, vib.say("is past its warning level")),
            (True, -0.5 <= vib.e < 0, 0.2, vib.say("is close to its warning level")),
            (True, vib.rising, 0.3, vib.say("is rising")),
            (False, temp.rising or temp.e >= 0, 0.2, temp.say("follows it up")),
            (False, load.t is not None and load.e < 0, 0.1, load.say("stays normal")),
        ],
        "SPINDLE_WEAR": [
            (True, load.e >= 0, 0.4, load.say("is past its warning level")),
            (True, load.rising, 0.3, load.say("is rising")),
            (False, vib.e >= 0 or vib.rising, 0.3, vib.say("is up")),
            (False, power.e >= 0 or power.rising, 0.2, power.say("is up")),
        ],
        "MOTOR_BURNOUT": [
            (True, cur.e >= 0, 0.4, cur.say("is past its warning level")),
            (True, cur.rising, 0.2, cur.say("is rising")),
            (False, temp.e >= 0 or temp.rising, 0.3, temp.say("is up")),
            (False, power.e >= 0, 0.2, power.say("is past its warning level")),
            (
                False,
                vib.t is not None and vib.e < 0 and not vib.rising,
                0.1,
                vib.say("stays normal"),
            ),
        ],
        "COOLANT_FAILURE": [
            (True, cool.e >= 0, 0.5, cool.say("is under its warning level")),
            (True, cool.falling, 0.3, cool.say("is falling")),
            (False, temp.e >= 0 or temp.rising, 0.3, temp.say("is up")),
        ],
        "ELECTRICAL_FAULT": [
            (True, cur.erratic, 0.4, cur.say(f"is erratic (CV {cv:.2f})")),
            (True, cur_spike, 0.3, cur.say(f"spiked to {cur.s.max:g}")),
            (
                True,
                cur.e >= 0 and power.t is not None and power.e < -1,
                0.3,
                cur.say("is high while power is low"),
            ),
            (False, power.erratic, 0.2, power.say("is erratic")),
        ],
        "SENSOR_DRIFT": [
            *stuck,
            (True, alone, 0.5, vib.say("rises while temperature, load and current stay flat")),
        ],
    }
    found: list[FaultCandidate] = []
    for fault, checks in rules.items():
        hits = [(leads, points, why) for leads, ok, points, why in checks if ok]
        if not any(leads for leads, _, _ in hits):
            continue
        score = round(min(1.0, sum(points for _, points, _ in hits)), 2)
        found.append(
            FaultCandidate(fault_type=fault, score=score, evidence=[why for _, _, why in hits])
        )
    return sorted(found, key=lambda c: -c.score)


_BLANK = _Signal(
    MetricStats(
        sensor="-",
        unit="",
        n=0,
        mean=0,
        min=0,
        max=0,
        std=None,
        last=0,
        last_ts=datetime.min.replace(tzinfo=UTC),
        current=0,
        slope_per_hour=None,
        slope_stderr=None,
        fitted_last=None,
    ),
    None,
)


async def classify_fault(
    conn: AsyncConn, machine_id: str, *, window_minutes: float = 60
) -> FaultDiagnosis:
    """The likely fault of a machine from its sensor signature over the window, with evidence."""
    since, until = window_ending_now(window_minutes)
    await known_machines(conn, [machine_id])
    stats = (await window_stats(conn, [machine_id], since=since, until=until)).get(machine_id, {})
    thresholds = (await effective_thresholds(conn, [machine_id]))[machine_id]
    candidates = _signature_scores({n: _Signal(s, thresholds.get(n)) for n, s in stats.items()})
    top = candidates[0] if candidates and candidates[0].score >= FAULT_MIN_SCORE else None
    return FaultDiagnosis(
        machine_id=machine_id,
        window_start=since,
        window_end=until,
        fault_type=top.fault_type if top else None,
        confidence=top.score if top else 0.0,
        candidates=candidates,
    )
