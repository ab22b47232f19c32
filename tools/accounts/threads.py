"""Who started each conversation with the agent team: a thread belongs to the user who started
it; others read or continue it only with the permission `thread.view_all`. Thread IDs that
begin with `incident-` (the runs events start) or `mcp-` (requests MCP clients raised) are
Titan's own: no client can start one, so no one can take the thread an event's run will use."""

from __future__ import annotations

from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.errors import ValidationError
from tools.core.operations import atomic

SYSTEM_PREFIXES = ("incident-", "mcp-")


async def owner_of(conn: AsyncConn, thread_id: str) -> str | None:
    """Who started `thread_id` (None: no one on record, such as a thread from before owners
    were kept, or no thread at all)."""
    async with conn.transaction():
        cur = await conn.execute(
            "select user_id from thread_owners where thread_id = %s", (thread_id,)
        )
        row = await cur.fetchone()
    return row["user_id"] if row else None


async def claim(conn: AsyncConn, thread_id: str, user: str, *, system: bool = False) -> str | None:
    """The owner of `thread_id`, which becomes `user` when the thread is new. Only the system
    (`system`: a run an event started) may start a thread with a system ID. None: a thread from
    before owners were kept, open to those who could read it then."""
    async with atomic(conn):
        cur = await conn.execute(
            "select user_id from thread_owners where thread_id = %s", (thread_id,)
        )
        row = await cur.fetchone()
        if row is not None:
            return str(row["user_id"])
        cur = await conn.execute(
            "select exists (select 1 from checkpoints where thread_id = %s) as known",
            (thread_id,),
        )
        known = await cur.fetchone()
        if known is not None and known["known"]:
            return None
        if thread_id.startswith(SYSTEM_PREFIXES) and not system:
            raise ValidationError(
                f"thread IDs beginning with {' or '.join(SYSTEM_PREFIXES)} are Titan's own; "
                "leave thread_id out to start a new thread",
                thread_id=thread_id,
            )
        await conn.execute(
            "insert into thread_owners (thread_id, user_id, started_at) values (%s, %s, %s) "
            "on conflict (thread_id) do nothing",
            (thread_id, user, clock.now()),
        )
        cur = await conn.execute(  # whoever claimed it first, when two start it at once
            "select user_id from thread_owners where thread_id = %s", (thread_id,)
        )
        won = await cur.fetchone()
        return str(won["user_id"]) if won else user


async def own_threads(conn: AsyncConn, user: str) -> set[str]:
    """The threads `user` started."""
    async with conn.transaction():
        cur = await conn.execute("select thread_id from thread_owners where user_id = %s", (user,))
        return {row["thread_id"] for row in await cur.fetchall()}
