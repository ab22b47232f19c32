"""Where Titan's database is, and connections to it.

`DATABASE_URL` names a server when set; otherwise the embedded PostgreSQL is started on demand.
Connections are retried with exponential backoff while the server refuses them (a server still
starting, a restart, a network blip), up to `TITAN_DB_CONNECT_TIMEOUT_S`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from tenacity import (
    AsyncRetrying,
    before_sleep_log,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential,
)

from tools.core import embedded
from tools.core.errors import DatabaseError
from tools.core.settings import Settings, get_settings

log = logging.getLogger(__name__)

AsyncConn = psycopg.AsyncConnection[dict[str, Any]]


@dataclass(frozen=True)
class DatabaseLocation:
    """Which database Titan talks to, and how it was chosen."""

    url: str
    embedded: bool
    pgdata: str | None = None

    def describe(self) -> str:
        """A one-line description with any password masked."""
        if self.embedded:
            return f"embedded PostgreSQL, data in {self.pgdata}"
        return f"PostgreSQL at {mask_url(self.url)}"


def mask_url(url: str) -> str:
    """`url` with its password replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def locate(settings: Settings | None = None) -> DatabaseLocation:
    """The database to use: DATABASE_URL, else the embedded server (started if need be)."""
    settings = settings or get_settings()
    if settings.database_url:
        return DatabaseLocation(url=settings.database_url, embedded=False)
    server = embedded.start(settings.embedded_pgdata)
    return DatabaseLocation(url=server.url, embedded=True, pgdata=str(server.pgdata))


def _retrying(settings: Settings) -> AsyncRetrying:
    return AsyncRetrying(
        retry=retry_if_exception_type(psycopg.OperationalError),
        wait=wait_exponential(multiplier=0.2, max=5),
        stop=stop_after_delay(settings.db_connect_timeout_s),
        before_sleep=before_sleep_log(log, logging.WARNING),
        reraise=True,
    )


async def connect(
    url: str, *, autocommit: bool = False, settings: Settings | None = None
) -> AsyncConn:
    """One connection with dict rows, retried while the server refuses connections."""
    settings = settings or get_settings()
    try:
        async for attempt in _retrying(settings):
            with attempt:
                return await psycopg.AsyncConnection.connect(
                    url, autocommit=autocommit, row_factory=dict_row
                )
    except psycopg.OperationalError as exc:
        raise DatabaseError(
            f"cannot connect to {mask_url(url)} after {settings.db_connect_timeout_s:.0f} s: "
            f"{str(exc).strip()}"
        ) from exc
    raise AssertionError("unreachable")  # pragma: no cover


@asynccontextmanager
async def connection(url: str, *, autocommit: bool = False) -> AsyncIterator[AsyncConn]:
    """A connection for one job, closed afterwards."""
    conn = await connect(url, autocommit=autocommit)
    try:
        yield conn
    finally:
        await conn.close()


@asynccontextmanager
async def read_only(conn: AsyncConn) -> AsyncIterator[None]:
    """A transaction the server refuses every write in, for the answer to a question.

    Inside a transaction the caller already holds it is a savepoint of that one, which keeps the
    caller's own mode: marking it read-only would outlast the savepoint.
    """
    outer = conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
    async with conn.transaction():
        if not outer:
            await conn.execute("set transaction read only")
        yield


async def _configure(conn: AsyncConn) -> None:
    conn.row_factory = dict_row


def make_pool(url: str, *, settings: Settings | None = None) -> AsyncConnectionPool[AsyncConn]:
    """The process's connection pool, not yet open (open it in the owning lifespan)."""
    settings = settings or get_settings()
    return AsyncConnectionPool(
        url,
        open=False,
        min_size=1,
        max_size=settings.db_pool_max,
        kwargs={"row_factory": dict_row},
        configure=_configure,
        check=AsyncConnectionPool.check_connection,
        timeout=settings.db_pool_wait_s,
        name="titan",
    )


async def open_pool(
    pool: AsyncConnectionPool[AsyncConn], *, settings: Settings | None = None
) -> None:
    """Open `pool`, retrying while the server refuses connections."""
    settings = settings or get_settings()
    try:
        await pool.open(wait=True, timeout=settings.db_connect_timeout_s)
    except PoolTimeout as exc:
        where = mask_url(pool.conninfo) if isinstance(pool.conninfo, str) else "the database"
        raise DatabaseError(f"cannot open connections to {where}: {exc}") from exc
