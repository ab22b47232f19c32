"""Sensor readings in batches, and what a sensor is (its unit, its physical range).

Readings are measurements, not domain mutations: a batch is validated in Python (known sensor,
its unit, a finite value within the sensor's physical floor and ceiling, a timezone, not from
the future, no duplicate), its machines are checked with one query, and it is written with one
COPY. The batch leaves one `sensor.readings_recorded` event and one audit row, and moves each
machine's `last_heartbeat_at` to its newest reading. A plant's own feed, which may deliver a
reading twice, is stored through `store_new_readings` instead: checked by the same rules
(`reading_problem`), written idempotently on (machine, sensor, time).

The thresholds readings are judged by are in `tools.machine_data.thresholds`.
"""

from __future__ import annotations

import math
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, JsonValue

from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.errors import NotFoundError, ValidationError
from tools.core.operations import Actor, atomic, idempotent, record
from tools.machine_data.heartbeats import record_heartbeats

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
    """Move each machine's `last_heartbeat_at` forward to its time here (never back), and keep
    the beat in the machine's heartbeat history (`tools.machine_data.heartbeats`)."""
    if not newest:
        return
    await record_heartbeats(conn, newest)
    await conn.execute(
        "update equipment e set last_heartbeat_at = greatest(e.last_heartbeat_at, h.ts) "
        "from unnest(%(ids)s::text[], %(ts)s::timestamptz[]) as h(machine_id, ts) "
        "where e.machine_id = h.machine_id",
        {"ids": list(newest), "ts": list(newest.values())},
    )
