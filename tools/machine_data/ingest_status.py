"""How each machine-data ingest fares, as it last wrote it: one row per source.

An ingest writes its row every few seconds and when its connection changes, so that
`titan ingest status`, the service's `/metrics` and `/sim/status` in other processes see it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from tools.core.db import AsyncConn

Protocol = Literal["mqtt", "opcua"]
Connection = Literal["connecting", "connected", "disconnected", "stopped"]


class IngestStatus(BaseModel):
    """Counters and connection state of one ingest (`source` names it: protocol and address)."""

    source: str
    protocol: Protocol
    connection: Connection
    started_at: datetime
    updated_at: datetime
    messages: int = 0
    stored: int = 0
    readings: int = 0
    duplicates: int = 0
    heartbeats: int = 0
    production: int = 0
    dead_letters: int = 0
    reconnects: int = 0
    queue_depth: int = 0
    messages_per_s: float = 0.0
    lag_s: float = 0.0
    last_error: str | None = None


_COLUMNS = (
    "source, protocol, connection, started_at, updated_at, messages, stored, readings, "
    "duplicates, heartbeats, production, dead_letters, reconnects, queue_depth, messages_per_s, "
    "lag_s, last_error"
)


async def save_status(conn: AsyncConn, status: IngestStatus) -> None:
    """Write the ingest's row (insert or replace), in the caller's transaction or its own."""
    names = [c.strip() for c in _COLUMNS.split(",")]
    updates = ", ".join(f"{c} = excluded.{c}" for c in names if c != "source")
    placeholders = ", ".join(f"%({c})s" for c in names)
    await conn.execute(
        f"insert into ingest_status ({_COLUMNS}) values ({placeholders}) "
        f"on conflict (source) do update set {updates}",
        status.model_dump(),
    )


async def ingest_statuses(conn: AsyncConn) -> list[IngestStatus]:
    """Every ingest's last written status, the most recently updated first."""
    cur = await conn.execute(f"select {_COLUMNS} from ingest_status order by updated_at desc")
    return [IngestStatus.model_validate(row) for row in await cur.fetchall()]
