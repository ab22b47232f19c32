"""Benchmarks of the simulation: sustained sensor readings per second with every generator on,
and history backfill speed in plant days per real second.

They run in a scratch database of their own on the server `url` names (created, migrated,
loaded with the demo plant, dropped afterwards), never in the plant's database. While the
engine runs flat out, a reader on another connection asks for the plant's health over and over,
as the API does while people look at it.
"""

from __future__ import annotations

import asyncio
import time

from pydantic import BaseModel

from simulation.backfill import backfill
from simulation.config import SimConfig
from simulation.engine import Engine
from tools.core import clock, db
from tools.core.errors import ConflictError
from tools.demo.scratch import scratch_database
from tools.maintenance.health import equipment_health


class SimMeasurement(BaseModel):
    """One figure: `value` in `unit`, from `count` things in `seconds`."""

    name: str
    value: float
    unit: str
    count: int
    seconds: float
    note: str = ""


async def _answering(url: str, stop: asyncio.Event) -> int:
    """Health queries, one after another, until `stop`; how many were answered."""
    answered = 0
    async with db.connection(url) as conn:
        while not stop.is_set():
            async with conn.transaction():
                await equipment_health(conn, window_minutes=15)
            answered += 1
            await asyncio.sleep(0)
    return answered


async def readings_per_second(url: str, *, seconds: float, per_minute: float) -> SimMeasurement:
    """Run the engine flat out with every generator on for `seconds`; readings written per s."""
    fixed = clock.FixedClock(clock.SystemClock().now())
    stop = asyncio.Event()
    with clock.using(fixed):
        try:
            async with db.connection(url) as conn:
                engine = Engine(conn, fixed, SimConfig(seed=42))
                engine.set_rate("sensors", per_minute)
                if not await engine.try_acquire():
                    raise ConflictError("the scratch database's engine lock is taken")
                reader = asyncio.create_task(_answering(url, stop))
                began = time.perf_counter()
                while time.perf_counter() - began < seconds:
                    await engine.step(1)
                elapsed = time.perf_counter() - began
                stop.set()
                answered = await reader
                await engine.release()
        finally:
            stop.set()
    written = engine.world.counts["readings"]
    plant = engine.world.counts["ticks"] * engine.config.tick_s / 60
    return SimMeasurement(
        name="sim_readings",
        value=round(written / elapsed, 1),
        unit="readings/s",
        count=written,
        seconds=round(elapsed, 2),
        note=f"24 machines x 7 sensors, {per_minute:g} a minute each, every generator on; "
        f"{plant:.0f} plant minutes; {answered} health queries answered meanwhile",
    )


async def backfill_speed(url: str, *, days: float) -> SimMeasurement:
    """Backfill `days` of history for every machine; plant days per real second."""
    report = await backfill(url, days)
    return SimMeasurement(
        name="sim_backfill",
        value=round(report.plant_days_per_s, 3),
        unit="plant days/s",
        count=report.readings,
        seconds=round(report.seconds, 2),
        note=f"{days:g} days, {report.machines} machines, one reading per sensor a minute "
        f"({report.readings / report.seconds:,.0f} readings/s); {report.orders} orders",
    )


async def bench_sim(
    url: str, *, seconds: float = 10.0, per_minute: float = 10.0, backfill_days: float = 30.0
) -> list[SimMeasurement]:
    """Both benchmarks, each in its own scratch database on `url`'s server."""
    found = []
    async with scratch_database(url, prefix="titan_simbench") as scratch:
        found.append(await readings_per_second(scratch, seconds=seconds, per_minute=per_minute))
    async with scratch_database(url, prefix="titan_simbench") as scratch:
        found.append(await backfill_speed(scratch, days=backfill_days))
    return found
