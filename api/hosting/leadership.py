"""Which of the service processes on a database leads.

`titan serve --workers N` runs N processes, and replicas may run on other machines. What must run
once runs in the leader only: the MQTT ingest (one broker session per client ID) and the count
of committed events in /metrics (every process hears every event). The leader is the process
whose connection holds a PostgreSQL advisory lock; the others try it every `STANDBY_S` seconds,
so one of them takes over when the leader ends or loses its database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, suppress

import psycopg

from tools.core.errors import TitanError

log = logging.getLogger(__name__)

# Arbitrary but fixed: the key every Titan service process agrees on.
LEADER_KEY = 0x7171_0011
STANDBY_S = 2.0


async def wait_for(stop: asyncio.Event, seconds: float) -> None:
    """Wait `seconds`, or less if `stop` is set meanwhile."""
    with suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await stop.wait()


class Leadership:
    """Whether this process leads, kept up to date by `run()`."""

    def __init__(self, url: str, *, standby_s: float = STANDBY_S) -> None:
        self.url = url
        self.standby_s = standby_s
        self.leading = asyncio.Event()
        self.lost = asyncio.Event()  # set while this process does not lead

    async def run(self, stop: asyncio.Event) -> None:
        """Take the lead when it is free and keep it until `stop` or a lost connection."""
        self.lost.set()
        while not stop.is_set():
            try:
                async with await psycopg.AsyncConnection.connect(self.url) as conn:
                    while not stop.is_set():
                        cur = await conn.execute(
                            "select pg_try_advisory_lock(%s) as ok", (LEADER_KEY,)
                        )
                        row = await cur.fetchone()
                        if row is not None and row[0]:
                            break
                        await wait_for(stop, self.standby_s)
                    else:
                        return
                    self.lost.clear()
                    self.leading.set()
                    log.info("this process leads the service's processes")
                    while not stop.is_set():  # the lock lasts as long as the connection
                        await conn.execute("select 1")
                        await wait_for(stop, self.standby_s)
            except psycopg.Error as exc:
                log.warning("the lead was lost with the database connection (%s)", exc)
                await wait_for(stop, self.standby_s)
            finally:
                self.leading.clear()
                self.lost.set()


async def while_leading(
    leadership: Leadership,
    stop: asyncio.Event,
    duty: Callable[[], AbstractAsyncContextManager[object]],
    name: str,
) -> None:
    """Run `duty` (entered, then held open) whenever this process leads, until `stop`."""
    while not stop.is_set():
        await _first(leadership.leading.wait(), stop.wait())
        if stop.is_set():
            return
        try:
            async with duty():
                await _first(leadership.lost.wait(), stop.wait())
        except (OSError, psycopg.Error, TitanError) as exc:
            log.warning("%s stopped (%s); it starts again in %s s", name, exc, leadership.standby_s)
            await wait_for(stop, leadership.standby_s)


async def _first(*waits: Awaitable[object]) -> None:
    """Wait until the first of `waits` is done; cancel the rest."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(asyncio.CancelledError):
                await task
