"""One ingest's counters and connection state, shared by its receiver, its batcher and whoever
reports on it (the status row, /metrics, /sim/status)."""

from __future__ import annotations

import time
from collections import Counter, deque
from datetime import datetime

from tools.core import clock
from tools.machine_data.feed import FeedStored
from tools.machine_data.ingest_status import Connection, IngestStatus, Protocol

RATE_WINDOW_S = 10.0


class IngestStats:
    """Counters since the ingest started; `snapshot()` is what gets reported."""

    def __init__(self, source: str, protocol: Protocol) -> None:
        self.source = source
        self.protocol: Protocol = protocol
        self.connection: Connection = "connecting"
        self.started_at: datetime = clock.now()
        self.received = 0
        self.stored = 0
        self.readings = 0
        self.duplicates = 0
        self.heartbeats = 0
        self.production = 0
        self.dead_letters: Counter[str] = Counter()
        self.reconnects = 0
        self.queue_depth = 0
        self.lag_s = 0.0
        self.last_error: str | None = None
        self._samples: deque[tuple[float, int]] = deque()

    @property
    def done(self) -> int:
        """Messages stored or set aside as dead letters."""
        return self.stored + sum(self.dead_letters.values())

    def add(self, result: FeedStored, *, oldest_wait_s: float) -> None:
        """Count one stored batch."""
        self.stored += result.stored
        self.readings += result.readings
        self.duplicates += result.duplicates
        self.heartbeats += result.heartbeats
        self.production += result.production
        self.dead_letters.update(result.dead_letters)
        self.lag_s = oldest_wait_s
        self._samples.append((time.monotonic(), self.done))

    def messages_per_s(self) -> float:
        """Messages stored or set aside per second over the last few seconds."""
        now = time.monotonic()
        while self._samples and now - self._samples[0][0] > RATE_WINDOW_S:
            self._samples.popleft()
        if len(self._samples) < 2:
            return 0.0
        (t0, n0), (t1, n1) = self._samples[0], self._samples[-1]
        span = max(now - t0, t1 - t0, 1e-9)
        return (n1 - n0) / span

    def snapshot(self) -> IngestStatus:
        return IngestStatus(
            source=self.source,
            protocol=self.protocol,
            connection=self.connection,
            started_at=self.started_at,
            updated_at=clock.now(),
            messages=self.received,
            stored=self.stored,
            readings=self.readings,
            duplicates=self.duplicates,
            heartbeats=self.heartbeats,
            production=self.production,
            dead_letters=sum(self.dead_letters.values()),
            reconnects=self.reconnects,
            queue_depth=self.queue_depth,
            messages_per_s=round(self.messages_per_s(), 1),
            lag_s=round(self.lag_s, 3),
            last_error=self.last_error,
        )
