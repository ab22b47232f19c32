"""Scratch databases: a migrated demo plant of its own on a server, dropped afterwards.

Benchmarks run in one, so they never touch the plant's own database.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tools.core import admin, db
from tools.demo import plant as demo_plant


@asynccontextmanager
async def scratch_database(
    server_url: str, *, seed: int = 42, prefix: str = "titan_bench"
) -> AsyncIterator[str]:
    """The URL of a new database on `server_url`'s server with the demo plant of `seed`."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin_url = (
        make_conninfo(server_url, dbname="postgres")
        if conninfo_to_dict(server_url).get("dbname")
        else server_url
    )
    async with await psycopg.AsyncConnection.connect(admin_url, autocommit=True) as conn:
        await conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    url = make_conninfo(server_url, dbname=name)
    try:
        async with db.connection(url) as conn:
            await admin.prepare(conn)
            async with conn.transaction():
                await demo_plant.seed(conn, seed=seed)
        yield url
    finally:
        async with await psycopg.AsyncConnection.connect(admin_url, autocommit=True) as conn:
            await conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
            )
