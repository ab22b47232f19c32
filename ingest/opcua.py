"""OPC UA ingest: subscribe to the nodes a mapping file names, one reading per data change.

The mapping is a TOML file::

    endpoint = "opc.tcp://10.0.0.5:4840"      # optional; `--url` overrides it
    publishing_interval_ms = 500               # optional

    [[nodes]]
    node = "ns=2;s=PHX-CNC-007.Vibration"
    facility = "PHX"
    machine = "PHX-CNC-007"
    sensor = "vibration"

Each data change becomes a reading at the value's source timestamp (the server's when the
source gives none) and goes through the same pipeline, checks and dead letters as MQTT. OPC UA
does not redeliver: what changes while the connection is down is not sent again, so the
ingest reconnects with backoff and resubscribes.
"""

from __future__ import annotations

import asyncio
import logging
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asyncua import ua
from asyncua.client.client import Client
from asyncua.common.node import Node
from asyncua.common.subscription import DataChangeNotif
from asyncua.ua.uaerrors import UaError
from pydantic import BaseModel, Field, ValidationError

from ingest.pipeline import Pipeline
from tools.core import clock
from tools.machine_data.contract import encode
from tools.machine_data.dead_letters import DeadLetter
from tools.machine_data.feed import FeedMessage
from tools.machine_data.sensors import Reading

log = logging.getLogger(__name__)

BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 30.0
WATCH_S = 1.0


class NodeMapping(BaseModel):
    node: str = Field(min_length=1, description="The node ID, e.g. ns=2;s=PHX-CNC-007.Vibration.")
    facility: str = Field(min_length=1)
    machine: str = Field(min_length=1)
    sensor: str = Field(min_length=1)


class OpcUaMapping(BaseModel):
    """Which node is which machine's sensor, and where the server is."""

    endpoint: str | None = None
    publishing_interval_ms: float = Field(default=500.0, gt=0, le=60_000)
    nodes: list[NodeMapping] = Field(min_length=1)

    @classmethod
    def load(cls, path: Path) -> OpcUaMapping:
        """The mapping in `path`; ValueError saying what is wrong with the file."""
        try:
            raw = tomllib.loads(path.read_text())
        except OSError as exc:
            raise ValueError(f"cannot read the OPC UA mapping {path}: {exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"the OPC UA mapping {path} is not TOML: {exc}") from exc
        try:
            mapping = cls.model_validate(raw)
        except ValidationError as exc:
            raise ValueError(f"the OPC UA mapping {path} is invalid: {exc}") from exc
        twice = {n.node for n in mapping.nodes if sum(m.node == n.node for m in mapping.nodes) > 1}
        if twice:
            raise ValueError(f"the OPC UA mapping names nodes twice: {', '.join(sorted(twice))}")
        return mapping


class _Handler:
    """asyncua's subscription handler: each data change into the pipeline."""

    def __init__(self, pipeline: Pipeline, by_node: dict[str, NodeMapping], source: str) -> None:
        self.pipeline = pipeline
        self.by_node = by_node
        self.source = source

    async def datachange_notification(self, node: Node, val: Any, data: DataChangeNotif) -> None:
        key = node.nodeid.to_string()
        mapped = self.by_node.get(key)
        if mapped is None:
            return
        value = data.monitored_item.Value
        stamp = value.SourceTimestamp or value.ServerTimestamp
        received = clock.now()
        ts = _aware(stamp) if stamp is not None else received
        topic = f"opcua/{mapped.facility}/{mapped.machine}/{mapped.sensor}"
        payload = encode({"node": key, "value": _jsonable(val), "ts": ts.isoformat()})
        parsed: FeedMessage | DeadLetter
        if isinstance(val, bool) or not isinstance(val, int | float):
            parsed = DeadLetter(source=self.source, topic=topic, payload=payload.decode(),
                                kind="invalid_field",
                                reason=f"node {key} gave {val!r}, not a number",
                                received_at=received)  # fmt: skip
        else:
            reading = Reading(machine_id=mapped.machine, sensor=mapped.sensor, ts=ts,
                              value=float(val))  # fmt: skip
            parsed = FeedMessage(source=self.source, topic=topic, payload=payload.decode(),
                                 received_at=received, kind="sensors",
                                 facility_id=mapped.facility, machine_id=mapped.machine,
                                 readings=[reading])  # fmt: skip
        await self.pipeline.put(parsed)


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def _jsonable(val: Any) -> Any:
    return val if isinstance(val, int | float | str | bool) or val is None else repr(val)


async def run_opcua(
    url: str, mapping: OpcUaMapping, pipeline: Pipeline, stop: asyncio.Event
) -> None:
    """Subscribe to the mapped nodes until `stop` is set, reconnecting with backoff."""
    stats = pipeline.stats
    by_node = {ua.NodeId.from_string(n.node).to_string(): n for n in mapping.nodes}
    handler = _Handler(pipeline, by_node, f"opcua:{url}")
    delay, first = BACKOFF_FIRST_S, True
    while not stop.is_set():
        stats.connection = "connecting"
        try:
            async with Client(url=url) as client:
                sub = await client.create_subscription(mapping.publishing_interval_ms, handler)
                await sub.subscribe_data_change([client.get_node(n) for n in by_node])
                stats.connection = "connected"
                if not first:
                    log.warning("OPC UA ingest reconnected to %s", url)
                first, delay = False, BACKOFF_FIRST_S
                while not stop.is_set():
                    await client.check_connection()  # raises once the server is gone
                    try:
                        async with asyncio.timeout(WATCH_S):
                            await stop.wait()
                    except TimeoutError:
                        pass
                await pipeline.drain(10.0)
        except (OSError, TimeoutError, UaError) as exc:
            stats.connection = "disconnected"
            stats.last_error = f"OPC UA server: {exc}"
            if not first:
                stats.reconnects += 1
            log.warning("OPC UA server %s: %s; retrying in %.1f s", url, exc, delay)
            try:
                async with asyncio.timeout(delay):
                    await stop.wait()
            except TimeoutError:
                pass
            delay = min(delay * 2, BACKOFF_MAX_S)
    stats.connection = "stopped"
