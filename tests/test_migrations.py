"""Schema migrations: applied once, in order, and append-only."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from tools.core import admin, db, migrations
from tools.core.errors import MigrationError


@pytest.fixture
def empty_db_url(server_url: str) -> Iterator[str]:
    """A database with nothing in it, dropped after the test."""
    name = f"test_{uuid.uuid4().hex}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    yield make_conninfo(server_url, dbname=name)
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))


@pytest.mark.anyio
async def test_migrations_apply_once_and_a_second_run_changes_nothing(empty_db_url: str) -> None:
    async with db.connection(empty_db_url) as conn:
        first = await migrations.migrate(conn)
        assert [m.version for m in first] == [m.version for m in migrations.available()]
        tables_after_first = await admin.plant_tables(conn)

        second = await migrations.migrate(conn)

        assert second == []
        assert await admin.plant_tables(conn) == tables_after_first
        cur = await conn.execute("select count(*) as n from schema_migrations")
        assert (await cur.fetchone()) == {"n": len(first)}
        assert await migrations.current_version(conn) == (first[-1].version, first[-1].name)


@pytest.mark.anyio
async def test_processes_migrating_at_once_apply_each_migration_exactly_once(
    empty_db_url: str,
) -> None:
    async def one_process() -> int:
        async with db.connection(empty_db_url) as conn:
            return len(await migrations.migrate(conn))

    results = await asyncio.gather(*(one_process() for _ in range(4)))

    assert sorted(results) == [0, 0, 0, len(migrations.available())]


@pytest.mark.anyio
async def test_an_applied_migration_that_was_edited_is_refused(empty_db_url: str) -> None:
    async with db.connection(empty_db_url) as conn:
        await migrations.migrate(conn)
        await conn.execute("update schema_migrations set checksum = 'edited' where version = 1")
        await conn.commit()

        with pytest.raises(MigrationError, match="was changed after it was applied"):
            await migrations.migrate(conn)


@pytest.mark.anyio
async def test_an_empty_database_reports_no_migration_level(empty_db_url: str) -> None:
    async with db.connection(empty_db_url) as conn:
        assert await migrations.current_version(conn) is None
        location = db.DatabaseLocation(url=empty_db_url, embedded=False)
        status = await admin.status(conn, location)
    assert status.migration_version is None
    assert status.migrations_pending == len(migrations.available())
    assert status.tables == []


@pytest.mark.anyio
async def test_a_process_waiting_to_migrate_does_not_deadlock_the_checkpointer_set_up(
    empty_db_url: str,
) -> None:
    """Two service processes starting at once: one holds the migration lock while it creates an
    index concurrently (as the checkpointer's set-up does), the other waits to migrate. The index
    waits for every open snapshot, so a waiter blocked on the lock would deadlock it."""
    async with db.connection(empty_db_url) as conn:
        await migrations.migrate(conn)
    holder = await psycopg.AsyncConnection.connect(empty_db_url, autocommit=True)
    try:
        await holder.execute("create table probe (x integer)")
        await holder.execute("select pg_advisory_lock(%s)", (migrations.MIGRATION_LOCK_KEY,))

        async def other_process() -> int:
            async with db.connection(empty_db_url) as conn:
                return len(await migrations.migrate(conn))

        waiting = asyncio.create_task(other_process())
        await asyncio.sleep(0.3)  # the other process is waiting for the lock by now
        assert not waiting.done()
        async with asyncio.timeout(30):
            await holder.execute("create index concurrently probe_x on probe (x)")
        await holder.execute("select pg_advisory_unlock(%s)", (migrations.MIGRATION_LOCK_KEY,))

        async with asyncio.timeout(30):
            assert await waiting == 0
    finally:
        await holder.close()
