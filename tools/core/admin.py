"""Database administration: preparing a database, wiping its plant data, and a status report."""

from __future__ import annotations

from psycopg import sql
from pydantic import BaseModel

from tools.core.db import AsyncConn, DatabaseLocation
from tools.core.migrations import available, current_version, migrate

# Accounts and the recipient directory survive a plant reset: wiping the plant must not lock its
# people out, nor forget who is told about what.
ACCOUNT_TABLES = ("users", "api_keys", "notification_roles")
# The record of resets outlives them: a reset wipes the audit trail, never the trace of itself.
RESET_TABLE = "plant_resets"
LEDGER_TABLE = "schema_migrations"


class TableCount(BaseModel):
    table: str
    rows: int


class DatabaseStatus(BaseModel):
    """What `titan db status` reports."""

    location: str
    server_version: str
    database: str
    migration_version: int | None
    migration_name: str | None
    migrations_pending: int
    tables: list[TableCount]


async def prepare(conn: AsyncConn) -> int:
    """Bring the schema up to date; returns how many migrations were applied now."""
    return len(await migrate(conn))


async def plant_tables(conn: AsyncConn) -> list[str]:
    """Every table of the public schema except the migration ledger, by name."""
    cur = await conn.execute(
        "select tablename from pg_tables where schemaname = 'public' and tablename <> %s "
        "order by tablename",
        (LEDGER_TABLE,),
    )
    return [row["tablename"] for row in await cur.fetchall()]


# One round trip: truncate the tables that hold rows (with everything that refers to them) and
# restart the sequences that have been used. Skipping the empty ones makes a wipe of a lightly
# used database cheap; the result is the same as truncating every table.
_WIPE = sql.SQL("""
do $$
declare
    t text;
    held boolean;
    filled text[] := '{{}}';
begin
    foreach t in array {tables}::text[] loop
        execute format('select exists (select 1 from %I)', t) into held;
        if held then
            filled := filled || t;
        end if;
    end loop;
    if cardinality(filled) > 0 then
        execute 'truncate ' || (select string_agg(quote_ident(x), ', ') from unnest(filled) x)
            || ' restart identity cascade';
    end if;
    for t in select sequencename from pg_sequences
             where schemaname = 'public' and last_value is not null loop
        execute format('alter sequence %I restart', t);
    end loop;
end $$
""")


async def wipe(conn: AsyncConn, *, keep_accounts: bool = True) -> None:
    """Empty every plant table and restart every ID sequence, in the caller's transaction."""
    kept = (*ACCOUNT_TABLES, RESET_TABLE) if keep_accounts else ()
    tables = [t for t in await plant_tables(conn) if t not in kept]
    if tables:
        # a DO block takes no parameters: the names go in as a quoted array literal
        await conn.execute(_WIPE.format(tables=sql.Literal(tables)))


async def status(conn: AsyncConn, location: DatabaseLocation) -> DatabaseStatus:
    """Where the database is, its server version, migration level and row counts."""
    cur = await conn.execute(
        "select current_setting('server_version') as version, current_database() as db"
    )
    info = await cur.fetchone()
    assert info is not None
    level = await current_version(conn)
    pending = sum(1 for m in available() if level is None or m.version > level[0])
    counts: list[TableCount] = []
    if level is not None:
        for table in await plant_tables(conn):
            cur = await conn.execute(
                sql.SQL("select count(*) as n from {}").format(sql.Identifier(table))
            )
            row = await cur.fetchone()
            counts.append(TableCount(table=table, rows=row["n"] if row else 0))
    return DatabaseStatus(
        location=location.describe(),
        server_version=info["version"],
        database=info["db"],
        migration_version=level[0] if level else None,
        migration_name=level[1] if level else None,
        migrations_pending=pending,
        tables=counts,
    )
