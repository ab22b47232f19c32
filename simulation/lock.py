"""The advisory lock that lets one engine at a time mutate a database.

A session-level PostgreSQL advisory lock on a fixed key: held by the engine's connection for as
long as it runs, released when it stops or its connection drops, so a crashed engine never
leaves the plant locked. `holder()` tells who holds it (from `pg_locks`), for the status.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from simulation.context import rows
from tools.core.db import AsyncConn

# Arbitrary but fixed: the key every Titan simulation engine agrees on.
LOCK_KEY = 0x7171_0007

# The `pg_locks` rows of the engine lock when it is held (with %(key)s bound to LOCK_KEY).
HELD_WHERE = (
    "locktype = 'advisory' and classid = 0 and objid = %(key)s::bigint::oid and objsubid = 1 "
    "and granted and database = (select oid from pg_database where datname = current_database())"
)


class LockHolder(BaseModel):
    """The session holding the engine lock."""

    pid: int
    application_name: str
    client: str | None
    since: datetime | None

    def describe(self) -> str:
        where = f" from {self.client}" if self.client else ""
        name = f" ({self.application_name})" if self.application_name else ""
        return f"server process {self.pid}{name}{where}"


async def try_lock(conn: AsyncConn) -> bool:
    """Take the lock for this connection's session if it is free; whether it is held now."""
    found = await rows(conn, "select pg_try_advisory_lock(%(key)s) as ok", {"key": LOCK_KEY})
    return bool(found[0]["ok"])


async def unlock(conn: AsyncConn) -> bool:
    """Give the lock back; whether this session held it."""
    found = await rows(conn, "select pg_advisory_unlock(%(key)s) as ok", {"key": LOCK_KEY})
    return bool(found[0]["ok"])


async def holder(conn: AsyncConn) -> LockHolder | None:
    """Who holds the lock, or None when no engine runs."""
    found = await rows(
        conn,
        "select l.pid, coalesce(a.application_name, '') as application_name, "
        "a.client_addr::text as client, a.backend_start as since "
        f"from pg_locks l left join pg_stat_activity a on a.pid = l.pid where {HELD_WHERE}",
        {"key": LOCK_KEY},
    )
    return LockHolder.model_validate(found[0]) if found else None
