"""Running an ingest: its receiver and its batcher as two tasks, stopped in order.

`mqtt_ingest` and `opcua_ingest` run in the background while their block runs (the service's
lifespan, a test, a benchmark) and yield the ingest's live counters. Leaving the block stops
the receiver first; what it received is stored and acknowledged, then the batcher ends and
writes the final status.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager, suppress
from pathlib import Path

from ingest.mqtt import run_mqtt
from ingest.opcua import OpcUaMapping, run_opcua
from ingest.pipeline import Pipeline, PipelineSettings
from ingest.stats import IngestStats
from tools.core.settings import Settings
from tools.machine_data.broker import Broker
from tools.machine_data.contract import contract_from
from tools.machine_data.ingest_status import Protocol

log = logging.getLogger(__name__)

STOP_S = 15.0
Receiver = Callable[[Pipeline, asyncio.Event], Coroutine[None, None, None]]


def pipeline_settings(settings: Settings) -> PipelineSettings:
    return PipelineSettings(
        queue_max=settings.ingest_queue_max,
        batch_max=settings.ingest_batch_max,
        interval_s=settings.ingest_batch_interval_s,
        detect_every_s=settings.ingest_detect_every_s,
    )


@asynccontextmanager
async def _running(
    db_url: str, source: str, protocol: Protocol, tuning: PipelineSettings, receive: Receiver
) -> AsyncIterator[IngestStats]:
    stats = IngestStats(source, protocol)
    pipeline = Pipeline(db_url, stats, tuning)
    stop_receiving, stop_storing = asyncio.Event(), asyncio.Event()
    batcher = asyncio.create_task(pipeline.run(stop_storing), name=f"titan-ingest-{protocol}-store")
    receiver = asyncio.create_task(
        receive(pipeline, stop_receiving), name=f"titan-ingest-{protocol}-receive"
    )
    try:
        yield stats
    finally:
        stop_receiving.set()
        try:
            async with asyncio.timeout(STOP_S):
                await receiver
        except TimeoutError:
            log.warning("the %s ingest did not stop in %.0f s; cancelling it", protocol, STOP_S)
            receiver.cancel()
            with suppress(asyncio.CancelledError):
                await receiver
        stop_storing.set()
        try:
            async with asyncio.timeout(STOP_S):
                await batcher
        except TimeoutError:
            batcher.cancel()
            with suppress(asyncio.CancelledError):
                await batcher


@asynccontextmanager
async def mqtt_ingest(
    db_url: str,
    settings: Settings,
    *,
    mqtt_url: str,
    topics: list[str] | None = None,
    tuning: PipelineSettings | None = None,
) -> AsyncIterator[IngestStats]:
    """MQTT ingest from `mqtt_url` into the database at `db_url`, while the block runs."""
    broker = Broker.from_url(mqtt_url)
    contract = contract_from(settings)

    async def receive(pipeline: Pipeline, stop: asyncio.Event) -> None:
        await run_mqtt(broker, pipeline, stop, contract=contract,
                       client_id=settings.ingest_client_id, topics=topics)  # fmt: skip

    chosen = tuning or pipeline_settings(settings)
    async with _running(db_url, f"mqtt:{broker.label}", "mqtt", chosen, receive) as stats:
        yield stats


@asynccontextmanager
async def opcua_ingest(
    db_url: str,
    settings: Settings,
    *,
    mapping_path: Path,
    url: str | None = None,
    tuning: PipelineSettings | None = None,
) -> AsyncIterator[IngestStats]:
    """OPC UA ingest of the nodes in the mapping file, while the block runs."""
    mapping = OpcUaMapping.load(mapping_path)
    endpoint = url or mapping.endpoint
    if endpoint is None:
        raise ValueError(
            f"no OPC UA server: give --url or set endpoint in the mapping {mapping_path}"
        )

    async def receive(pipeline: Pipeline, stop: asyncio.Event) -> None:
        await run_opcua(endpoint, mapping, pipeline, stop)

    chosen = tuning or pipeline_settings(settings)
    async with _running(db_url, f"opcua:{endpoint}", "opcua", chosen, receive) as stats:
        yield stats
