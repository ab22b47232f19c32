"""Sensor readings in batches, the thresholds they are judged by, and vibration severity zones.

Readings are measurements, not domain mutations: a batch is validated in Python (known sensor,
its unit, a finite value within the sensor's physical floor and ceiling, a timezone, not from
the future, no duplicate), its machines are checked with one query, and it is written with one
COPY. The batch leaves one `sensor.readings_recorded` event and one audit row, and moves each
machine's `last_heartbeat_at` to its newest reading. A plant's own feed, which may deliver a
reading twice, is stored through `store_new_readings` instead: checked by the same rules
(`reading_problem`), written idempotently on (machine, sensor, time).

Thresholds are per machine with a global fallback (`machine_id` null). For vibration the global
fallback is tightened by the machine's class in the style of ISO 10816 (see `VIBRATION_CLASSES`):
a site's own per-machine vibration threshold wins, otherwise the stricter of the global threshold
and the class's zone boundaries (zone C warns, zone D is critical).
"""

from __future__ import annotations

import math
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, JsonValue

from tools import clock
from tools.db import AsyncConn
from tools.errors import NotFoundError, ValidationError
from tools.operations import Actor, atomic, idempotent, record

Sensor = Literal[
    "vibration",
    "temperature",
    "spindle_speed",
    "spindle_load",
    "coolant_pressure",
    "motor_current",
    "power",
]
Direction = Literal["ABOVE", "BELOW"]
Level = Literal["OK", "WARNING", "CRITICAL"]
Zone = Literal["A", "B", "C", "D"]

SENSOR_UNITS: dict[str, str] = {
    "vibration": "mm/s",
    "temperature": "°C",
    "spindle_speed": "rpm",
    "spindle_load": "%",
    "coolant_pressure": "bar",
    "motor_current": "A",
    "power": "kW",
}
SENSORS: tuple[str, ...] = tuple(SENSOR_UNITS)
# The lowest physically possible value of each sensor (absolute zero for temperature).
SENSOR_FLOOR: dict[str, float] = dict.fromkeys(SENSORS, 0.0) | {"temperature": -273.15}
# Far past anything a machine tool can show: a value above is a broken sensor or a wrong unit.
SENSOR_CEILING: dict[str, float] = {
    "vibration": 1_000.0,
    "temperature": 2_000.0,
    "spindle_speed": 200_000.0,
    "spindle_load": 1_000.0,
    "coolant_pressure": 1_000.0,
    "motor_current": 10_000.0,
    "power": 100_000.0,
}
# Where a sensor's alarms sit when nobody has said: low coolant pressure is the danger.
DEFAULT_DIRECTION: dict[str, Direction] = {
    s: "BELOW" if s == "coolant_pressure" else "ABOVE" for s in SENSORS
}
MAX_BATCH = 100_000
# Machine clocks drift; a reading a little ahead of the plant clock is still accepted.
FUTURE_TOLERANCE = timedelta(minutes=5)


class Reading(BaseModel):
    """One measurement; `unit` may be left out and is then the sensor's own."""

    machine_id: str
    sensor: str
    ts: datetime
    value: float
    unit: str | None = None


class ReadingsRecorded(BaseModel):
    """What a batch wrote."""

    batch_id: str
    readings: int
    machines: int
    first_ts: datetime
    last_ts: datetime
    per_machine: dict[str, int]
    per_sensor: dict[str, int]


class Threshold(BaseModel):
    """The warning and critical levels a sensor of a machine is judged by.

    `source` says where they come from: the machine's own row, the global row, or the global
    row tightened by the machine's vibration class (`iso_class`).
    """

    sensor: str
    unit: str
    direction: Direction
    warning: float
    critical: float
    machine_id: str | None
    source: Literal["machine", "global", "iso_class"]

    def level(self, value: float) -> Level:
        """OK, WARNING or CRITICAL for `value`."""
        beyond = self.exceedance(value)
        return "CRITICAL" if beyond >= 1 else "WARNING" if beyond >= 0 else "OK"

    def exceedance(self, value: float) -> float:
        """How far `value` lies past warning, in warning-to-critical spans (0 at warning, 1 at
        critical, negative on the safe side)."""
        span = self.critical - self.warning  # negative for BELOW: the sign flips with it
        return (value - self.warning) / span


class VibrationClass(BaseModel):
    """Zone boundaries (velocity RMS, mm/s) for a class of machine, in the style of ISO 10816.

    A: newly commissioned; B: fine for unrestricted long-term operation; C: not for long-term
    operation, plan maintenance; D: severe enough to cause damage.
    """

    name: str
    ab: float
    bc: float
    cd: float

    def zone(self, value: float) -> Zone:
        return (
            "A" if value < self.ab else "B" if value < self.bc else "C" if value < self.cd else "D"
        )


# By rated power: ISO 10816-1 class I for small machines; ISO 10816-3 group 2 (15-300 kW) and
# group 1 (above 300 kW) on flexible mounts, as machine tools usually stand.
VIBRATION_CLASSES: tuple[tuple[float, VibrationClass], ...] = (
    (15.0, VibrationClass(name="ISO 10816-1 class I (up to 15 kW)", ab=0.71, bc=1.8, cd=4.5)),
    (300.0, VibrationClass(name="ISO 10816-3 group 2 (15-300 kW)", ab=2.3, bc=4.5, cd=7.1)),
    (math.inf, VibrationClass(name="ISO 10816-3 group 1 (over 300 kW)", ab=3.5, bc=7.1, cd=11.0)),
)


def vibration_class(rated_power_kw: float) -> VibrationClass:
    """The vibration class of a machine of this rated power."""
    return next(cls for limit, cls in VIBRATION_CLASSES if rated_power_kw <= limit)


# ───────────────────────── readings ─────────────────────────


async def record_readings(
    conn: AsyncConn,
    actor: Actor,
    *,
    readings: Sequence[Reading],
    idempotency_key: str | None = None,
) -> ReadingsRecorded:
    """Validate and store a batch of readings with one COPY; one event and audit row per batch."""

    async def run() -> ReadingsRecorded:
        return await _record(conn, actor, readings)

    async with atomic(conn):
        return await idempotent(
            conn, idempotency_key, "sensors.record_readings", ReadingsRecorded, run
        )


ProblemKind = Literal["unknown_sensor", "wrong_unit", "out_of_range", "no_timezone", "future_time"]


def reading_problem(r: Reading, latest: datetime) -> tuple[ProblemKind, str] | None:
    """What is wrong with a reading (its kind and the words for a person), or None when it may
    be stored: `latest` is the newest time accepted."""
    unit = SENSOR_UNITS.get(r.sensor)
    if unit is None:
        return "unknown_sensor", f"sensor {r.sensor!r} is unknown; sensors are {', '.join(SENSORS)}"
    if r.unit is not None and r.unit != unit:
        return "wrong_unit", f"unit {r.unit!r} is wrong; {r.sensor} is measured in {unit}"
    floor, ceiling = SENSOR_FLOOR[r.sensor], SENSOR_CEILING[r.sensor]
    if not (math.isfinite(r.value) and floor <= r.value <= ceiling):
        return "out_of_range", (
            f"value {r.value} is impossible; it must be a finite number of at least {floor} "
            f"{unit} and at most {ceiling} {unit}"
        )
    if r.ts.tzinfo is None:
        return "no_timezone", f"time {r.ts.isoformat()} has no timezone"
    if r.ts > latest:
        return "future_time", (
            f"time {r.ts.isoformat()} is in the future; readings may be at most "
            f"{FUTURE_TOLERANCE} ahead of the plant clock"
        )
    return None


def _check_reading(i: int, r: Reading, latest: datetime) -> str:
    """The reading's unit, or a ValidationError naming reading `i` and what would be valid."""
    problem = reading_problem(r, latest)
    if problem is not None:
        kind, words = problem
        label = r.machine_id if kind == "unknown_sensor" else f"{r.machine_id} {r.sensor}"
        raise ValidationError(f"reading {i} ({label}): {words}")
    return SENSOR_UNITS[r.sensor]


async def _record(conn: AsyncConn, actor: Actor, readings: Sequence[Reading]) -> ReadingsRecorded:
    if not 1 <= len(readings) <= MAX_BATCH:
        raise ValidationError(
            f"a batch of readings holds 1 to {MAX_BATCH} readings, got {len(readings)}"
        )
    latest = clock.now() + FUTURE_TOLERANCE
    seen: set[tuple[str, str, datetime]] = set()
    newest: dict[str, datetime] = {}
    lines: list[str] = []
    for i, r in enumerate(readings):
        unit = _check_reading(i, r, latest)
        key = (r.machine_id, r.sensor, r.ts)
        if key in seen:
            raise ValidationError(
                f"reading {i}: {r.machine_id} {r.sensor} at {r.ts.isoformat()} appears twice "
                "in the batch; each sensor has one reading per instant"
            )
        seen.add(key)
        previous = newest.get(r.machine_id)
        if previous is None or r.ts > previous:
            newest[r.machine_id] = r.ts
        lines.append(f"{r.machine_id}\t{r.sensor}\t{r.ts.isoformat()}\t{r.value!r}\t{unit}\n")
    # Locked in ID order, so that batches racing over the same machines queue, not deadlock.
    cur = await conn.execute(
        "select machine_id from equipment where machine_id = any(%(ids)s) order by machine_id "
        "for no key update",
        {"ids": list(newest)},
    )
    unknown = set(newest) - {row["machine_id"] for row in await cur.fetchall()}
    if unknown:
        raise NotFoundError(
            f"readings name machines that do not exist: {', '.join(sorted(unknown))}; "
            "list machines to see the valid IDs"
        )
    # Validated above: IDs exist, sensors and units are known words, so no field needs escaping.
    async with (
        conn.cursor() as copy_cur,
        copy_cur.copy(
            "copy sensor_readings (machine_id, sensor, ts, value, unit) from stdin"
        ) as copy,
    ):
        await copy.write("".join(lines))
    await move_heartbeats(conn, newest)
    stamps = [r.ts for r in readings]
    result = ReadingsRecorded(
        batch_id=f"batch-{uuid.uuid4().hex[:16]}",
        readings=len(readings),
        machines=len(newest),
        first_ts=min(stamps),
        last_ts=max(stamps),
        per_machine=dict(Counter(r.machine_id for r in readings)),
        per_sensor=dict(Counter(r.sensor for r in readings)),
    )
    summary: dict[str, JsonValue] = result.model_dump(mode="json")
    await record(
        conn,
        actor,
        event_type="sensor.readings_recorded",
        entity_type="sensor_batch",
        entity_id=result.batch_id,
        action="record_readings",
        after=summary,
        payload=summary,
    )
    return result


async def store_new_readings(conn: AsyncConn, readings: Sequence[Reading]) -> int:
    """How many of these readings were new: stores them, skipping any already stored for the
    same machine, sensor and time, and moves the machines' heartbeats. The readings must have
    passed `reading_problem` and name existing machines; the caller owns the transaction.

    A feed that delivers at least once (MQTT QoS 1) may repeat a message: the repeat changes
    nothing. One statement over arrays: a batch costs one round trip, whatever its size.
    """
    if not readings:
        return 0
    newest: dict[str, datetime] = {}
    for r in readings:
        previous = newest.get(r.machine_id)
        if previous is None or r.ts > previous:
            newest[r.machine_id] = r.ts
    cur = await conn.execute(
        "insert into sensor_readings (machine_id, sensor, ts, value, unit) "
        "select * from unnest(%(m)s::text[], %(s)s::text[], %(t)s::timestamptz[], "
        "%(v)s::float8[], %(u)s::text[]) on conflict (machine_id, sensor, ts) do nothing",
        {
            "m": [r.machine_id for r in readings],
            "s": [r.sensor for r in readings],
            "t": [r.ts for r in readings],
            "v": [r.value for r in readings],
            "u": [SENSOR_UNITS[r.sensor] for r in readings],
        },
    )
    stored = cur.rowcount
    await move_heartbeats(conn, newest)
    return stored


async def move_heartbeats(conn: AsyncConn, newest: Mapping[str, datetime]) -> None:
    """Move each machine's `last_heartbeat_at` forward to its time here (never back)."""
    if not newest:
        return
    await conn.execute(
        "update equipment e set last_heartbeat_at = greatest(e.last_heartbeat_at, h.ts) "
        "from unnest(%(ids)s::text[], %(ts)s::timestamptz[]) as h(machine_id, ts) "
        "where e.machine_id = h.machine_id",
        {"ids": list(newest), "ts": list(newest.values())},
    )


# ───────────────────────── thresholds ─────────────────────────

_THRESHOLD_COLUMNS = "sensor, unit, direction, warning, critical, machine_id"


async def effective_thresholds(
    conn: AsyncConn, machine_ids: Sequence[str]
) -> dict[str, dict[str, Threshold]]:
    """Machine → sensor → the threshold in force (own, else global tightened by class)."""
    cur = await conn.execute(
        "select e.machine_id, m.rated_power_kw from equipment e join machine_models m "
        "using (model) where e.machine_id = any(%(ids)s)",
        {"ids": list(machine_ids)},
    )
    power = {row["machine_id"]: float(row["rated_power_kw"]) for row in await cur.fetchall()}
    cur = await conn.execute(
        f"select {_THRESHOLD_COLUMNS} from sensor_thresholds "
        "where machine_id is null or machine_id = any(%(ids)s)",
        {"ids": list(machine_ids)},
    )
    rows = await cur.fetchall()
    globals_ = {r["sensor"]: r for r in rows if r["machine_id"] is None}
    own: dict[tuple[str, str], dict[str, Any]] = {
        (r["machine_id"], r["sensor"]): r for r in rows if r["machine_id"] is not None
    }
    found: dict[str, dict[str, Threshold]] = {}
    for machine_id, rated_kw in power.items():
        per: dict[str, Threshold] = {}
        for sensor in SENSORS:
            mine = own.get((machine_id, sensor))
            if mine is not None:
                per[sensor] = Threshold.model_validate(mine | {"source": "machine"})
            elif sensor in globals_:
                per[sensor] = _global(globals_[sensor], machine_id, rated_kw)
        found[machine_id] = per
    return found


def _global(row: dict[str, Any], machine_id: str, rated_kw: float) -> Threshold:
    base = Threshold.model_validate(row | {"machine_id": machine_id, "source": "global"})
    if base.sensor != "vibration" or base.direction != "ABOVE":
        return base
    cls = vibration_class(rated_kw)
    warning, critical = min(base.warning, cls.bc), min(base.critical, cls.cd)
    if (warning, critical) == (base.warning, base.critical):
        return base
    return base.model_copy(update={"warning": warning, "critical": critical, "source": "iso_class"})


async def get_thresholds(conn: AsyncConn, machine_id: str) -> list[Threshold]:
    """The thresholds in force for one machine, one per sensor that has any."""
    found = await effective_thresholds(conn, [machine_id])
    if machine_id not in found:
        raise NotFoundError(f"machine {machine_id!r} does not exist; list machines for valid IDs")
    return list(found[machine_id].values())


async def set_threshold(
    conn: AsyncConn,
    actor: Actor,
    *,
    sensor: str,
    warning: float,
    critical: float,
    machine_id: str | None = None,
    direction: str | None = None,
    idempotency_key: str | None = None,
) -> Threshold:
    """Set a machine's own threshold for a sensor (or the global one when `machine_id` is None)."""

    async def run() -> Threshold:
        return await _set_threshold(conn, actor, sensor, warning, critical, machine_id, direction)

    async with atomic(conn):
        return await idempotent(conn, idempotency_key, "sensors.set_threshold", Threshold, run)


def _check_levels(sensor: str, direction: str, warning: float, critical: float) -> Direction:
    if direction not in ("ABOVE", "BELOW"):
        raise ValidationError(f"threshold direction {direction!r} is invalid; use ABOVE or BELOW")
    if not (math.isfinite(warning) and math.isfinite(critical)):
        raise ValidationError(f"{sensor} threshold levels must be finite numbers")
    if direction == "ABOVE" and not critical > warning:
        raise ValidationError(
            f"{sensor} threshold: critical {critical} must lie above warning {warning} "
            "for an ABOVE threshold"
        )
    if direction == "BELOW" and not critical < warning:
        raise ValidationError(
            f"{sensor} threshold: critical {critical} must lie below warning {warning} "
            "for a BELOW threshold"
        )
    return "ABOVE" if direction == "ABOVE" else "BELOW"


async def _set_threshold(
    conn: AsyncConn,
    actor: Actor,
    sensor: str,
    warning: float,
    critical: float,
    machine_id: str | None,
    direction: str | None,
) -> Threshold:
    if sensor not in SENSOR_UNITS:
        raise ValidationError(f"sensor {sensor!r} is unknown; sensors are {', '.join(SENSORS)}")
    if machine_id is not None:
        cur = await conn.execute(
            "select 1 from equipment where machine_id = %(m)s", {"m": machine_id}
        )
        if await cur.fetchone() is None:
            raise NotFoundError(
                f"machine {machine_id!r} does not exist; list machines for valid IDs"
            )
    cur = await conn.execute(
        f"select {_THRESHOLD_COLUMNS} from sensor_thresholds where sensor = %(s)s "
        "and machine_id is not distinct from %(m)s for update",
        {"s": sensor, "m": machine_id},
    )
    before = await cur.fetchone()
    chosen = direction or (before["direction"] if before else DEFAULT_DIRECTION[sensor])
    checked = _check_levels(sensor, chosen, warning, critical)
    cur = await conn.execute(
        "insert into sensor_thresholds (sensor, machine_id, unit, direction, warning, critical) "
        "values (%(s)s, %(m)s, %(u)s, %(d)s, %(w)s, %(c)s) "
        "on conflict (sensor, machine_id) do update set direction = excluded.direction, "
        "warning = excluded.warning, critical = excluded.critical "
        f"returning {_THRESHOLD_COLUMNS}",
        {
            "s": sensor,
            "m": machine_id,
            "u": SENSOR_UNITS[sensor],
            "d": checked,
            "w": warning,
            "c": critical,
        },
    )
    row = await cur.fetchone()
    assert row is not None
    after = Threshold.model_validate(row | {"source": "machine" if machine_id else "global"})
    await record(
        conn,
        actor,
        event_type="sensor.threshold_changed",
        entity_type="sensor_threshold",
        entity_id=f"{machine_id or '*'}/{sensor}",
        action="set_threshold",
        before=_levels(before),
        after=_levels(row),
    )
    return after


def _levels(row: Mapping[str, Any] | None) -> dict[str, JsonValue] | None:
    if row is None:
        return None
    return {
        "direction": str(row["direction"]),
        "warning": float(row["warning"]),
        "critical": float(row["critical"]),
    }


async def clear_threshold(
    conn: AsyncConn,
    actor: Actor,
    *,
    machine_id: str,
    sensor: str,
    idempotency_key: str | None = None,
) -> Threshold | None:
    """Remove a machine's own threshold; returns the (global) one now in force, if any."""

    async def run() -> _Cleared:
        return _Cleared(threshold=await _clear(conn, actor, machine_id, sensor))

    async with atomic(conn):
        done = await idempotent(conn, idempotency_key, "sensors.clear_threshold", _Cleared, run)
    return done.threshold


class _Cleared(BaseModel):
    threshold: Threshold | None


async def _clear(conn: AsyncConn, actor: Actor, machine_id: str, sensor: str) -> Threshold | None:
    cur = await conn.execute(
        f"delete from sensor_thresholds where machine_id = %(m)s and sensor = %(s)s "
        f"returning {_THRESHOLD_COLUMNS}",
        {"m": machine_id, "s": sensor},
    )
    removed = await cur.fetchone()
    if removed is None:
        raise NotFoundError(
            f"machine {machine_id!r} has no {sensor!r} threshold of its own to clear; "
            "get its thresholds to see which are its own (source 'machine')"
        )
    await record(
        conn,
        actor,
        event_type="sensor.threshold_changed",
        entity_type="sensor_threshold",
        entity_id=f"{machine_id}/{sensor}",
        action="clear_threshold",
        before=_levels(removed),
        after=None,
    )
    return (await effective_thresholds(conn, [machine_id])).get(machine_id, {}).get(sensor)
