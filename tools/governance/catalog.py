"""Titan's data catalog, read from the database itself: what each table holds (its COMMENT ON
TABLE), its columns, row counts, lineage along foreign keys, constraints, and data-quality checks
(null rates per column, orphans along each foreign key and along the logical references that
event, audit and notification rows make by entity type and ID).

Table names come from the system catalog and reach SQL only as quoted identifiers. Row counts are
exact up to EXACT_COUNT_LIMIT rows (by the planner's estimate) and estimated beyond.
"""

from __future__ import annotations

import difflib
from typing import Any, Literal

from psycopg import sql
from pydantic import BaseModel

from tools.core.db import AsyncConn
from tools.core.errors import NotFoundError, ValidationError

EXACT_COUNT_LIMIT = 1_000_000
MAX_LINEAGE_DEPTH = 6

# (table, entity type column, entity type, entity ID column, target table, target key): rows
# that name an entity by type and ID without a foreign key.
LOGICAL_REFERENCES: tuple[tuple[str, str, str, str, str, str], ...] = tuple(
    (table, "entity_type", entity, "entity_id", target, key)
    for table in ("event_log", "audit_log", "notifications")
    for entity, target, key in (
        ("order", "orders", "order_id"),
        ("shipment", "shipments", "shipment_id"),
        ("inquiry", "customer_inquiries", "inquiry_id"),
        ("work_order", "work_orders", "work_order_id"),
        ("purchase_order", "purchase_orders", "po_id"),
    )
)


class Column(BaseModel):
    name: str
    type: str
    nullable: bool
    default: str | None
    description: str | None


class Constraint(BaseModel):
    name: str
    kind: str  # PRIMARY KEY, FOREIGN KEY, UNIQUE, CHECK, EXCLUDE
    definition: str
    description: str | None


class ForeignKey(BaseModel):
    """One edge of the lineage graph: `from_table` refers to `to_table`."""

    constraint: str
    from_table: str
    from_columns: list[str]
    to_table: str
    to_columns: list[str]
    depth: int = 1  # hops from the table asked about


class TableSummary(BaseModel):
    table: str
    description: str | None
    columns: int
    rows: int
    rows_estimated: bool


class TableInfo(BaseModel):
    """One table described: description, columns, keys, constraints, neighbours, rows."""

    table: str
    description: str | None
    rows: int
    rows_estimated: bool
    columns: list[Column]
    primary_key: list[str]
    constraints: list[Constraint]
    upstream: list[ForeignKey]  # the tables this one refers to
    downstream: list[ForeignKey]  # the tables that refer to this one


class Lineage(BaseModel):
    """The tables a table depends on and those that depend on it, up to `depth` hops."""

    table: str
    depth: int
    upstream: list[ForeignKey]
    downstream: list[ForeignKey]


class NullRate(BaseModel):
    column: str
    nullable: bool
    nulls: int
    rate: float


class OrphanCheck(BaseModel):
    """Rows whose reference names no row of the target table."""

    kind: Literal["foreign_key", "logical"]
    name: str
    columns: list[str]
    target: str
    orphans: int


class QualityReport(BaseModel):
    """Data-quality checks of one table, and the issues they found."""

    table: str
    rows: int
    null_rates: list[NullRate]
    orphan_checks: list[OrphanCheck]
    constraints: list[Constraint]
    issues: list[str]


_TABLES = """
select c.oid, c.relname as table, obj_description(c.oid, 'pg_class') as description,
    c.reltuples::bigint as estimate,
    (select count(*) from pg_attribute a where a.attrelid = c.oid and a.attnum > 0
     and not a.attisdropped) as columns
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where n.nspname = 'public' and c.relkind in ('r', 'p') order by c.relname
"""
_COLUMNS = """
select a.attname as name, format_type(a.atttypid, a.atttypmod) as type,
    not a.attnotnull as nullable, pg_get_expr(d.adbin, d.adrelid) as default,
    col_description(a.attrelid, a.attnum) as description
from pg_attribute a left join pg_attrdef d on (d.adrelid, d.adnum) = (a.attrelid, a.attnum)
where a.attrelid = %s and a.attnum > 0 and not a.attisdropped order by a.attnum
"""
_CONSTRAINTS = """
select conname as name,
    case contype when 'p' then 'PRIMARY KEY' when 'f' then 'FOREIGN KEY' when 'u' then 'UNIQUE'
                 when 'c' then 'CHECK' when 'x' then 'EXCLUDE' else contype::text end as kind,
    pg_get_constraintdef(oid) as definition, obj_description(oid, 'pg_constraint') as description
from pg_constraint where conrelid = %s and contype <> 'n' order by contype, conname
"""
_FOREIGN_KEYS = """
select con.conname as constraint, src.relname as from_table, dst.relname as to_table,
    array(select a.attname::text from unnest(con.conkey) with ordinality k(num, i)
          join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.num
          order by k.i) as from_columns,
    array(select a.attname::text from unnest(con.confkey) with ordinality k(num, i)
          join pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.num
          order by k.i) as to_columns
from pg_constraint con
join pg_class src on src.oid = con.conrelid
join pg_class dst on dst.oid = con.confrelid
join pg_namespace n on n.oid = src.relnamespace
where con.contype = 'f' and n.nspname = 'public'
order by src.relname, con.conname
"""


async def _tables(conn: AsyncConn) -> dict[str, dict[str, Any]]:
    cur = await conn.execute(_TABLES)
    return {r["table"]: r for r in await cur.fetchall()}


async def _table(conn: AsyncConn, table: str) -> dict[str, Any]:
    tables = await _tables(conn)
    found = tables.get(table)
    if found is None:
        near = difflib.get_close_matches(table, list(tables), n=3)
        hint = f"; did you mean {', '.join(near)}?" if near else "; list_tables() names them all"
        raise NotFoundError(
            f"no table {table!r} in Titan's database{hint}", entity="table", id=str(table)
        )
    return found


async def _rows(conn: AsyncConn, table: dict[str, Any]) -> tuple[int, bool]:
    if table["estimate"] > EXACT_COUNT_LIMIT:
        return int(table["estimate"]), True
    query = sql.SQL("select count(*) as n from {}").format(sql.Identifier(table["table"]))
    cur = await conn.execute(query)
    row = await cur.fetchone()
    return (int(row["n"]) if row else 0), False


async def foreign_keys(conn: AsyncConn) -> list[ForeignKey]:
    """Every foreign key among Titan's tables: the edges of the lineage graph."""
    cur = await conn.execute(_FOREIGN_KEYS)
    return [ForeignKey.model_validate(r) for r in await cur.fetchall()]


async def list_tables(conn: AsyncConn) -> list[TableSummary]:
    """Every table with its description, column count and row count, by name."""
    summaries = []
    for table in (await _tables(conn)).values():
        rows, estimated = await _rows(conn, table)
        summaries.append(
            TableSummary(
                table=table["table"],
                description=table["description"],
                columns=table["columns"],
                rows=rows,
                rows_estimated=estimated,
            )
        )
    return summaries


async def _constraints(conn: AsyncConn, oid: int) -> list[Constraint]:
    cur = await conn.execute(_CONSTRAINTS, (oid,))
    return [Constraint.model_validate(r) for r in await cur.fetchall()]


async def _columns(conn: AsyncConn, oid: int) -> list[Column]:
    cur = await conn.execute(_COLUMNS, (oid,))
    return [Column.model_validate(r) for r in await cur.fetchall()]


async def describe_table(conn: AsyncConn, table: str) -> TableInfo:
    """One table: description, columns with types and nullability, keys, constraints, the tables
    it refers to and those referring to it, and its row count."""
    found = await _table(conn, table)
    rows, estimated = await _rows(conn, found)
    edges = await foreign_keys(conn)
    cur = await conn.execute(
        "select array(select a.attname::text from pg_index i cross join unnest(i.indkey) "
        "with ordinality k(num, pos) join pg_attribute a on a.attrelid = i.indrelid "
        "and a.attnum = k.num where i.indrelid = %s and i.indisprimary order by k.pos) as key",
        (found["oid"],),
    )
    key = await cur.fetchone()
    return TableInfo(
        table=table,
        description=found["description"],
        rows=rows,
        rows_estimated=estimated,
        columns=await _columns(conn, found["oid"]),
        primary_key=key["key"] if key else [],
        constraints=await _constraints(conn, found["oid"]),
        upstream=[e for e in edges if e.from_table == table],
        downstream=[e for e in edges if e.to_table == table],
    )


async def lineage(conn: AsyncConn, table: str, *, depth: int = 2) -> Lineage:
    """The foreign-key edges upstream (what `table` depends on) and downstream (what depends on
    it), following them up to `depth` hops."""
    if not 1 <= depth <= MAX_LINEAGE_DEPTH:
        raise ValidationError(f"lineage depth must be 1 to {MAX_LINEAGE_DEPTH}, got {depth}")
    await _table(conn, table)
    edges = await foreign_keys(conn)

    def walk(forward: bool) -> list[ForeignKey]:
        seen, frontier, found = {table}, {table}, []
        for hop in range(1, depth + 1):
            step = [
                e.model_copy(update={"depth": hop})
                for e in edges
                if (e.from_table if forward else e.to_table) in frontier
            ]
            found += step
            frontier = {(e.to_table if forward else e.from_table) for e in step} - seen
            seen |= frontier
            if not frontier:
                break
        return found

    return Lineage(table=table, depth=depth, upstream=walk(True), downstream=walk(False))


async def data_quality(conn: AsyncConn, table: str) -> QualityReport:
    """Null rates of every column, orphan checks along every foreign key and logical
    reference of `table`, its constraints, and the issues found."""
    found = await _table(conn, table)
    columns = await _columns(conn, found["oid"])
    counts = sql.SQL(", ").join(
        sql.SQL("count({}) as {}").format(sql.Identifier(c.name), sql.Identifier(f"c{i}"))
        for i, c in enumerate(columns)
    )
    cur = await conn.execute(
        sql.SQL("select count(*) as n, {} from {}").format(counts, sql.Identifier(table))
    )
    tally = await cur.fetchone()
    assert tally is not None
    total = int(tally["n"])
    nulls = [
        NullRate(
            column=c.name,
            nullable=c.nullable,
            nulls=total - int(tally[f"c{i}"]),
            rate=(total - int(tally[f"c{i}"])) / total if total else 0.0,
        )
        for i, c in enumerate(columns)
    ]
    checks = [await _orphans(conn, e) for e in await foreign_keys(conn) if e.from_table == table]
    checks += [await _logical_orphans(conn, ref) for ref in LOGICAL_REFERENCES if ref[0] == table]
    issues = [] if found["description"] else [f"{table} has no description (COMMENT ON TABLE)"]
    issues += [
        f"{c.name}: {c.orphans} row(s) name a missing {c.target} row" for c in checks if c.orphans
    ]
    issues += [
        f"column {n.column} is empty in all {total} rows" for n in nulls if total and n.rate == 1
    ]
    return QualityReport(
        table=table,
        rows=total,
        null_rates=nulls,
        orphan_checks=checks,
        constraints=await _constraints(conn, found["oid"]),
        issues=issues,
    )


async def _orphans(conn: AsyncConn, edge: ForeignKey) -> OrphanCheck:
    # a reference with a null column is not checked (MATCH SIMPLE), as the database does
    child, parent = sql.Identifier("child"), sql.Identifier("parent")
    present = sql.SQL(" and ").join(
        sql.SQL("{}.{} is not null").format(child, sql.Identifier(c)) for c in edge.from_columns
    )
    match = sql.SQL(" and ").join(
        sql.SQL("{}.{} = {}.{}").format(parent, sql.Identifier(p), child, sql.Identifier(c))
        for c, p in zip(edge.from_columns, edge.to_columns, strict=True)
    )
    query = sql.SQL(
        "select count(*) as n from {} child where {} and not exists "
        "(select 1 from {} parent where {})"
    ).format(sql.Identifier(edge.from_table), present, sql.Identifier(edge.to_table), match)
    cur = await conn.execute(query)
    row = await cur.fetchone()
    return OrphanCheck(
        kind="foreign_key",
        name=edge.constraint,
        columns=edge.from_columns,
        target=f"{edge.to_table} ({', '.join(edge.to_columns)})",
        orphans=int(row["n"]) if row else 0,
    )


async def _logical_orphans(
    conn: AsyncConn, ref: tuple[str, str, str, str, str, str]
) -> OrphanCheck:
    table, type_column, entity, id_column, target, key = ref
    query = sql.SQL(
        "select count(*) as n from {table} child where child.{type_column} = %(entity)s "
        "and not exists (select 1 from {target} parent where parent.{key} = child.{id_column})"
    ).format(
        table=sql.Identifier(table),
        type_column=sql.Identifier(type_column),
        target=sql.Identifier(target),
        key=sql.Identifier(key),
        id_column=sql.Identifier(id_column),
    )
    cur = await conn.execute(query, {"entity": entity})
    row = await cur.fetchone()
    return OrphanCheck(
        kind="logical",
        name=f"{table}.{id_column} where {type_column} = '{entity}'",
        columns=[type_column, id_column],
        target=f"{target} ({key})",
        orphans=int(row["n"]) if row else 0,
    )
