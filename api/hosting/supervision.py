"""The service's background work, kept alive: each long-running task (the event hub, the
reactors, the event follower, leadership, the approvals' rounds, the plant rules, the ingest,
the simulation engine) runs under `Supervisor.run`, which restarts it with exponential backoff
when it fails or ends before the service stops, logs each failure once with its cause, counts
restarts, and tells `/ready` which tasks are down meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0
# A task that ran this long before failing failed afresh: its backoff starts over.
HEALTHY_AFTER_S = 60.0


@dataclass
class Supervisor:
    """Runs and restarts the background tasks; which of them are down, and why."""

    restarted: Callable[[str], None] = lambda name: None
    first_backoff_s: float = FIRST_BACKOFF_S
    max_backoff_s: float = MAX_BACKOFF_S
    down: dict[str, str] = field(default_factory=dict)  # task → why it is down

    async def run(
        self, name: str, work: Callable[[], Awaitable[None]], stopping: asyncio.Event
    ) -> None:
        """Run `work()` until `stopping` is set, again after each failure (or early end)."""
        backoff = self.first_backoff_s
        while not stopping.is_set():
            started = time.monotonic()
            try:
                await work()
                if stopping.is_set():
                    return
                why = "it ended before the service stopped"
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the supervisor's whole point: nothing ends it for good
                why = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
            if time.monotonic() - started >= HEALTHY_AFTER_S:
                backoff = self.first_backoff_s
            self.down[name] = why
            log.warning("background task %s failed (%s); restarting in %.1f s", name, why, backoff)
            self.restarted(name)
            try:
                async with asyncio.timeout(backoff):
                    await stopping.wait()
                return
            except TimeoutError:
                pass
            backoff = min(backoff * 2, self.max_backoff_s)
            self.down.pop(name, None)
            log.info("background task %s restarted", name)

    def start(
        self, name: str, work: Callable[[], Awaitable[None]], stopping: asyncio.Event
    ) -> asyncio.Task[None]:
        """`run(...)` as a task named `titan-<name>`."""
        return asyncio.create_task(self.run(name, work, stopping), name=f"titan-{name}")
