"""What a running service holds, opened in the app's lifespan, and the live event hub.

Routes reach it through `service_of(request)`. The hub keeps one LISTEN connection for the whole
process and wakes every live stream (and the reactor loop) when an event commits; each waiter
then reads the event log from its own cursor, so a slow client costs no memory and misses
nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import psycopg
from fastapi import Request
from psycopg_pool import AsyncConnectionPool

from agents.thread_locks import ThreadLocks
from api.hosting.supervision import Supervisor
from api.http.metrics import Metrics
from tools.core import db, events
from tools.core.errors import TitanError

if TYPE_CHECKING:
    from agents.runtime import Agents

log = logging.getLogger(__name__)

RECONNECT_S = 1.0


class Waiter:
    """One listener's doorbell: set when an event commits (or the service stops)."""

    def __init__(self, hub: EventHub) -> None:
        self._hub = hub
        self._bell = asyncio.Event()

    def ring(self) -> None:
        self._bell.set()

    async def wait(self, timeout_s: float | None = None) -> bool:
        """Wait for the next event, or at most `timeout_s`; False once the service is stopping."""
        if self._hub.stopping.is_set():
            return False
        with suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self._bell.wait()
        self._bell.clear()
        return not self._hub.stopping.is_set()


class EventHub:
    """Wakes waiters when events commit; reconnects its LISTEN connection when it breaks."""

    def __init__(
        self, url: str, metrics: Metrics, *, counting: asyncio.Event | None = None
    ) -> None:
        self.url = url
        self.metrics = metrics
        self.counting = counting  # set while this process counts events for /metrics
        self.stopping = asyncio.Event()
        self.listening = asyncio.Event()
        self._waiters: set[Waiter] = set()

    @asynccontextmanager
    async def waiter(self) -> AsyncIterator[Waiter]:
        waiter = Waiter(self)
        self._waiters.add(waiter)
        try:
            yield waiter
        finally:
            self._waiters.discard(waiter)

    def _ring_all(self) -> None:
        for waiter in list(self._waiters):
            waiter.ring()

    async def run(self) -> None:
        """Listen until `stop()`; after a reconnect every waiter is woken to catch up."""
        while not self.stopping.is_set():
            try:
                async with events.subscribe(self.url) as subscription:
                    self.listening.set()
                    self._ring_all()
                    async for notice in subscription:
                        if self.counting is None or self.counting.is_set():
                            self.metrics.events.labels(type=notice.type).inc()
                        self._ring_all()
            except (psycopg.Error, TitanError) as exc:
                self.listening.clear()
                log.warning("the event listener lost the database (%s); reconnecting", exc)
                await asyncio.sleep(RECONNECT_S)

    def stop(self) -> None:
        self.stopping.set()
        self._ring_all()


@dataclass
class Service:
    """The open parts of a running service."""

    url: str
    location: db.DatabaseLocation
    pool: AsyncConnectionPool[db.AsyncConn]
    agents: Agents
    hub: EventHub
    metrics: Metrics
    simulating: bool = False
    # One decision at a time per approval, in this process and across the service's processes:
    # a second decision waits for the first and then finds the approval decided.
    approval_locks: ThreadLocks = field(default_factory=lambda: ThreadLocks(None))
    # The background tasks, restarted when they fail; `/ready` is false while one is down.
    supervisor: Supervisor = field(default_factory=Supervisor)


def service_of(request: Request) -> Service:
    """The running service behind `request`'s app."""
    service = getattr(request.app.state, "titan", None)
    if not isinstance(service, Service):
        raise RuntimeError("the Titan service is not open (the app's lifespan has not run)")
    return service
