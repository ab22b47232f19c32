"""Machine messages the ingest could not use: kept with their reason, counted by kind.

The payload is kept cut to `PAYLOAD_LIMIT` characters, so that a flood of oversized garbage
cannot fill the database faster than the readings it displaces.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from tools.core.db import AsyncConn

DeadLetterKind = Literal[
    "malformed_json",
    "bad_topic",
    "missing_field",
    "invalid_field",
    "unknown_sensor",
    "wrong_unit",
    "out_of_range",
    "no_timezone",
    "future_time",
    "unknown_machine",
    "too_large",
    "rejected",
]
PAYLOAD_LIMIT = 4096


class DeadLetter(BaseModel):
    """A message set aside, and why."""

    source: str
    topic: str
    payload: str
    kind: DeadLetterKind
    reason: str
    received_at: datetime


class StoredDeadLetter(DeadLetter):
    dead_letter_id: int


async def store_dead_letters(conn: AsyncConn, letters: Sequence[DeadLetter]) -> None:
    """Keep `letters` (payloads cut to PAYLOAD_LIMIT characters), in the caller's transaction."""
    if not letters:
        return
    columns = ("source", "topic", "payload", "kind", "reason", "received_at")
    values = {c: [getattr(d, c) for d in letters] for c in columns}
    values["payload"] = [p[:PAYLOAD_LIMIT] for p in values["payload"]]
    await conn.execute(
        "insert into ingest_dead_letters (source, topic, payload, kind, reason, received_at) "
        "select * from unnest(%(source)s::text[], %(topic)s::text[], %(payload)s::text[], "
        "%(kind)s::text[], %(reason)s::text[], %(received_at)s::timestamptz[])",
        values,
    )


async def list_dead_letters(
    conn: AsyncConn, *, kind: str | None = None, limit: int = 50
) -> list[StoredDeadLetter]:
    """The newest dead letters, of one kind or all."""
    cur = await conn.execute(
        "select dead_letter_id, source, topic, payload, kind, reason, received_at "
        "from ingest_dead_letters where %(kind)s::text is null or kind = %(kind)s "
        "order by dead_letter_id desc limit %(limit)s",
        {"kind": kind, "limit": limit},
    )
    return [StoredDeadLetter.model_validate(row) for row in await cur.fetchall()]


async def dead_letter_counts(conn: AsyncConn) -> dict[str, int]:
    """How many dead letters of each kind are kept."""
    cur = await conn.execute(
        "select kind, count(*)::int as n from ingest_dead_letters group by kind order by kind"
    )
    return {row["kind"]: row["n"] for row in await cur.fetchall()}
