"""One run at a time on a thread, in this process and across every process on the database.

In this process an asyncio lock per thread (dropped when no one holds or waits for it); across
processes a PostgreSQL advisory lock, held for the run on a connection from a small pool of its
own, so that runs waiting for their thread never take the connections their tools need from the
plant pool. A thread this process has just made up needs no advisory lock: no one else knows its
ID yet. Made without a database URL, the locks hold in this process only (for a process that
is alone on its database, such as one evaluation task).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import psycopg
from psycopg_pool import AsyncConnectionPool

from tools.core.settings import get_settings

LOCK_SPACE = 6  # second argument of hashtextextended: keeps thread locks apart from others


class ThreadLocks:
    """Per-thread mutual exclusion for agent runs and decisions."""

    def __init__(self, url: str | None) -> None:
        settings = get_settings()
        self._pool: AsyncConnectionPool[psycopg.AsyncConnection[tuple[object, ...]]] | None = (
            AsyncConnectionPool(
                url,
                open=False,
                min_size=0,
                max_size=settings.db_pool_max,
                kwargs={"autocommit": True},
                check=AsyncConnectionPool.check_connection,
                timeout=settings.db_pool_wait_s,
                name="titan-thread-locks",
            )
            if url is not None
            else None
        )
        self._local: dict[str, tuple[asyncio.Lock, int]] = {}

    async def open(self) -> None:
        if self._pool is not None:
            await self._pool.open()

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    def held_here(self) -> int:
        """How many threads have a run holding or waiting for their lock in this process."""
        return len(self._local)

    @asynccontextmanager
    async def hold(self, thread_id: str, *, fresh: bool = False) -> AsyncIterator[None]:
        """Hold `thread_id`'s lock; `fresh` when this process has just made the ID up."""
        lock, users = self._local.get(thread_id, (asyncio.Lock(), 0))
        self._local[thread_id] = (lock, users + 1)
        try:
            async with lock:
                if fresh or self._pool is None:
                    yield
                    return
                async with self._advisory(self._pool, thread_id):
                    yield
        finally:
            lock, users = self._local[thread_id]
            if users == 1:
                del self._local[thread_id]
            else:
                self._local[thread_id] = (lock, users - 1)

    @asynccontextmanager
    async def _advisory(
        self, pool: AsyncConnectionPool[psycopg.AsyncConnection[tuple[object, ...]]], thread_id: str
    ) -> AsyncIterator[None]:
        key = (thread_id, LOCK_SPACE)
        async with pool.connection() as conn:
            await conn.execute("select pg_advisory_lock(hashtextextended(%s, %s))", key)
            try:
                yield
            finally:
                # A connection lost meanwhile took its session's locks with it.
                with suppress(psycopg.OperationalError):
                    await conn.execute("select pg_advisory_unlock(hashtextextended(%s, %s))", key)
