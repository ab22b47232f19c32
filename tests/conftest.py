"""Shared fixtures: a real PostgreSQL database of this run's own, clean for each test.

The server is the one `DATABASE_URL` names when it is set, else an embedded PostgreSQL started
in a temporary directory for this run. Each run creates `test_<uuid>` on it, applies the
migrations, and drops it at the end; each test starts from empty tables.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from mcp_servers.runtime import Plant
from tools.core import admin, clock, db, embedded
from tools.core.settings import get_settings


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An admin URL of the PostgreSQL server the tests use."""
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    pgdata = Path(tmp_path_factory.mktemp("embedded")) / "pgdata"
    server = embedded.start(pgdata)
    yield server.admin_url
    embedded.stop(pgdata)


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    """This run's own migrated database, dropped at the end."""
    name = f"test_{uuid.uuid4().hex}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    url = make_conninfo(server_url, dbname=name)

    async def _migrate() -> None:
        async with db.connection(url) as conn:
            await admin.prepare(conn)

    asyncio.run(_migrate())
    yield url
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))


@pytest.fixture
def db_url(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The test database, emptied, and named by DATABASE_URL for code that reads settings."""

    async def _wipe() -> None:
        async with db.connection(database_url) as conn, conn.transaction():
            await admin.wipe(conn, keep_accounts=False)

    asyncio.run(_wipe())
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield database_url
    get_settings.cache_clear()


@pytest.fixture
async def conn(db_url: str) -> AsyncIterator[db.AsyncConn]:
    """An open connection (dict rows) to the clean test database."""
    async with db.connection(db_url) as connection:
        yield connection


@pytest.fixture
async def plant(conn: db.AsyncConn, fixed_clock: clock.FixedClock) -> db.AsyncConn:
    """The demo plant of seed 42, loaded at the fixed clock (2026-03-02 06:00 UTC)."""
    from tools.demo import plant as demo_plant

    async with conn.transaction():
        await demo_plant.seed(conn, seed=42)
    return conn


@pytest.fixture
async def mcp_plant(plant: db.AsyncConn, db_url: str) -> AsyncIterator[Plant]:
    """The demo plant behind an open pool, as MCP servers built in this process use it."""
    pool = db.make_pool(db_url)
    await db.open_pool(pool)
    try:
        yield Plant(pool=pool, location=db.DatabaseLocation(url=db_url, embedded=False))
    finally:
        await pool.close()


@pytest.fixture
def fixed_clock() -> Iterator[clock.FixedClock]:
    """A clock standing at 2026-03-02 06:00 UTC (a Monday) until the test moves it."""
    from datetime import UTC, datetime

    fixed = clock.FixedClock(datetime(2026, 3, 2, 6, 0, tzinfo=UTC))
    previous = clock.set_clock(fixed)
    yield fixed
    clock.set_clock(previous)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow end-to-end tests first, so that on several workers none of them starts last and
    keeps the run waiting on it alone."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
