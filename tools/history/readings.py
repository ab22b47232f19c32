"""Sensor readings in bulk: one machine's readings of every sensor in one binary COPY, laid out by
numpy in PostgreSQL's own format.

The readings of history are measurements of the past, not changes of the plant: they leave no
event per row and move no heartbeat (the live path is `tools.machine_data.sensors`).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

import numpy as np

from tools.core.db import AsyncConn
from tools.core.errors import ValidationError
from tools.machine_data.sensors import SENSOR_UNITS

PG_EPOCH_S = 946_684_800  # 2000-01-01 UTC, where PostgreSQL's binary timestamps count from
_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_TRAILER = struct.pack(">h", -1)


def micros_since_pg_epoch(epoch_seconds: np.ndarray) -> np.ndarray:
    """Seconds since the Unix epoch as PostgreSQL's binary timestamps (µs since 2000-01-01)."""
    return np.round((epoch_seconds - PG_EPOCH_S) * 1e6).astype(np.int64)


async def write_readings(
    conn: AsyncConn, machine_id: str, micros: np.ndarray, values: Mapping[str, np.ndarray]
) -> int:
    """Store a machine's readings: `values[sensor][i]` taken at `micros[i]` (from
    `micros_since_pg_epoch`), in one transaction; the number of rows written."""
    unknown = sorted(set(values) - set(SENSOR_UNITS))
    if unknown:
        raise ValidationError(
            f"unknown sensors {unknown}; sensors are {', '.join(sorted(SENSOR_UNITS))}"
        )
    for sensor, series in values.items():
        if series.shape != micros.shape:
            raise ValidationError(f"{sensor}: {series.shape[0]} values for {micros.shape[0]} times")
    async with conn.transaction(), conn.cursor() as cur:
        async with cur.copy(
            "copy sensor_readings (machine_id, sensor, ts, value, unit) from stdin (format binary)"
        ) as copy:
            await copy.write(_HEADER)
            for sensor, series in values.items():
                await copy.write(_block(machine_id, sensor, micros, series))
            await copy.write(_TRAILER)
    return int(micros.shape[0]) * len(values)


def _block(machine_id: str, sensor: str, micros: np.ndarray, values: np.ndarray) -> bytes:
    """Rows of one machine's sensor in PostgreSQL's binary COPY layout, built by numpy."""
    m, s, u = machine_id.encode(), sensor.encode(), SENSOR_UNITS[sensor].encode()
    layout = np.dtype(
        [
            ("fields", ">i2"),
            ("ml", ">i4"),
            ("m", f"S{len(m)}"),
            ("sl", ">i4"),
            ("s", f"S{len(s)}"),
            ("tl", ">i4"),
            ("ts", ">i8"),
            ("vl", ">i4"),
            ("v", ">f8"),
            ("ul", ">i4"),
            ("u", f"S{len(u)}"),
        ]
    )
    block = np.empty(micros.shape[0], dtype=layout)
    block["fields"], block["ml"], block["m"], block["sl"], block["s"] = 5, len(m), m, len(s), s
    block["tl"], block["ts"], block["vl"], block["v"] = 8, micros, 8, values
    block["ul"], block["u"] = len(u), u
    return block.tobytes()
