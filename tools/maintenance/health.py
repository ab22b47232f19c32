"""Machines and their health: listing, per-metric statistics over a recent window, a health index,
and a status (changing a machine's status is in `tools.machine_data.status`).

Statistics come from one query: for every (machine, sensor) a lateral aggregate over the
`sensor_readings` primary key `(machine_id, sensor, ts)`, so the window is an index range scan
however many days of readings the table holds. The trend is the least-squares line through the
window (`regr_*` aggregates, time in hours from the window's start).

Health index (0-100, documented formula):

- The *current level* of a metric is the median of its last five readings, so that one outlier
  neither raises nor hides an alarm. Its *exceedance* e is how far it lies past the warning
  level in warning-to-critical spans (0 at warning, 1 at critical; see `Threshold.exceedance`).
- A metric scores 100 at e <= -1 (a full span inside warning), falling linearly to 70 at the
  warning level, 30 at the critical level and 0 one span past critical.
- A significant trend toward critical (t-statistic of the slope >= 3 over at least 10 readings)
  costs up to 20 points: 20 x (1 - hours to critical / 72), so nothing when critical is 72 h or
  more away.
- The index is 0.7 x the worst metric score + 0.3 x the mean metric score, rounded: the weakest
  sign dominates, the others still count. No readings in the window: no index.

Status: MAINTENANCE while the machine is in maintenance; DOWN when it is DOWN or OFFLINE or its
heartbeat is older than the timeout; DEGRADED when any metric is past its warning level, a metric
trends to critical within 72 h, or the index is below 70; UP otherwise.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel

from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.errors import NotFoundError, ValidationError
from tools.machine_data.sensors import SENSOR_UNITS, SENSORS, Direction, Level
from tools.machine_data.thresholds import Threshold, effective_thresholds

MachineStatus = Literal["RUNNING", "IDLE", "DOWN", "MAINTENANCE", "OFFLINE"]
HealthStatus = Literal["UP", "DEGRADED", "DOWN", "MAINTENANCE"]
MACHINE_STATUSES: tuple[MachineStatus, ...] = ("RUNNING", "IDLE", "DOWN", "MAINTENANCE", "OFFLINE")
WC_TYPES = ("CNC_MILL", "CNC_LATHE", "GRINDING", "HEAT_TREAT", "ASSEMBLY", "INSPECTION")
DEFAULT_HEARTBEAT_TIMEOUT_S = 300.0
TREND_T_MIN = 3.0  # a slope this many standard errors from zero is a trend, not noise
TREND_MIN_READINGS = 10
TREND_HORIZON_H = 72.0


class Machine(BaseModel):
    machine_id: str
    name: str
    facility_id: str
    work_center_id: str
    wc_type: str
    model: str
    status: MachineStatus
    efficiency: float
    installed_on: date
    operating_hours: float
    status_changed_at: datetime
    last_heartbeat_at: datetime | None
    last_maintenance_at: datetime | None


class MetricStats(BaseModel):
    """One sensor of one machine over the window; times in hours from the window's start."""

    sensor: str
    unit: str
    n: int
    mean: float
    min: float
    max: float
    std: float | None
    last: float
    last_ts: datetime
    current: float  # median of the last five readings
    slope_per_hour: float | None
    slope_stderr: float | None
    fitted_last: float | None  # the trend line's level at the last reading

    @property
    def trend_t(self) -> float | None:
        """The slope in standard errors (None with fewer than 3 readings)."""
        b, se = self.slope_per_hour, self.slope_stderr
        if b is None or se is None:
            return None
        if se == 0:  # a perfect line
            return math.copysign(math.inf, b) if b else 0.0
        return b / se

    def hours_to(self, level: float, direction: Direction = "ABOVE") -> float | None:
        """Hours from the last reading until the trend line passes `level` in `direction`, when
        the trend is significant and heads there (0 when the line is past it already)."""
        t, b, fit = self.trend_t, self.slope_per_hour, self.fitted_last
        if t is None or b is None or fit is None or self.n < TREND_MIN_READINGS:
            return None
        if abs(t) < TREND_T_MIN:
            return None
        past = fit >= level if direction == "ABOVE" else fit <= level
        if past:
            return 0.0
        heading = b > 0 if direction == "ABOVE" else b < 0
        return (level - fit) / b if heading else None


class MetricHealth(BaseModel):
    stats: MetricStats
    threshold: Threshold | None
    level: Level
    hours_to_critical: float | None
    score: float


class MachineHealth(BaseModel):
    machine_id: str
    facility_id: str
    machine_status: MachineStatus
    status: HealthStatus
    health_index: int | None
    window_start: datetime
    window_end: datetime
    last_heartbeat_at: datetime | None
    reasons: list[str]
    metrics: dict[str, MetricHealth]


# ───────────────────────── machines ─────────────────────────

_MACHINE = """select e.machine_id, e.name, e.facility_id, e.work_center_id, w.wc_type, e.model,
    e.status, e.efficiency, e.installed_on, e.operating_hours, e.status_changed_at,
    e.last_heartbeat_at, e.last_maintenance_at
from equipment e join work_centers w using (work_center_id)"""


async def list_machines(
    conn: AsyncConn,
    *,
    facility_id: str | None = None,
    wc_type: str | None = None,
    status: str | None = None,
    work_center_id: str | None = None,
) -> list[Machine]:
    """Machines, optionally of one facility, work-center type, work center and status."""
    if wc_type is not None and wc_type not in WC_TYPES:
        raise ValidationError(f"work-center type {wc_type!r} is unknown; use one of {WC_TYPES}")
    if status is not None and status not in MACHINE_STATUSES:
        raise ValidationError(f"machine status {status!r} is unknown; use {MACHINE_STATUSES}")
    cur = await conn.execute(
        f"{_MACHINE} where (%(f)s::text is null or e.facility_id = %(f)s) "
        "and (%(t)s::text is null or w.wc_type = %(t)s) "
        "and (%(s)s::text is null or e.status = %(s)s) "
        "and (%(w)s::text is null or e.work_center_id = %(w)s) order by e.machine_id",
        {"f": facility_id, "t": wc_type, "s": status, "w": work_center_id},
    )
    machines = [Machine.model_validate(row) for row in await cur.fetchall()]
    if not machines and facility_id is not None:
        cur = await conn.execute("select 1 from facilities where facility_id = %s", (facility_id,))
        if await cur.fetchone() is None:
            raise NotFoundError(
                f"facility {facility_id!r} does not exist (e.g. PHX, MUC, DET)",
                entity="facility",
                id=str(facility_id),
            )
    return machines


async def get_machine(conn: AsyncConn, machine_id: str) -> Machine:
    """One machine."""
    cur = await conn.execute(f"{_MACHINE} where e.machine_id = %s", (machine_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotFoundError(
            f"machine {machine_id!r} does not exist; list machines for valid IDs",
            entity="machine",
            id=str(machine_id),
        )
    return Machine.model_validate(row)


async def machines_hint(conn: AsyncConn, wanted: Iterable[str], *, most: int = 30) -> str:
    """The machines there are, for an error about IDs that name none: those of the facilities
    the IDs begin with (PHX-…), else every facility's."""
    cur = await conn.execute("select machine_id, facility_id from equipment order by machine_id")
    rows = await cur.fetchall()
    sites = sorted({w.split("-", 1)[0] for w in wanted} & {r["facility_id"] for r in rows})
    found = [r["machine_id"] for r in rows if not sites or r["facility_id"] in sites]
    if not found:
        return "the plant has no machines"
    more = f" and {len(found) - most} more (list_machines)" if len(found) > most else ""
    return f"machines at {', '.join(sites) or 'the plant'}: {', '.join(found[:most])}{more}"


# ───────────────────────── statistics over a window ─────────────────────────

_STATS = """
select e.machine_id, s.sensor, st.*
from equipment e
cross join unnest(%(sensors)s::text[]) as s(sensor)
cross join lateral (
    select count(*) as n, avg(r.value) as mean, min(r.value) as min, max(r.value) as max,
           stddev_samp(r.value) as std, max(r.ts) as last_ts,
           (array_agg(r.value order by r.ts desc))[1:5] as recent,
           regr_slope(r.value, h.x) as slope, regr_intercept(r.value, h.x) as intercept,
           regr_sxx(r.value, h.x) as sxx, regr_syy(r.value, h.x) as syy,
           regr_sxy(r.value, h.x) as sxy, max(h.x) as last_x
    from sensor_readings r
    cross join lateral (select extract(epoch from r.ts - %(since)s)::float8 / 3600 as x) h
    where r.machine_id = e.machine_id and r.sensor = s.sensor
      and r.ts > %(since)s and r.ts <= %(until)s
) st
where e.machine_id = any(%(ids)s) and st.n > 0
"""


async def window_stats(
    conn: AsyncConn,
    machine_ids: Sequence[str],
    *,
    since: datetime,
    until: datetime,
    sensors: Sequence[str] = SENSORS,
) -> dict[str, dict[str, MetricStats]]:
    """Machine → sensor → statistics of the readings in (since, until]; one indexed query."""
    cur = await conn.execute(
        _STATS,
        {"ids": list(machine_ids), "sensors": list(sensors), "since": since, "until": until},
    )
    found: dict[str, dict[str, MetricStats]] = {}
    for row in await cur.fetchall():
        found.setdefault(row["machine_id"], {})[row["sensor"]] = _stats(row)
    return found


def _stats(row: dict[str, Any]) -> MetricStats:
    n, sxx, syy, sxy = row["n"], row["sxx"], row["syy"], row["sxy"]
    slope_se: float | None = None
    fitted: float | None = None
    if row["slope"] is not None:
        fitted = row["intercept"] + row["slope"] * row["last_x"]
        if n > 2 and sxx > 0:
            sse = max(syy - sxy * sxy / sxx, 0.0)
            slope_se = math.sqrt(sse / (n - 2) / sxx)
    return MetricStats(
        sensor=row["sensor"],
        unit=SENSOR_UNITS[row["sensor"]],
        n=n,
        mean=row["mean"],
        min=row["min"],
        max=row["max"],
        std=row["std"],
        last=row["recent"][0],
        last_ts=row["last_ts"],
        current=statistics.median(row["recent"]),
        slope_per_hour=row["slope"],
        slope_stderr=slope_se,
        fitted_last=fitted,
    )


# ───────────────────────── health ─────────────────────────


def metric_score(exceedance: float) -> float:
    """100 a span inside warning, 70 at warning, 30 at critical, 0 a span past critical."""
    knots = ((-1.0, 100.0), (0.0, 70.0), (1.0, 30.0), (2.0, 0.0))
    if exceedance <= knots[0][0]:
        return 100.0
    for (x0, y0), (x1, y1) in zip(knots, knots[1:], strict=False):
        if exceedance <= x1:
            return y0 + (y1 - y0) * (exceedance - x0) / (x1 - x0)
    return 0.0


def evaluate_metric(stats: MetricStats, threshold: Threshold | None) -> MetricHealth:
    """A metric's level, time to critical and score against its threshold."""
    if threshold is None:
        return MetricHealth(
            stats=stats, threshold=None, level="OK", hours_to_critical=None, score=100.0
        )
    to_critical = stats.hours_to(threshold.critical, threshold.direction)
    penalty = 0.0 if to_critical is None else 20 * max(0.0, 1 - to_critical / TREND_HORIZON_H)
    score = max(0.0, metric_score(threshold.exceedance(stats.current)) - penalty)
    return MetricHealth(
        stats=stats,
        threshold=threshold,
        level=threshold.level(stats.current),
        hours_to_critical=to_critical,
        score=round(score, 1),
    )


def health_index(metrics: Sequence[MetricHealth]) -> int | None:
    """0.7 x worst metric score + 0.3 x mean metric score; None without metrics."""
    if not metrics:
        return None
    scores = [m.score for m in metrics]
    return round(0.7 * min(scores) + 0.3 * statistics.fmean(scores))


def _judge(
    machine: dict[str, Any],
    metrics: dict[str, MetricHealth],
    index: int | None,
    stale_before: datetime,
) -> tuple[HealthStatus, list[str]]:
    reasons: list[str] = []
    for sensor, m in metrics.items():
        if m.level != "OK" and m.threshold is not None:
            reasons.append(
                f"{sensor} {m.stats.current:.2f} {m.stats.unit} is {m.level} "
                f"(warning {m.threshold.warning}, critical {m.threshold.critical})"
            )
        if m.hours_to_critical is not None and m.hours_to_critical < TREND_HORIZON_H:
            reasons.append(
                f"{sensor} trends {m.stats.slope_per_hour:+.3f} {m.stats.unit}/h, critical in "
                f"{m.hours_to_critical:.1f} h"
            )
    beat = machine["last_heartbeat_at"]
    if machine["status"] == "MAINTENANCE":
        return "MAINTENANCE", ["in maintenance", *reasons]
    if machine["status"] in ("DOWN", "OFFLINE"):
        return "DOWN", [f"machine is {machine['status']}", *reasons]
    if beat is None or beat < stale_before:
        heard = "never" if beat is None else beat.isoformat()
        return "DOWN", [f"no heartbeat since {heard}", *reasons]
    if machine.get("connectivity") == "DEGRADED":
        reasons.append("heartbeats intermittent (connectivity DEGRADED)")
    if reasons or (index is not None and index < 70):
        return "DEGRADED", reasons or [f"health index {index} is below 70"]
    return "UP", reasons


async def equipment_health(
    conn: AsyncConn,
    *,
    machine_ids: Sequence[str] | None = None,
    facility_id: str | None = None,
    window_minutes: float = 60,
    heartbeat_timeout_s: float = DEFAULT_HEARTBEAT_TIMEOUT_S,
) -> list[MachineHealth]:
    """Health of the named machines (or a facility's, or all) over the last `window_minutes`."""
    if not 0 < window_minutes <= 7 * 1440:
        raise ValidationError(f"the window must be 1 minute to 7 days long, got {window_minutes}")
    cur = await conn.execute(
        "select machine_id, facility_id, status, last_heartbeat_at, connectivity from equipment "
        "where (%(ids)s::text[] is null or machine_id = any(%(ids)s)) "
        "and (%(f)s::text is null or facility_id = %(f)s) order by machine_id",
        {"ids": None if machine_ids is None else list(machine_ids), "f": facility_id},
    )
    machines = await cur.fetchall()
    if machine_ids is not None:
        missing = set(machine_ids) - {m["machine_id"] for m in machines}
        if missing:
            raise NotFoundError(f"machines {', '.join(sorted(missing))} do not exist")
    until = clock.now()
    since = until - timedelta(minutes=window_minutes)
    ids = [m["machine_id"] for m in machines]
    stats = await window_stats(conn, ids, since=since, until=until)
    thresholds = await effective_thresholds(conn, ids)
    stale_before = until - timedelta(seconds=heartbeat_timeout_s)
    report: list[MachineHealth] = []
    for m in machines:
        mid = m["machine_id"]
        metrics = {
            s: evaluate_metric(st, thresholds[mid].get(s)) for s, st in stats.get(mid, {}).items()
        }
        index = health_index(list(metrics.values()))
        status, reasons = _judge(m, metrics, index, stale_before)
        report.append(
            MachineHealth(
                machine_id=mid,
                facility_id=m["facility_id"],
                machine_status=m["status"],
                status=status,
                health_index=index,
                window_start=since,
                window_end=until,
                last_heartbeat_at=m["last_heartbeat_at"],
                reasons=reasons,
                metrics=metrics,
            )
        )
    return report


async def machine_health(
    conn: AsyncConn,
    machine_id: str,
    *,
    window_minutes: float = 60,
    heartbeat_timeout_s: float = DEFAULT_HEARTBEAT_TIMEOUT_S,
) -> MachineHealth:
    """One machine's health over the last `window_minutes`."""
    found = await equipment_health(
        conn,
        machine_ids=[machine_id],
        window_minutes=window_minutes,
        heartbeat_timeout_s=heartbeat_timeout_s,
    )
    return found[0]
