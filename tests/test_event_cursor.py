"""Reading the event log in order: an event that commits after a later one is not skipped."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tools.core import db, events
from tools.core.event_cursor import EventCursor


@pytest.fixture
async def writers(db_url: str) -> AsyncIterator[tuple[db.AsyncConn, db.AsyncConn, db.AsyncConn]]:
    """Two writing sessions and a reading one, each on its own connection."""
    conns = [await db.connect(db_url) for _ in range(3)]
    try:
        yield conns[0], conns[1], conns[2]
    finally:
        for conn in conns:
            await conn.close()


async def newest(conn: db.AsyncConn) -> int:
    cur = await conn.execute("select coalesce(max(event_id), 0) as n from event_log")
    row = await cur.fetchone()
    await conn.commit()
    assert row is not None
    return int(row["n"])


async def read(cursor: EventCursor, conn: db.AsyncConn) -> list[str]:
    async with conn.transaction():
        return [e.type for e in await cursor.read(conn)]


@pytest.mark.anyio
async def test_an_event_committed_after_a_later_one_is_still_read_first(
    writers: tuple[db.AsyncConn, db.AsyncConn, db.AsyncConn],
) -> None:
    slow, fast, reader = writers
    cursor = EventCursor(await newest(reader))
    await events.emit(slow, "test.slow", source="system")  # draws the lower ID, commits later
    await events.emit(fast, "test.fast", source="system")
    await fast.commit()

    assert await read(cursor, reader) == []
    assert cursor.waiting_on_gap
    await slow.commit()
    assert await read(cursor, reader) == ["test.slow", "test.fast"]
    assert not cursor.waiting_on_gap


@pytest.mark.anyio
async def test_the_id_of_a_rolled_back_event_is_stepped_over_once_its_writer_ends(
    writers: tuple[db.AsyncConn, db.AsyncConn, db.AsyncConn],
) -> None:
    failing, fine, reader = writers
    cursor = EventCursor(await newest(reader))
    await events.emit(failing, "test.failing", source="system")
    await events.emit(fine, "test.fine", source="system")
    await fine.commit()

    assert await read(cursor, reader) == []
    await failing.rollback()
    assert await read(cursor, reader) == ["test.fine"]

    await events.emit(failing, "test.failing", source="system")
    await failing.rollback()  # ended before anyone looked
    await events.emit(fine, "test.after", source="system")
    await fine.commit()
    assert await read(cursor, reader) == ["test.after"]


@pytest.mark.anyio
async def test_a_type_prefix_reads_only_those_events_but_keeps_its_place_in_all(
    writers: tuple[db.AsyncConn, db.AsyncConn, db.AsyncConn],
) -> None:
    one, _, reader = writers
    start = await newest(reader)
    cursor = EventCursor(start, type_prefix="order.")
    for kind in ("order.created", "sensor.anomaly", "order.shipped", "stock.low"):
        await events.emit(one, kind, source="system")
    await one.commit()

    assert await read(cursor, reader) == ["order.created", "order.shipped"]
    assert cursor.position == start + 4


@pytest.mark.anyio
async def test_a_writer_running_past_the_timeout_is_no_longer_waited_for(
    writers: tuple[db.AsyncConn, db.AsyncConn, db.AsyncConn],
) -> None:
    stuck, fine, reader = writers
    cursor = EventCursor(await newest(reader), timeout_s=0.0)
    await events.emit(stuck, "test.stuck", source="system")
    await events.emit(fine, "test.fine", source="system")
    await fine.commit()

    assert await read(cursor, reader) == []
    assert await read(cursor, reader) == ["test.fine"]
    await stuck.rollback()
