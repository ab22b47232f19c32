"""The event log: every change in the plant leaves an event, written in the change's transaction.

`emit()` inserts into `event_log` and queues a NOTIFY on the `titan_events` channel in the same
transaction, so a listener hears of an event only once it is committed, and never of one rolled
back. The notification carries the event's id, type and entity (NOTIFY payloads are capped at
8000 bytes); listeners read the rest from the table. `subscribe()` yields events as they commit.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Literal

import psycopg
from pydantic import BaseModel, Field, JsonValue

from tools.core import clock
from tools.core.db import AsyncConn, connect

log = logging.getLogger(__name__)

CHANNEL = "titan_events"

Source = Literal["user", "agent", "simulator", "reactor", "ingest", "system"]


class Event(BaseModel):
    """One row of the event log."""

    event_id: int
    type: str
    source: Source
    entity_type: str | None = None
    entity_id: str | None = None
    payload: dict[str, JsonValue] = Field(default_factory=dict)
    occurred_at: datetime


class EventNotice(BaseModel):
    """What a NOTIFY carries: enough to filter on and to fetch the event."""

    event_id: int
    type: str
    entity_type: str | None = None
    entity_id: str | None = None


# One round trip: the row, and its notice queued for commit (NOTIFY payloads stay small).
_INSERT = """
with written as (
    insert into event_log (type, source, entity_type, entity_id, payload, occurred_at)
    values (%(type)s, %(source)s, %(entity_type)s, %(entity_id)s, %(payload)s, %(occurred_at)s)
    returning event_id, type, source, entity_type, entity_id, payload, occurred_at
)
select written.*, pg_notify(%(channel)s, json_build_object(
    'event_id', event_id, 'type', type, 'entity_type', entity_type, 'entity_id', entity_id
)::text) as notified
from written
"""


async def emit(
    conn: AsyncConn,
    type: str,
    *,
    source: Source,
    entity_type: str | None = None,
    entity_id: str | None = None,
    payload: Mapping[str, JsonValue] | None = None,
    occurred_at: datetime | None = None,
) -> Event:
    """Write an event in the caller's transaction; listeners hear of it when that commits."""
    params = {
        "type": type,
        "source": source,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "payload": json.dumps(dict(payload or {}), default=str),
        "occurred_at": occurred_at or clock.now(),
        "channel": CHANNEL,
    }
    cur = await conn.execute(_INSERT, params)
    row = await cur.fetchone()
    assert row is not None
    return Event.model_validate(row)


async def fetch(conn: AsyncConn, event_ids: list[int]) -> list[Event]:
    """The events with these ids, oldest first."""
    cur = await conn.execute(
        "select event_id, type, source, entity_type, entity_id, payload, occurred_at "
        "from event_log where event_id = any(%s) order by event_id",
        (event_ids,),
    )
    return [Event.model_validate(row) for row in await cur.fetchall()]


async def since(
    conn: AsyncConn, after_id: int, *, type_prefix: str | None = None, limit: int = 500
) -> list[Event]:
    """Events after `after_id` (optionally of types starting with `type_prefix`), oldest first."""
    cur = await conn.execute(
        "select event_id, type, source, entity_type, entity_id, payload, occurred_at "
        "from event_log where event_id > %(after)s "
        "and (%(prefix)s::text is null or type like %(prefix)s || '%%') "
        "order by event_id limit %(limit)s",
        {"after": after_id, "prefix": type_prefix, "limit": limit},
    )
    return [Event.model_validate(row) for row in await cur.fetchall()]


class Subscription:
    """Committed events as they arrive, over one dedicated LISTEN connection.

    Use as `async with subscribe(url) as events:` then `async for notice in events:`; the
    connection listens from the moment the block is entered.
    """

    def __init__(self, url: str, *, type_prefix: str | None = None) -> None:
        self._url = url
        self._type_prefix = type_prefix
        self._conn: AsyncConn | None = None

    async def __aenter__(self) -> Subscription:
        self._conn = await connect(self._url, autocommit=True)
        await self._conn.execute(f"listen {CHANNEL}")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._conn is not None:
            try:
                await self._conn.close()
            except psycopg.Error:  # pragma: no cover - closing a broken connection
                pass
            self._conn = None

    async def __aiter__(self) -> AsyncIterator[EventNotice]:
        if self._conn is None:
            raise RuntimeError("enter the subscription (async with) before iterating it")
        async for notify in self._conn.notifies():
            try:
                notice = EventNotice.model_validate_json(notify.payload)
            except ValueError:
                log.warning("ignoring a malformed notice on %s: %r", CHANNEL, notify.payload)
                continue
            if self._type_prefix is None or notice.type.startswith(self._type_prefix):
                yield notice


def subscribe(url: str, *, type_prefix: str | None = None) -> Subscription:
    """A subscription to committed events (of types starting with `type_prefix`)."""
    return Subscription(url, type_prefix=type_prefix)
