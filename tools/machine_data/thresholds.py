"""The thresholds sensor readings are judged by, and vibration severity zones.

Thresholds are per machine with a global fallback (`machine_id` null). For vibration the global
fallback is tightened by the machine's class in the style of ISO 10816 (see `VIBRATION_CLASSES`):
a site's own per-machine vibration threshold wins, otherwise the stricter of the global threshold
and the class's zone boundaries (zone C warns, zone D is critical).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, JsonValue

from tools.core.db import AsyncConn
from tools.core.errors import NotFoundError, ValidationError
from tools.core.operations import Actor, atomic, idempotent, record
from tools.machine_data.sensors import (
    DEFAULT_DIRECTION,
    SENSOR_CEILING,
    SENSOR_FLOOR,
    SENSOR_UNITS,
    SENSORS,
    Direction,
    Level,
    Zone,
)


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
        raise NotFoundError(
            f"machine {machine_id!r} does not exist; list machines for valid IDs",
            entity="machine",
            id=str(machine_id),
        )
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
    floor, ceiling = SENSOR_FLOOR.get(sensor, 0.0), SENSOR_CEILING.get(sensor, math.inf)
    for name, level in (("warning", warning), ("critical", critical)):
        if not floor <= level <= ceiling:
            raise ValidationError(
                f"{sensor} {name} level {level:g} is outside what the sensor can read "
                f"({floor:g} to {ceiling:g} {SENSOR_UNITS.get(sensor, '')}): a threshold there "
                "would never fire",
                sensor=sensor, level=name, floor=floor, ceiling=ceiling,
            )  # fmt: skip
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
