"""Connections: located from the settings, pooled, and retried while the server refuses them."""

from __future__ import annotations

import logging

import psycopg
import pytest

from tools.core import db
from tools.core.errors import DatabaseError
from tools.core.settings import Settings


def test_database_url_wins_over_the_embedded_server(tmp_path: object) -> None:
    settings = Settings(DATABASE_URL="postgresql://titan:pw@db.plant:5432/titan")

    location = db.locate(settings)

    assert location == db.DatabaseLocation(
        url="postgresql://titan:pw@db.plant:5432/titan", embedded=False
    )
    assert location.describe() == "PostgreSQL at postgresql://titan:***@db.plant:5432/titan"


@pytest.mark.anyio
async def test_the_pool_hands_out_connections_with_dict_rows(db_url: str) -> None:
    pool = db.make_pool(db_url)
    await db.open_pool(pool)
    try:
        async with pool.connection() as conn:
            cur = await conn.execute("select 42 as answer")
            assert await cur.fetchone() == {"answer": 42}
    finally:
        await pool.close()


@pytest.mark.anyio
async def test_a_refused_connection_is_retried_then_reported_without_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = Settings(db_connect_timeout_s=1.0)
    url = "postgresql://postgres:hunter2@127.0.0.1:1/titan"

    with (
        caplog.at_level(logging.WARNING, logger="tools.core.db"),
        pytest.raises(DatabaseError) as err,
    ):
        await db.connect(url, settings=settings)

    assert "cannot connect to postgresql://postgres:***@127.0.0.1:1/titan after 1 s" in str(
        err.value
    )
    assert "hunter2" not in str(err.value)
    retries = [r for r in caplog.records if "Retrying" in r.getMessage()]
    assert len(retries) >= 2


@pytest.mark.anyio
async def test_a_read_only_transaction_refuses_writes_and_one_inside_keeps_the_callers_mode(
    conn: db.AsyncConn,
) -> None:
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        async with db.read_only(conn):
            await conn.execute("insert into divisions (division_id, name) values ('X', 'x')")

    async with conn.transaction():
        async with db.read_only(conn):
            cur = await conn.execute("select count(*) as n from divisions")
            assert await cur.fetchone() == {"n": 0}
        await conn.execute("insert into divisions (division_id, name) values ('X', 'x')")
    cur = await conn.execute("select name from divisions")
    assert await cur.fetchall() == [{"name": "x"}]
