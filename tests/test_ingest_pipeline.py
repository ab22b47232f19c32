"""The ingest pipeline's bounds: a full queue holds the receiver back until the store catches up."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import anyio
import pytest
from ingest_helpers import until_done

from ingest.pipeline import Pipeline, PipelineSettings
from ingest.stats import IngestStats
from tools.core import clock
from tools.core.db import AsyncConn
from tools.machine_data.contract import Contract, encode, parse

pytestmark = pytest.mark.anyio


async def test_a_full_queue_holds_the_receiver_back_and_nothing_is_lost(
    plant: AsyncConn, db_url: str
) -> None:
    stats = IngestStats("test", "mqtt")
    pipeline = Pipeline(db_url, stats, PipelineSettings(queue_max=10, batch_max=4, interval_s=0.01))
    contract = Contract()
    start = clock.now() - timedelta(hours=1)
    messages = [
        parse(contract, source="test", topic="titan/sensors/PHX/PHX-CNC-007",
              payload=encode({"sensor": "power", "value": 20.0,
                              "ts": (start + timedelta(seconds=i)).isoformat()}),
              received_at=clock.now())
        for i in range(25)
    ]  # fmt: skip
    for m in messages[:10]:
        await pipeline.put(m)

    with anyio.move_on_after(0.3) as waited:  # nothing stores yet: the eleventh must wait
        await pipeline.put(messages[10])
    stop = asyncio.Event()
    storing = asyncio.create_task(pipeline.run(stop))
    for m in messages[10:]:
        await pipeline.put(m)
    await until_done(stats, 25)
    stop.set()
    await storing

    assert waited.cancelled_caught
    assert pipeline.queue.maxsize == 10
    cur = await plant.execute(
        "select count(*)::int as n from sensor_readings where machine_id = 'PHX-CNC-007' "
        "and sensor = 'power' and ts >= %(s)s",
        {"s": start},
    )
    assert await cur.fetchone() == {"n": 25}
    assert (stats.received, stats.stored, stats.connection) == (25, 25, "stopped")
