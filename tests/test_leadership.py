"""Of the service processes on one database one leads (the MQTT ingest, the count of events);
the others stand by and one of them takes over when the leader ends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from api.hosting.leadership import Leadership, while_leading

pytestmark = pytest.mark.anyio
QUICK = 0.05  # seconds between tries of the lock, here


async def test_one_process_leads_and_another_takes_over_when_it_stops(db_url: str) -> None:
    first, second = Leadership(db_url, standby_s=QUICK), Leadership(db_url, standby_s=QUICK)
    stop_first, stop_second = asyncio.Event(), asyncio.Event()
    running = [asyncio.create_task(first.run(stop_first))]
    async with asyncio.timeout(10):
        await first.leading.wait()
    running.append(asyncio.create_task(second.run(stop_second)))
    await asyncio.sleep(QUICK * 4)
    assert not second.leading.is_set() and second.lost.is_set()

    stop_first.set()
    async with asyncio.timeout(10):
        await second.leading.wait()
    assert not first.leading.is_set()
    stop_second.set()
    await asyncio.gather(*running)
    assert second.lost.is_set()


async def test_a_duty_runs_only_while_its_process_leads(db_url: str) -> None:
    first, second = Leadership(db_url, standby_s=QUICK), Leadership(db_url, standby_s=QUICK)
    stop_first, stop_all = asyncio.Event(), asyncio.Event()
    entered: list[str] = []
    exited: list[str] = []

    def duty(name: str) -> object:
        @asynccontextmanager
        async def running() -> AsyncIterator[None]:
            entered.append(name)
            try:
                yield
            finally:
                exited.append(name)

        return running

    tasks = [
        asyncio.create_task(first.run(stop_first)),
        asyncio.create_task(while_leading(first, stop_all, duty("first"), "duty")),  # type: ignore[arg-type]
    ]
    async with asyncio.timeout(10):
        await first.leading.wait()
        while entered != ["first"]:
            await asyncio.sleep(QUICK)
    tasks += [
        asyncio.create_task(second.run(stop_all)),
        asyncio.create_task(while_leading(second, stop_all, duty("second"), "duty")),  # type: ignore[arg-type]
    ]
    await asyncio.sleep(QUICK * 4)
    assert entered == ["first"]

    stop_first.set()  # the leader ends: its duty stops, the other process's starts
    async with asyncio.timeout(10):
        while entered != ["first", "second"]:
            await asyncio.sleep(QUICK)
    assert exited == ["first"]
    stop_all.set()
    await asyncio.gather(*tasks)
    assert exited == ["first", "second"]
