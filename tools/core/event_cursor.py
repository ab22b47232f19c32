"""Reading the event log in ID order without stepping over an event that commits late.

Event IDs are drawn when an event is written, not when its transaction commits, so event 41 can
become visible after event 42. A reader that remembered "42" as its position would never see
41. An `EventCursor` hands out events only up to the first missing ID. It steps over a missing
ID once none of the transactions that were writing to the event log when the gap was seen is
still running (the ID belonged to one that rolled back): a transaction holds its lock on the
table from before it draws an ID until it ends. A writer still running after `GAP_TIMEOUT_S` is
not waited for any longer: its event will not be handed out by this cursor.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from tools.core.db import AsyncConn
from tools.core.events import Event

GAP_TIMEOUT_S = 30.0

_READ = """
select event_id, type, source, entity_type, entity_id, payload, occurred_at,
       (%(prefix)s::text is null or type like %(prefix)s || '%%') as wanted
from event_log where event_id > %(after)s
order by event_id limit %(limit)s
"""

# The transactions writing to the event log now (each holds the lock until it ends).
_WRITERS = """
select coalesce(array_agg(distinct virtualtransaction), '{}') as writers from pg_locks
where locktype = 'relation' and relation = 'event_log'::regclass
  and mode = 'RowExclusiveLock' and granted and pid <> pg_backend_pid()
"""

_STILL_WRITING = """
select exists (
    select 1 from pg_locks
    where locktype = 'relation' and relation = 'event_log'::regclass
      and mode = 'RowExclusiveLock' and virtualtransaction = any(%(writers)s)
) as writing
"""


@dataclass
class _Gap:
    first_missing: int
    writers: list[str]  # the transactions writing when it was seen: one of them may fill it
    seen_at: float


class EventCursor:
    """Where a reader of the event log stands: the last event ID it has handed out."""

    def __init__(
        self, after: int, *, type_prefix: str | None = None, timeout_s: float = GAP_TIMEOUT_S
    ) -> None:
        self.position = after
        self._type_prefix = type_prefix
        self._timeout_s = timeout_s
        self._gap: _Gap | None = None
        self.behind = False  # the last read stopped at its limit: read again before waiting

    @property
    def waiting_on_gap(self) -> bool:
        """Whether an earlier event may still commit: later ones are held back until it does,
        or until its writer has ended (no wake-up comes for a rollback: poll)."""
        return self._gap is not None

    async def read(self, conn: AsyncConn, *, limit: int = 500) -> list[Event]:
        """The next events in ID order (of the cursor's type prefix), and moves past them."""
        found: list[Event] = []
        for _ in range(2):  # once more at once when a new gap turns out to have no writer
            # Decided before reading: whatever such a writer committed, the read sees.
            gap_closed = await self._gap_closed(conn)
            cur = await conn.execute(
                _READ, {"after": self.position, "prefix": self._type_prefix, "limit": limit}
            )
            rows = await cur.fetchall()
            self.behind = False
            for row in rows:
                if row["event_id"] > self.position + 1 and not gap_closed:
                    if await self._note_gap(conn):
                        break
                    return found
                gap_closed = False
                self._gap = None
                self.position = row["event_id"]
                if row.pop("wanted"):
                    found.append(Event.model_validate(row))
            else:
                self.behind = len(rows) == limit
                return found
        return found

    async def _note_gap(self, conn: AsyncConn) -> bool:
        """Remember the gap after `position` and who may fill it; True when no one may."""
        first_missing = self.position + 1
        if self._gap is None or self._gap.first_missing != first_missing:
            cur = await conn.execute(_WRITERS)
            row = await cur.fetchone()
            writers = list(row["writers"]) if row else []
            self._gap = _Gap(first_missing, writers, time.monotonic())
        return not self._gap.writers

    async def _gap_closed(self, conn: AsyncConn) -> bool:
        """Whether the IDs missing after `position` will never appear."""
        gap = self._gap
        if gap is None or gap.first_missing != self.position + 1:
            return False
        if not gap.writers or time.monotonic() - gap.seen_at >= self._timeout_s:
            return True
        cur = await conn.execute(_STILL_WRITING, {"writers": gap.writers})
        row = await cur.fetchone()
        return row is not None and not row["writing"]
