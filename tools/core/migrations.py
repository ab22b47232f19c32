"""Versioned schema migrations, applied automatically, idempotently and one process at a time.

Migrations are the files `tools/core/sql/NNNN_name.sql`, applied in version order in one transaction
(a failure leaves the schema as it was), under a PostgreSQL advisory lock so that several Titan
processes starting together apply each one exactly once. An applied migration whose file has
since changed is refused: migrations are append-only.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources

import psycopg
from psycopg import sql

from tools.core.db import AsyncConn
from tools.core.errors import MigrationError

log = logging.getLogger(__name__)

# Arbitrary but fixed: the advisory-lock key all Titan processes agree on for schema changes.
MIGRATION_LOCK_KEY = 0x7171_0001

LOCK_POLL_S = 0.1  # how often a process waiting for the migration lock tries it again
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    """One migration file."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def available() -> list[Migration]:
    """The migrations shipped with Titan, in version order."""
    found: list[Migration] = []
    for entry in resources.files("tools.core").joinpath("sql").iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migration files share a version number: {versions}")
    return found


_CREATE_LEDGER = """
create table if not exists schema_migrations (
    version    integer primary key,
    name       text not null,
    checksum   text not null,
    applied_at timestamptz not null default now()
)
"""


async def migrate(conn: AsyncConn) -> list[Migration]:
    """Apply every migration not yet applied; returns those applied now (empty when current).

    The lock is tried, not waited on: a statement blocked on it would keep a snapshot open, and a
    `create index concurrently` in the process that holds the lock (the checkpointer's set-up)
    would wait for that snapshot: a deadlock."""
    while True:
        async with conn.transaction():
            cur = await conn.execute(
                "select pg_try_advisory_xact_lock(%s) as ok", (MIGRATION_LOCK_KEY,)
            )
            row = await cur.fetchone()
            if row is not None and row["ok"]:
                return await _apply(conn)
        await asyncio.sleep(LOCK_POLL_S)


async def _apply(conn: AsyncConn) -> list[Migration]:
    """The migrations not yet applied, applied now, with the migration lock held."""
    applied_now: list[Migration] = []
    await conn.execute(_CREATE_LEDGER)
    cur = await conn.execute("select version, name, checksum from schema_migrations")
    done = {row["version"]: row for row in await cur.fetchall()}
    for migration in available():
        previous = done.get(migration.version)
        if previous is not None:
            if previous["checksum"] != migration.checksum:
                raise MigrationError(
                    f"migration {migration.version:04d}_{migration.name} was changed after "
                    "it was applied; add a new migration instead of editing an applied one"
                )
            continue
        log.info("applying migration %04d_%s", migration.version, migration.name)
        async with conn.transaction():
            try:
                await conn.execute(sql.SQL(migration.sql))
            except psycopg.Error as exc:
                raise MigrationError(
                    f"migration {migration.version:04d}_{migration.name} failed: {exc}"
                ) from exc
            await conn.execute(
                "insert into schema_migrations (version, name, checksum) values (%s, %s, %s)",
                (migration.version, migration.name, migration.checksum),
            )
        applied_now.append(migration)
    return applied_now


async def current_version(conn: AsyncConn) -> tuple[int, str] | None:
    """The newest applied migration (version, name), or None on an empty database."""
    cur = await conn.execute("select to_regclass('schema_migrations') as ledger")
    row = await cur.fetchone()
    if row is None or row["ledger"] is None:
        return None
    cur = await conn.execute(
        "select version, name from schema_migrations order by version desc limit 1"
    )
    latest = await cur.fetchone()
    return (latest["version"], latest["name"]) if latest else None
