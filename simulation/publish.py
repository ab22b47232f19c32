"""The simulated machines publishing their readings over MQTT, as real ones do (`--via`).

Instead of writing readings to the database, the sensor generator hands each tick's readings
to a `MqttPublisher`: one message per machine and instant on `PREFIX/sensors/FACILITY/MACHINE`,
in the payload contract (`tools.machine_data.contract`), QoS 1. An ingest (`titan ingest mqtt`, or
the service with TITAN_INGEST_MQTT_URL) stores them, and the chain machine → broker → ingest →
database → anomaly runs as in a real plant. A broker that is away loses that tick's readings
(a machine's own buffer is not simulated); the publisher reconnects at the next tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from contextlib import AsyncExitStack
from datetime import datetime

import aiomqtt

from tools.machine_data.broker import Broker
from tools.machine_data.contract import Contract, encode
from tools.machine_data.sensors import Reading

log = logging.getLogger(__name__)

PUBLISH_CONCURRENCY = 200


class MqttPublisher:
    """Publishes readings to one broker; open it with `async with`."""

    def __init__(self, url: str, contract: Contract) -> None:
        self.broker = Broker.from_url(url)
        self.contract = contract
        self.sent = 0
        self.lost = 0
        self._stack: AsyncExitStack | None = None
        self._client: aiomqtt.Client | None = None

    async def __aenter__(self) -> MqttPublisher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._disconnect()

    async def _connect(self) -> aiomqtt.Client:
        if self._client is None:
            stack = AsyncExitStack()
            client = aiomqtt.Client(
                self.broker.host, self.broker.port, username=self.broker.username,
                password=self.broker.password, max_inflight_messages=PUBLISH_CONCURRENCY,
                timeout=10,
            )  # fmt: skip
            client.pending_calls_threshold = PUBLISH_CONCURRENCY + 1
            await stack.enter_async_context(client)
            self._stack, self._client = stack, client
        return self._client

    async def _disconnect(self) -> None:
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            try:
                await stack.aclose()
            except aiomqtt.MqttError as exc:
                log.debug("closing the MQTT connection: %s", exc)

    async def send(self, readings: Sequence[Reading], facilities: dict[str, str]) -> int:
        """How many readings were published (QoS 1, acknowledged by the broker)."""
        grouped: dict[tuple[str, datetime], list[Reading]] = defaultdict(list)
        for r in readings:
            grouped[r.machine_id, r.ts].append(r)
        messages = [
            (
                self.contract.topic("sensors", facilities[machine], machine),
                encode({self.contract.fields.readings: [self.contract.reading(r) for r in group]}),
            )
            for (machine, _), group in grouped.items()
        ]
        try:
            client = await self._connect()
            for start in range(0, len(messages), PUBLISH_CONCURRENCY):
                chunk = messages[start : start + PUBLISH_CONCURRENCY]
                await asyncio.gather(*(client.publish(t, p, qos=1) for t, p in chunk))
        except aiomqtt.MqttError as exc:
            log.warning(
                "could not publish %d readings to %s (%s); reconnecting at the next tick",
                len(readings), self.broker.label, exc,
            )  # fmt: skip
            self.lost += len(readings)
            await self._disconnect()
            return 0
        self.sent += len(readings)
        return len(readings)
