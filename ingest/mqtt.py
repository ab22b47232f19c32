"""MQTT ingest: subscribe with QoS 1 under a fixed client ID; acknowledge what is queued.

The client speaks MQTT 5 with a persistent session (clean start off, a day's session expiry), so
the broker keeps the subscription and what arrives while Titan is away. Acknowledgements are
sent by hand, once a message is in the pipeline's bounded queue, and the session's receive
maximum is that queue's bound: the broker never has more unacknowledged messages out to Titan,
so while the queue is full (a slow database) the broker stops sending and holds the rest, and
Titan's memory stays bounded (the queue, and at most as many messages again in the client).
A message the broker redelivers after a broken connection is stored again without effect:
readings are idempotent on (machine, sensor, time), production totals are cumulative. A lost
connection is retried with backoff, for ever; on stop, what was queued is stored before the
client disconnects.
"""

from __future__ import annotations

import asyncio
import logging
import ssl

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ingest.pipeline import Pipeline
from tools.core import clock
from tools.machine_data.broker import Broker
from tools.machine_data.contract import Contract, parse

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 24 * 3600
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 30.0
DRAIN_S = 10.0


def _client(broker: Broker, client_id: str, receive_maximum: int) -> aiomqtt.Client:
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = SESSION_EXPIRY_S
    props.ReceiveMaximum = min(receive_maximum, 65_535)
    client = aiomqtt.Client(
        broker.host,
        broker.port,
        username=broker.username,
        password=broker.password,
        identifier=client_id,
        protocol=aiomqtt.ProtocolVersion.V5,
        clean_start=False,
        properties=props,
        tls_context=ssl.create_default_context() if broker.tls else None,
        timeout=10,
    )
    # aiomqtt has no public switch for manual acknowledgements yet (empicano/aiomqtt#345): set
    # it on the paho client underneath, before it connects, so that no message is
    # acknowledged before the pipeline has room for it.
    client._client.manual_ack_set(True)  # noqa: SLF001
    return client


async def run_mqtt(
    broker: Broker,
    pipeline: Pipeline,
    stop: asyncio.Event,
    *,
    contract: Contract,
    client_id: str,
    topics: list[str] | None = None,
) -> None:
    """Receive until `stop` is set, reconnecting with backoff; then store what was received and
    acknowledge it before disconnecting. The pipeline's batcher must run alongside."""
    stats = pipeline.stats
    filters = topics or contract.subscriptions()
    delay = BACKOFF_FIRST_S
    first = True
    while not stop.is_set():
        stats.connection = "connecting"
        try:
            client = _client(broker, client_id, pipeline.settings.queue_max)
            async with client:
                await client.subscribe([(f, 1) for f in filters])
                stats.connection = "connected"
                if not first:
                    log.warning("MQTT ingest reconnected to %s", broker.label)
                first, delay = False, BACKOFF_FIRST_S
                await _receive(client, pipeline, stop, contract, broker.label)
                await pipeline.drain(DRAIN_S)  # acknowledge what is stored before leaving
        except aiomqtt.MqttError as exc:
            stats.connection = "disconnected"
            stats.last_error = f"broker: {exc}"
            if not first:
                stats.reconnects += 1
            log.warning("MQTT broker %s: %s; retrying in %.1f s", broker.label, exc, delay)
            try:
                async with asyncio.timeout(delay):
                    await stop.wait()
            except TimeoutError:
                pass
            delay = min(delay * 2, BACKOFF_MAX_S)
    stats.connection = "stopped"


async def _receive(
    client: aiomqtt.Client, pipeline: Pipeline, stop: asyncio.Event, contract: Contract, label: str
) -> None:
    source = f"mqtt:{label}"
    # After a reconnect an old message ID means nothing to the broker; it redelivers instead.
    ack = client._client.ack  # noqa: SLF001  (see _client)

    async def read() -> None:
        async for message in client.messages:
            parsed = parse(
                contract,
                source=source,
                topic=message.topic.value,
                payload=_bytes(message.payload),
                received_at=clock.now(),
            )
            await pipeline.put(parsed)
            if message.qos > 0:
                ack(message.mid, 1)

    reader = asyncio.create_task(read(), name="titan-mqtt-read")
    stopper = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({reader, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        if not reader.done():
            reader.cancel()
        try:
            await reader
        except asyncio.CancelledError:
            pass


def _bytes(payload: object) -> bytes:
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode()
    return str(payload).encode() if payload is not None else b""
