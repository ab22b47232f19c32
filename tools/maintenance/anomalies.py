"""Anomaly detection over a recent window of readings (fault classification from the sensor
signature is in `tools.maintenance.faults`).

Detection (per machine and sensor, statistics from `health.window_stats`):

- THRESHOLD: the current level (median of the last five readings) past the threshold in force
  (`sensor_thresholds.effective_thresholds`: the machine's own, else the global one tightened by the
  vibration class). For vibration the finding names the ISO 10816-style zone of the level.
- TREND (vibration, temperature): a significant least-squares trend (|t| >= 3, >= 10 readings)
  that reaches the critical level within 72 h: WARNING, CRITICAL within 12 h.
- SPIKE: a reading past critical in the window while the current level is not.
- FLATLINE (vibration, temperature, motor current of a RUNNING machine): 30 or more readings of
  one identical value; analogue sensors always carry noise, so this is a stuck sensor.

`scan_anomalies` answers a question: the findings, with nothing written. `detect_anomalies`
records them. A finding is written once: not when an unresolved anomaly of the same machine,
sensor and kind with the same or higher severity exists, and never twice for one (machine,
sensor, kind, severity, time) — re-running detection over the same data writes nothing. Each
new anomaly leaves a `sensor.anomaly` event (machine, facility, sensor, kind, severity) for the
reactors.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal, get_args

from psycopg.types.json import Jsonb
from pydantic import BaseModel, JsonValue

from tools.core import clock
from tools.core.db import AsyncConn, read_only
from tools.core.errors import NotFoundError, ValidationError
from tools.core.lifecycle import Lifecycle
from tools.core.operations import Actor, atomic, idempotent, record
from tools.machine_data.thresholds import (
    Threshold,
    VibrationClass,
    effective_thresholds,
    vibration_class,
)
from tools.maintenance.health import TREND_HORIZON_H, MetricStats, machines_hint, window_stats

Kind = Literal["THRESHOLD", "TREND", "SPIKE", "FLATLINE", "DRIFT"]
Severity = Literal["WARNING", "CRITICAL"]
TREND_SENSORS = ("vibration", "temperature")
FLATLINE_SENSORS = ("vibration", "temperature", "motor_current")
FLATLINE_MIN_READINGS = 30
TREND_CRITICAL_H = 12.0
_RANK = {"WARNING": 1, "CRITICAL": 2}


class Finding(BaseModel):
    machine_id: str
    sensor: str
    kind: Kind
    severity: Severity
    value: float
    threshold: float | None
    detected_at: datetime
    description: str
    details: dict[str, JsonValue]


AnomalyStatus = Literal["OPEN", "ACKNOWLEDGED", "RESOLVED"]


class Anomaly(Finding):
    anomaly_id: int
    status: AnomalyStatus


class ScanReport(BaseModel):
    """What the readings of a window show; a scan records none of it."""

    window_start: datetime
    window_end: datetime
    findings: list[Finding]


class DetectionReport(ScanReport):
    """A scan's findings and the anomalies recorded from them (only the new ones)."""

    written: list[Anomaly]


# ───────────────────────── detection ─────────────────────────


async def known_machines(
    conn: AsyncConn, machine_ids: Sequence[str] | None
) -> list[dict[str, Any]]:
    """The machines asked for (all when None) with facility, status and rated power; an unknown
    ID is a NotFoundError."""
    cur = await conn.execute(
        "select e.machine_id, e.facility_id, e.status, m.rated_power_kw from equipment e "
        "join machine_models m using (model) "
        "where %(ids)s::text[] is null or e.machine_id = any(%(ids)s) order by e.machine_id",
        {"ids": None if machine_ids is None else list(machine_ids)},
    )
    rows = await cur.fetchall()
    missing = set(machine_ids or ()) - {r["machine_id"] for r in rows}
    if missing:
        raise NotFoundError(
            f"machines {', '.join(sorted(missing))} do not exist; "
            f"{await machines_hint(conn, missing)}"
        )
    return rows


def window_ending_now(window_minutes: float) -> tuple[datetime, datetime]:
    """The window of `window_minutes` ending now (1 minute to 7 days)."""
    if not 0 < window_minutes <= 7 * 1440:
        raise ValidationError(f"the window must be 1 minute to 7 days long, got {window_minutes}")
    until = clock.now()
    return until - timedelta(minutes=window_minutes), until


def _threshold_finding(
    machine_id: str, s: MetricStats, t: Threshold, cls: VibrationClass
) -> Finding | None:
    level = t.level(s.current)
    if level == "OK":
        return None
    limit = t.critical if level == "CRITICAL" else t.warning
    details: dict[str, JsonValue] = {
        "window_readings": s.n,
        "threshold_source": t.source,
        "warning": t.warning,
        "critical": t.critical,
    }
    zone = ""
    if s.sensor == "vibration":
        details |= {
            "zone": cls.zone(s.current),
            "class": cls.name,
            "zone_limits_mm_s": {"A/B": cls.ab, "B/C": cls.bc, "C/D": cls.cd},
        }
        zone = f", ISO 10816 zone {cls.zone(s.current)} ({cls.name})"
    side = "above" if t.direction == "ABOVE" else "below"
    return Finding(
        machine_id=machine_id,
        sensor=s.sensor,
        kind="THRESHOLD",
        severity=level,
        value=s.current,
        threshold=limit,
        detected_at=s.last_ts,
        details=details,
        description=f"{s.sensor} {s.current:.2f} {s.unit} is {side} its {level.lower()} level "
        f"{limit:g} {s.unit}{zone}",
    )


def _trend_finding(machine_id: str, s: MetricStats, t: Threshold) -> Finding | None:
    hours = s.hours_to(t.critical, t.direction)
    if s.sensor not in TREND_SENSORS or hours is None or not 0 < hours <= TREND_HORIZON_H:
        return None
    assert s.slope_per_hour is not None and s.fitted_last is not None
    severity: Severity = "CRITICAL" if hours <= TREND_CRITICAL_H else "WARNING"
    return Finding(
        machine_id=machine_id,
        sensor=s.sensor,
        kind="TREND",
        severity=severity,
        value=s.fitted_last,
        threshold=t.critical,
        detected_at=s.last_ts,
        details={
            "slope_per_hour": s.slope_per_hour,
            "trend_t": s.trend_t,
            "hours_to_critical": hours,
            "window_readings": s.n,
        },
        description=f"{s.sensor} rises {s.slope_per_hour:+.3f} {s.unit}/h (t = {s.trend_t:.1f}); "
        f"at this rate it reaches critical {t.critical:g} {s.unit} in {hours:.1f} h",
    )


def _findings(
    machine: dict[str, Any], stats: dict[str, MetricStats], thresholds: dict[str, Threshold]
) -> list[Finding]:
    mid = machine["machine_id"]
    cls = vibration_class(float(machine["rated_power_kw"]))
    found: list[Finding] = []
    for sensor, s in stats.items():
        t = thresholds.get(sensor)
        if t is not None:
            found += [
                f for f in (_threshold_finding(mid, s, t, cls), _trend_finding(mid, s, t)) if f
            ]
            extreme = s.max if t.direction == "ABOVE" else s.min
            if t.level(extreme) == "CRITICAL" and t.level(s.current) != "CRITICAL":
                found.append(
                    Finding(
                        machine_id=mid,
                        sensor=sensor,
                        kind="SPIKE",
                        severity="WARNING",
                        value=extreme,
                        threshold=t.critical,
                        detected_at=s.last_ts,
                        details={"current": s.current, "window_readings": s.n},
                        description=f"{sensor} reached {extreme:g} {s.unit}, past critical "
                        f"{t.critical:g}, and fell back to {s.current:.2f} {s.unit}",
                    )
                )
        flat = s.n >= FLATLINE_MIN_READINGS and s.max == s.min
        if flat and sensor in FLATLINE_SENSORS and machine["status"] == "RUNNING":
            found.append(
                Finding(
                    machine_id=mid,
                    sensor=sensor,
                    kind="FLATLINE",
                    severity="WARNING",
                    value=s.last,
                    threshold=None,
                    detected_at=s.last_ts,
                    details={"window_readings": s.n},
                    description=f"{sensor} read exactly {s.last:g} {s.unit} {s.n} times while the "
                    "machine ran: the sensor looks stuck",
                )
            )
    return found


async def _scan(
    conn: AsyncConn, machine_ids: Sequence[str] | None, since: datetime, until: datetime
) -> tuple[list[Finding], dict[str, str]]:
    """The findings of the window over the machines (all when None), and each one's facility."""
    machines = await known_machines(conn, machine_ids)
    ids = [m["machine_id"] for m in machines]
    stats = await window_stats(conn, ids, since=since, until=until)
    thresholds = await effective_thresholds(conn, ids)
    findings = [
        f
        for m in machines
        for f in _findings(m, stats.get(m["machine_id"], {}), thresholds[m["machine_id"]])
    ]
    return findings, {m["machine_id"]: m["facility_id"] for m in machines}


async def scan_anomalies(
    conn: AsyncConn, *, machine_ids: Sequence[str] | None = None, window_minutes: float = 60
) -> ScanReport:
    """What `detect_anomalies` would find in the last `window_minutes` (all machines unless
    named), recording nothing: the read of a question."""
    since, until = window_ending_now(window_minutes)
    async with read_only(conn):
        findings, _ = await _scan(conn, machine_ids, since, until)
    return ScanReport(window_start=since, window_end=until, findings=findings)


async def detect_anomalies(
    conn: AsyncConn,
    actor: Actor,
    *,
    machine_ids: Sequence[str] | None = None,
    window_minutes: float = 60,
    idempotency_key: str | None = None,
) -> DetectionReport:
    """Find anomalies in the last `window_minutes` of readings (all machines unless named) and
    write the new ones, each with a `sensor.anomaly` event."""
    since, until = window_ending_now(window_minutes)

    async def run() -> DetectionReport:
        findings, facility = await _scan(conn, machine_ids, since, until)
        written = await _write(conn, actor, findings, facility)
        return DetectionReport(
            window_start=since, window_end=until, findings=findings, written=written
        )

    async with atomic(conn):
        return await idempotent(conn, idempotency_key, "anomalies.detect", DetectionReport, run)


_INSERT = """insert into anomalies (machine_id, sensor, kind, severity, value, threshold,
    detected_at, description, details)
values (%(machine_id)s, %(sensor)s, %(kind)s, %(severity)s, %(value)s, %(threshold)s,
    %(detected_at)s, %(description)s, %(details)s)
on conflict (machine_id, sensor, kind, severity, detected_at) do nothing
returning anomaly_id, status"""


async def _write(
    conn: AsyncConn, actor: Actor, findings: list[Finding], facility: dict[str, str]
) -> list[Anomaly]:
    machines = sorted({f.machine_id for f in findings})
    for m in machines:  # one detector at a time per machine decides what is new
        await conn.execute("select pg_advisory_xact_lock(hashtextextended(%s, 10816))", (m,))
    cur = await conn.execute(
        "select machine_id, sensor, kind, max(case severity when 'CRITICAL' then 2 else 1 end) "
        "as rank from anomalies where machine_id = any(%(ids)s) and status <> 'RESOLVED' "
        "group by machine_id, sensor, kind",
        {"ids": machines},
    )
    unresolved = {
        (r["machine_id"], r["sensor"], r["kind"]): r["rank"] for r in await cur.fetchall()
    }
    written: list[Anomaly] = []
    for f in findings:
        if unresolved.get((f.machine_id, f.sensor, f.kind), 0) >= _RANK[f.severity]:
            continue
        params = f.model_dump() | {"details": Jsonb(f.details)}
        cur = await conn.execute(_INSERT, params)
        row = await cur.fetchone()
        if row is None:
            continue
        anomaly = Anomaly.model_validate(f.model_dump() | row)
        payload: dict[str, JsonValue] = anomaly.model_dump(mode="json", exclude={"details"})
        await record(
            conn,
            actor,
            event_type="sensor.anomaly",
            entity_type="anomaly",
            entity_id=str(anomaly.anomaly_id),
            action="detect",
            after={"status": anomaly.status, "severity": anomaly.severity},
            payload=payload | {"facility_id": facility[f.machine_id], "details": f.details},
        )
        unresolved[f.machine_id, f.sensor, f.kind] = _RANK[f.severity]
        written.append(anomaly)
    return written


async def list_anomalies(
    conn: AsyncConn,
    machine_id: str | None = None,
    *,
    status: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[Anomaly]:
    """Anomalies, newest first, optionally of one machine, status and since a time."""
    if status is not None and status not in ("OPEN", "ACKNOWLEDGED", "RESOLVED"):
        raise ValidationError(
            f"anomaly status {status!r} is unknown; use OPEN, ACKNOWLEDGED, RESOLVED"
        )
    cur = await conn.execute(
        "select anomaly_id, machine_id, sensor, kind, severity, value, threshold, detected_at, "
        "status, description, details from anomalies "
        "where (%(m)s::text is null or machine_id = %(m)s) "
        "and (%(s)s::text is null or status = %(s)s) "
        "and (%(since)s::timestamptz is null or detected_at >= %(since)s) "
        "order by detected_at desc, anomaly_id desc limit %(limit)s",
        {"m": machine_id, "s": status, "since": since, "limit": limit},
    )
    return [Anomaly.model_validate(r) for r in await cur.fetchall()]


ANOMALY_LIFECYCLE: Lifecycle[AnomalyStatus] = Lifecycle(
    entity="anomaly",
    statuses=get_args(AnomalyStatus),
    moves={
        "OPEN": frozenset({"ACKNOWLEDGED", "RESOLVED"}),
        "ACKNOWLEDGED": frozenset({"RESOLVED"}),
        "RESOLVED": frozenset(),
    },
)


async def set_anomaly_status(
    conn: AsyncConn,
    actor: Actor,
    *,
    anomaly_id: int,
    status: str,
    note: str = "",
    idempotency_key: str | None = None,
) -> Anomaly:
    """Acknowledge (OPEN → ACKNOWLEDGED) or resolve (OPEN/ACKNOWLEDGED → RESOLVED) an anomaly."""

    async def run() -> Anomaly:
        return await change_anomaly_status(
            conn, actor, anomaly_id=anomaly_id, status=status, note=note
        )

    async with atomic(conn):
        return await idempotent(conn, idempotency_key, "anomalies.set_status", Anomaly, run)


async def change_anomaly_status(
    conn: AsyncConn, actor: Actor, *, anomaly_id: int, status: str, note: str = ""
) -> Anomaly:
    """The status change of `set_anomaly_status`, in the caller's transaction."""
    cur = await conn.execute(
        "select anomaly_id, machine_id, sensor, kind, severity, value, threshold, detected_at, "
        "status, description, details from anomalies where anomaly_id = %s for update",
        (anomaly_id,),
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFoundError(
            f"anomaly {anomaly_id} does not exist; list anomalies for valid IDs",
            entity="anomaly",
            id=str(anomaly_id),
        )
    ANOMALY_LIFECYCLE.check(str(anomaly_id), row["status"], status)
    await conn.execute(
        "update anomalies set status = %s where anomaly_id = %s", (status, anomaly_id)
    )
    await record(
        conn,
        actor,
        event_type=f"anomaly.{status.lower()}",
        entity_type="anomaly",
        entity_id=str(anomaly_id),
        action="set_status",
        before={"status": row["status"]},
        after={"status": status},
        payload={"machine_id": row["machine_id"], "note": note},
    )
    return Anomaly.model_validate(row | {"status": status})
