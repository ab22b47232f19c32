"""The Postgres checkpointer: its tables set up once, under the migration lock, and its pool."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from tools.core.migrations import LOCK_POLL_S, MIGRATION_LOCK_KEY
from tools.core.settings import get_settings

CONNECTION_KWARGS: dict[str, Any] = {
    "autocommit": True,
    "row_factory": dict_row,
    "prepare_threshold": 0,
}


async def prepare_checkpointer(url: str) -> None:
    """Create or upgrade the checkpoint tables; one process at a time, like the migrations."""
    conn = await AsyncConnection.connect(url, **CONNECTION_KWARGS)
    try:
        # Tried, not waited on, like the migrations (see `tools.core.migrations.migrate`): the
        # set-up creates indexes concurrently, which wait for every open snapshot.
        while True:
            cur = await conn.execute("select pg_try_advisory_lock(%s) as ok", (MIGRATION_LOCK_KEY,))
            row = await cur.fetchone()
            if row is not None and row["ok"]:
                break
            await asyncio.sleep(LOCK_POLL_S)
        try:
            await AsyncPostgresSaver(conn).setup()
        finally:
            await conn.execute("select pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
    finally:
        await conn.close()


@asynccontextmanager
async def open_checkpointer(url: str) -> AsyncIterator[AsyncPostgresSaver]:
    """A checkpointer over its own pool (autocommit, dict rows, no prepared statements)."""
    pool: AsyncConnectionPool[AsyncConnection[DictRow]] = AsyncConnectionPool(
        url,
        open=False,
        min_size=1,
        max_size=get_settings().db_pool_max,
        kwargs=CONNECTION_KWARGS,
        check=AsyncConnectionPool.check_connection,
        timeout=get_settings().db_pool_wait_s,
        name="titan-checkpoints",
    )
    await pool.open(wait=True, timeout=get_settings().db_connect_timeout_s)
    try:
        yield AsyncPostgresSaver(pool)
    finally:
        await pool.close()
