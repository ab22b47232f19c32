"""The frame every domain write shares: atomic, audited, evented and idempotent."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import BaseModel

from tools.core import db, events
from tools.core.clock import FixedClock
from tools.core.errors import ConflictError, ValidationError
from tools.core.operations import Actor, atomic, idempotent, record

PLANNER = Actor(type="user", id="planner", thread_id="thread-1")


class Renamed(BaseModel):
    division_id: str
    name: str


async def rename_division(
    conn: db.AsyncConn, division_id: str, name: str, *, key: str | None = None
) -> Renamed:
    async def run() -> Renamed:
        cur = await conn.execute(
            "update divisions set name = %s where division_id = %s returning division_id, name",
            (name, division_id),
        )
        row = await cur.fetchone()
        assert row is not None
        await record(
            conn,
            PLANNER,
            event_type="division.renamed",
            entity_type="division",
            entity_id=division_id,
            action="rename",
            after={"name": name},
        )
        return Renamed.model_validate(row)

    async with atomic(conn):
        return await idempotent(conn, key, "divisions.rename", Renamed, run)


@pytest.fixture
async def division(conn: db.AsyncConn) -> db.AsyncConn:
    await conn.execute("insert into divisions values ('AERO', 'Aerospace')")
    await conn.commit()
    return conn


async def count(conn: db.AsyncConn, table: str) -> int:
    cur = await conn.execute(f"select count(*) as n from {table}")  # type: ignore[arg-type]
    row = await cur.fetchone()
    return int(row["n"]) if row else 0


@pytest.mark.anyio
async def test_a_mutation_writes_one_event_and_one_audit_row_naming_the_actor(
    division: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    await rename_division(division, "AERO", "Aerospace & Defence")

    logged = await events.since(division, 0)
    cur = await division.execute("select actor_type, actor_id, thread_id, at from audit_log")
    audit = await cur.fetchall()
    assert [(e.type, e.payload["actor"]) for e in logged] == [("division.renamed", "user:planner")]
    assert audit == [
        {
            "actor_type": "user",
            "actor_id": "planner",
            "thread_id": "thread-1",
            "at": fixed_clock.now(),
        }
    ]


@pytest.mark.anyio
async def test_the_same_idempotency_key_twice_returns_the_first_result_and_writes_nothing_more(
    division: db.AsyncConn,
) -> None:
    first = await rename_division(division, "AERO", "Aerospace", key="k-1")
    again = await rename_division(division, "AERO", "Something else", key="k-1")

    assert again == first
    cur = await division.execute("select name from divisions")
    assert await cur.fetchone() == {"name": "Aerospace"}
    assert await count(division, "event_log") == 1
    assert await count(division, "audit_log") == 1


@pytest.mark.anyio
async def test_racing_writers_with_one_key_apply_it_once(
    division: db.AsyncConn, db_url: str
) -> None:
    async def writer(name: str) -> Renamed:
        async with db.connection(db_url) as conn:
            return await rename_division(conn, "AERO", name, key="race")

    results = await asyncio.gather(*(writer(f"name-{i}") for i in range(8)))

    assert len({r.name for r in results}) == 1
    assert await count(division, "audit_log") == 1


@pytest.mark.anyio
async def test_a_key_reused_for_another_operation_is_a_conflict(division: db.AsyncConn) -> None:
    await rename_division(division, "AERO", "Aerospace", key="k-2")

    async def other() -> Renamed:
        raise AssertionError("must not run")

    with pytest.raises(ConflictError, match="already used for divisions.rename"):
        async with atomic(division):
            await idempotent(division, "k-2", "divisions.delete", Renamed, other)


@pytest.mark.anyio
async def test_a_failed_operation_changes_nothing_and_says_why(division: db.AsyncConn) -> None:
    with pytest.raises(ValidationError, match="products: must satisfy CHECK.*TURBINE_BLADE"):
        async with atomic(division):
            await record(
                division,
                PLANNER,
                event_type="division.renamed",
                entity_type="division",
                entity_id="AERO",
                action="rename",
            )
            await division.execute(
                "insert into products (sku, name, division_id, category, unit_price, "
                "unit_weight_kg, is_manufactured) values ('SKU-X', 'x', 'AERO', 'BLADE', 1, 1, "
                "true)"
            )

    assert await count(division, "event_log") == 0
    assert await count(division, "audit_log") == 0
