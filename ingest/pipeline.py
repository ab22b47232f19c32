"""The ingest's bounded pipeline: receiver → bounded queue → batcher → `tools.machine_data.feed`.

The receiver (MQTT, OPC UA) parses each message against the contract and `put`s it; `put` waits
while the queue is full, so a slow database slows the receiver instead of filling memory (over
MQTT nothing more is acknowledged and the broker holds the rest). The batcher takes what is
queued, up to `batch_max` messages (or MAX_BATCH_READINGS readings) or `interval_s` after the
first, and stores it in one transaction (`store_feed`). A database that goes away is waited
for with backoff, the batch kept; a batch that the database refuses is stored message by
message, so one bad message becomes a dead letter and the rest are kept.

After a batch with readings, anomaly detection runs over the machines that sent them, at most
every `detect_every_s` plant seconds, and the reactors answer what it found (an anomaly → a
work order), as the simulation's monitor does for simulated readings.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime

import psycopg

from ingest.stats import IngestStats
from tools.core import clock, db
from tools.core.db import AsyncConn
from tools.core.errors import TitanError
from tools.core.operations import Actor
from tools.machine_data.dead_letters import DeadLetter
from tools.machine_data.feed import FeedMessage, FeedStored, store_feed
from tools.machine_data.ingest_status import save_status
from tools.maintenance.anomalies import detect_anomalies
from tools.reactors import rules as reactors

log = logging.getLogger(__name__)

DETECT_WINDOW_MINUTES = 60.0
STATUS_EVERY_S = 2.0
# A batch also ends at this many readings: a transaction of a few tenths of a second, however
# many readings each message carries.
MAX_BATCH_READINGS = 20_000
BACKOFF_MAX_S = 30.0


@dataclass(slots=True)
class Item:
    parsed: FeedMessage | DeadLetter
    arrived: float


@dataclass(frozen=True)
class PipelineSettings:
    queue_max: int = 5_000
    batch_max: int = 1_000
    interval_s: float = 0.2
    detect_every_s: float = 60.0


class Pipeline:
    """One ingest's queue and batcher, storing through one database connection of its own."""

    def __init__(
        self, url: str, stats: IngestStats, settings: PipelineSettings | None = None
    ) -> None:
        self.url = url
        self.stats = stats
        self.settings = settings or PipelineSettings()
        self.queue: asyncio.Queue[Item] = asyncio.Queue(maxsize=self.settings.queue_max)
        self.actor = Actor(type="ingest", id=stats.protocol)
        self._conn: AsyncConn | None = None
        self._logged: set[str] = set()
        self._to_check: set[str] = set()
        self._last_detect: datetime | None = None
        self._last_status = 0.0

    async def put(self, parsed: FeedMessage | DeadLetter) -> None:
        """Queue one message, waiting while the queue is full."""
        await self.queue.put(Item(parsed, time.monotonic()))
        self.stats.received += 1
        self.stats.queue_depth = self.queue.qsize()
        if isinstance(parsed, DeadLetter):
            self._log_once(parsed.kind, parsed.reason, parsed.topic)

    async def drain(self, timeout_s: float) -> bool:
        """Whether everything queued was stored within `timeout_s`."""
        try:
            async with asyncio.timeout(timeout_s):
                await self.queue.join()
        except TimeoutError:
            return False
        return True

    async def run(self, stop: asyncio.Event) -> None:
        """Store batches until `stop` is set and the queue is empty; then write the final status."""
        try:
            while not (stop.is_set() and self.queue.empty()):
                batch = await self._collect(stop)
                if batch:
                    await self._flush(batch)
                await self._maybe_status()
        finally:
            self.stats.connection = "stopped"
            await self._maybe_status(force=True)
            if self._conn is not None:
                await self._conn.close()

    async def _collect(self, stop: asyncio.Event) -> list[Item]:
        first = await self._first(stop)
        if first is None:
            return []
        batch = [first]
        readings = _readings(first)
        deadline = time.monotonic() + self.settings.interval_s
        while len(batch) < self.settings.batch_max and readings < MAX_BATCH_READINGS:
            try:
                item = self.queue.get_nowait()
                batch.append(item)
                readings += _readings(item)
                continue
            except asyncio.QueueEmpty:
                pass
            left = deadline - time.monotonic()
            if left <= 0 or stop.is_set():
                break
            try:
                async with asyncio.timeout(left):
                    item = await self.queue.get()
            except TimeoutError:
                break
            batch.append(item)
            readings += _readings(item)
        return batch

    async def _first(self, stop: asyncio.Event) -> Item | None:
        """The next queued item, or None after a status interval (or at stop) with none."""
        try:
            return self.queue.get_nowait()
        except asyncio.QueueEmpty:
            if stop.is_set():
                return None
        getter = asyncio.ensure_future(self.queue.get())
        stopper = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait({getter, stopper}, timeout=STATUS_EVERY_S,
                                     return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        stopper.cancel()
        if getter in done:
            return getter.result()
        getter.cancel()
        try:
            await getter
        except asyncio.CancelledError:
            return None
        return getter.result()  # it got an item just as it was cancelled

    async def _connection(self) -> AsyncConn:
        if self._conn is None or self._conn.closed:
            self._conn = await db.connect(self.url)
        return self._conn

    async def _flush(self, batch: list[Item]) -> None:
        started = time.monotonic()
        result = await self._store(batch)
        for _ in batch:
            self.queue.task_done()
        self.stats.queue_depth = self.queue.qsize()
        self.stats.add(result, oldest_wait_s=time.monotonic() - min(i.arrived for i in batch))
        for kind, n in result.dead_letters.items():
            if n:
                self._log_once(kind, f"{n} message(s) set aside as {kind}", "")
        log.debug("stored %d messages in %.3f s", len(batch), time.monotonic() - started)
        self._to_check.update(result.machines_with_readings)
        await self._detect()

    async def _store(self, batch: list[Item]) -> FeedStored:
        """Store the batch, waiting out a database that is away; split it when it is refused."""
        messages = [i.parsed for i in batch if isinstance(i.parsed, FeedMessage)]
        rejected = [i.parsed for i in batch if isinstance(i.parsed, DeadLetter)]
        delay = 0.5
        while True:
            try:
                conn = await self._connection()
                return await store_feed(conn, self.actor, messages=messages, rejected=rejected)
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                self.stats.last_error = f"database: {exc}"
                self._log_once("database", f"the database is away ({exc}); retrying", "")
                await self._close()
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX_S)
            except (psycopg.Error, TitanError) as exc:
                if len(batch) == 1:
                    return await self._refused(batch[0], exc)
                return _sum([await self._store([item]) for item in batch])

    async def _refused(self, item: Item, exc: Exception) -> FeedStored:
        """The one message the database would not take, kept as a dead letter."""
        p = item.parsed
        letter = DeadLetter(source=p.source, topic=p.topic, payload=p.payload, kind="rejected",
                            reason=f"the database refused it: {exc}",
                            received_at=p.received_at)  # fmt: skip
        conn = await self._connection()
        return await store_feed(conn, self.actor, messages=[], rejected=[letter])

    async def _close(self) -> None:
        if self._conn is not None:
            try:
                await self._conn.close()
            finally:
                self._conn = None

    async def _detect(self) -> None:
        every = self.settings.detect_every_s
        now = clock.now()
        due = self._last_detect is None or (now - self._last_detect).total_seconds() >= every
        if every <= 0 or not self._to_check or not due:
            return
        machines, self._to_check = sorted(self._to_check), set()
        self._last_detect = now
        try:
            conn = await self._connection()
            report = await detect_anomalies(
                conn, self.actor, machine_ids=machines, window_minutes=DETECT_WINDOW_MINUTES
            )
            if report.written:
                while await reactors.process_pending(conn) >= 500:
                    pass
        except (psycopg.Error, TitanError) as exc:
            log.warning("anomaly detection after ingest failed (%s); it runs again later", exc)
            await self._close()

    async def _maybe_status(self, *, force: bool = False) -> None:
        if not force and time.monotonic() - self._last_status < STATUS_EVERY_S:
            return
        self._last_status = time.monotonic()
        try:
            conn = await self._connection()
            async with conn.transaction():
                await save_status(conn, self.stats.snapshot())
        except psycopg.Error as exc:
            log.debug("could not write the ingest status: %s", exc)
            await self._close()

    def _log_once(self, kind: str, reason: str, topic: str) -> None:
        """Log the first message of each kind of trouble; the rest are counted."""
        if kind in self._logged:
            return
        self._logged.add(kind)
        where = f" ({topic})" if topic else ""
        log.warning("ingest %s: %s%s; further ones are counted, not logged", kind, reason, where)


def _readings(item: Item) -> int:
    return len(item.parsed.readings) if isinstance(item.parsed, FeedMessage) else 0


def _sum(parts: list[FeedStored]) -> FeedStored:
    total = FeedStored()
    for p in parts:
        total.messages += p.messages
        total.stored += p.stored
        total.readings += p.readings
        total.duplicates += p.duplicates
        total.heartbeats += p.heartbeats
        total.production += p.production
        for kind, n in p.dead_letters.items():
            total.dead_letters[kind] = total.dead_letters.get(kind, 0) + n
        total.machines_with_readings = sorted({*total.machines_with_readings,
                                               *p.machines_with_readings})  # fmt: skip
    return total
