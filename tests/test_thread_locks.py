"""Per-thread locks: one run at a time on a thread, across processes on the same database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest

from agents.thread_locks import ThreadLocks
from tools.core import db

LIMIT_S = 20


async def advisory_locks(conn: db.AsyncConn, *, granted: bool) -> int:
    cur = await conn.execute(
        "select count(*) as n from pg_locks where locktype = 'advisory' and granted = %s "
        "and database = (select oid from pg_database where datname = current_database())",
        (granted,),
    )
    row = await cur.fetchone()
    await conn.commit()
    assert row is not None
    return int(row["n"])


@pytest.fixture
async def two_processes(db_url: str) -> AsyncIterator[tuple[ThreadLocks, ThreadLocks]]:
    first, second = ThreadLocks(db_url), ThreadLocks(db_url)
    await first.open()
    await second.open()
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


@pytest.mark.anyio
async def test_a_thread_held_in_one_process_waits_in_another_until_released(
    two_processes: tuple[ThreadLocks, ThreadLocks], conn: db.AsyncConn
) -> None:
    first, second = two_processes
    order: list[str] = []

    async def later() -> None:
        async with second.hold("chat-shared"):
            order.append("second")

    with anyio.fail_after(LIMIT_S):
        async with anyio.create_task_group() as tasks:
            async with first.hold("chat-shared"):
                tasks.start_soon(later)
                while await advisory_locks(conn, granted=False) == 0:
                    await anyio.sleep(0.01)  # until the second process waits on the server
                order.append("first")
    assert order == ["first", "second"]
    assert await advisory_locks(conn, granted=True) == 0


@pytest.mark.anyio
async def test_a_thread_just_made_here_takes_no_lock_on_the_server(
    two_processes: tuple[ThreadLocks, ThreadLocks], conn: db.AsyncConn
) -> None:
    first, _ = two_processes
    with anyio.fail_after(LIMIT_S):
        async with first.hold("chat-new", fresh=True):
            assert await advisory_locks(conn, granted=True) == 0
            assert first.held_here() == 1
        async with first.hold("chat-old"):
            assert await advisory_locks(conn, granted=True) == 1
    assert await advisory_locks(conn, granted=True) == 0


@pytest.mark.anyio
async def test_runs_queued_on_a_thread_go_one_at_a_time_and_leave_nothing_behind() -> None:
    locks = ThreadLocks(None)  # this process only
    inside, most = 0, 0

    async def run() -> None:
        nonlocal inside, most
        async with locks.hold("chat-busy"):
            inside += 1
            most = max(most, inside)
            await anyio.sleep(0)
            inside -= 1

    with anyio.fail_after(LIMIT_S):
        async with anyio.create_task_group() as tasks:
            for _ in range(20):
                tasks.start_soon(run)
    assert most == 1
    assert locks.held_here() == 0
