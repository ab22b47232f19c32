"""The simulation engine inside a service process, or standing by for it.

Of all the service processes on a database (`titan serve --workers N`, or replicas on other
machines) one runs the engine: the one that takes the engine lock. The others stand by: their
process clock follows the running engine's plant time from what it saves each tick, so that what
they write carries the plant's time, and they try the lock every `STANDBY_S` seconds, so that one
of them takes over when the engine's process ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import psycopg
from psycopg.conninfo import make_conninfo

from api.hosting.leadership import wait_for
from api.http.service import Service
from simulation import state
from simulation.config import SimConfig
from simulation.engine import Engine
from simulation.lock import holder
from tools.core import clock, db
from tools.core.settings import get_settings

log = logging.getLogger(__name__)

FOLLOW_S = 0.5  # how often a standing-by process reads the engine's plant time
STANDBY_S = 2.0  # how often it tries the engine lock
APPLICATION_NAME = "titan-simulation"


async def follow(conn: db.AsyncConn, followed: clock.FollowedClock) -> None:
    """Anchor `followed` at the engine's last saved plant time (unchanged if it never saved)."""
    async with conn.transaction():
        saved = await state.engine_time(conn)
    if saved is not None:
        followed.follow(
            saved.plant_time,
            age_s=saved.age_s if saved.running else 0.0,
            speed=saved.speed,
            paused=saved.paused or not saved.running,
        )


async def _engine(conn: db.AsyncConn, base: SimConfig, followed: clock.FollowedClock) -> Engine:
    """An engine that picks up plant time where the last one (or the followed clock) left it."""
    saved = await state.load_state(conn)
    start = await state.resume_time(conn, wall=clock.SystemClock().now())
    plant_clock = clock.SimulatedClock(max(start, followed.now()), base.speed)
    return Engine(conn, plant_clock, state.config_from(saved, base))


async def _play(
    conn: db.AsyncConn, base: SimConfig, followed: clock.FollowedClock, stop: asyncio.Event
) -> None:
    """Stand by until this process holds the engine lock, then run the engine until `stop`."""
    told = False
    while not stop.is_set():
        other = await holder(conn)
        if other is None:  # the lock looks free: make an engine and try it
            engine = await _engine(conn, base, followed)
            if await engine.try_acquire():
                clock.set_clock(engine.clock)
                try:
                    await engine.run(stop=stop)
                finally:
                    await engine.release()
                return
        elif not told:
            log.info(
                "the simulation engine runs in %s; this process follows its plant time",
                other.describe(),
            )
            told = True
        for _ in range(round(STANDBY_S / FOLLOW_S)):
            try:
                await follow(conn, followed)
            except psycopg.Error as exc:
                log.warning("could not read the engine's plant time (%s)", exc)
            await wait_for(stop, FOLLOW_S)
            if stop.is_set():
                return


async def _play_connected(
    url: str, base: SimConfig, followed: clock.FollowedClock, stop: asyncio.Event
) -> None:
    """`_play` on a connection of its own, so that a run the supervisor restarts after a lost
    connection starts on a fresh one."""
    named = make_conninfo(url, application_name=APPLICATION_NAME)  # seen in pg_stat_activity
    async with await db.connect(named) as conn:
        await _play(conn, base, followed, stop)


@asynccontextmanager
async def engine_running(service: Service, seed: int) -> AsyncIterator[asyncio.Event]:
    """Run the engine (or stand by for it) in the background on a connection of its own,
    restarted when it fails; set the yielded event to stop it: the engine ends its tick and
    releases its lock.

    From the start this process's clock is plant time: the engine's once it runs here, the
    followed one while it stands by."""
    async with await db.connect(service.url) as conn:
        saved = await state.load_state(conn)
        base = SimConfig(seed=saved.seed if saved else seed, speed=get_settings().sim_speed)
        start = await state.resume_time(conn, wall=clock.SystemClock().now())
        followed = clock.FollowedClock(start, saved.speed if saved else base.speed)
        await follow(conn, followed)
    previous = clock.set_clock(followed)
    stop = asyncio.Event()
    # Supervised like the rest of the service's background work: an engine that fails (its
    # database connection lost) is restarted, on a fresh connection, and counted.
    task = service.supervisor.start(
        "simulation", lambda: _play_connected(service.url, base, followed, stop), stop
    )
    try:
        yield stop
    finally:
        stop.set()
        with suppress(asyncio.CancelledError):
            await task
        clock.set_clock(previous)
