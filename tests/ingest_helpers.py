"""Helpers for the ingest tests: a publisher, unique topics, waiting for the ingest, a broker of
the test's own."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiomqtt
import anyio

from ingest.pipeline import PipelineSettings
from ingest.stats import IngestStats
from tools.core.settings import Settings

MACHINE_BROKER = "mqtt://127.0.0.1:1883"
FAST = PipelineSettings(queue_max=20_000, batch_max=2_000, interval_s=0.05, detect_every_s=0)
# A burst faster than the ingest stays with the broker: in flight (the receive maximum) and in
# its queue (Mosquitto keeps 1000 by default, and drops beyond).
BURST = PipelineSettings(queue_max=65_535, batch_max=2_000, interval_s=0.05, detect_every_s=0)


def mosquitto() -> str | None:
    return shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )


def unique_settings(**overrides: Any) -> Settings:
    """Settings with a topic prefix and client ID of this test's own."""
    tag = uuid.uuid4().hex[:10]
    fields: dict[str, Any] = {
        "ingest_topic_prefix": f"test-{tag}",
        "ingest_client_id": f"titan-test-{tag}",
    }
    return Settings(**(fields | overrides))


async def publish(
    url_port: int,
    messages: Sequence[tuple[str, bytes | str]],
    *,
    concurrency: int = 200,
) -> None:
    """Publish every (topic, payload) with QoS 1, waiting for the broker's acknowledgement."""
    async with aiomqtt.Client("127.0.0.1", url_port, max_inflight_messages=concurrency) as client:
        client.pending_calls_threshold = concurrency + 1
        for start in range(0, len(messages), concurrency):
            chunk = messages[start : start + concurrency]
            await asyncio.gather(*(client.publish(t, p, qos=1) for t, p in chunk))


def body(value: object) -> bytes:
    return json.dumps(value).encode()


async def until_done(stats: IngestStats, count: int, *, within_s: float = 30.0) -> None:
    """Wait (bounded) until the ingest has stored or set aside `count` messages."""
    with anyio.fail_after(within_s):
        while stats.done < count:
            await asyncio.sleep(0.02)


async def until_connected(stats: IngestStats, *, within_s: float = 15.0) -> None:
    """Wait (bounded) until the ingest is connected and subscribed."""
    with anyio.fail_after(within_s):
        while stats.connection != "connected":
            await asyncio.sleep(0.02)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def own_broker(tmp: Path, port: int) -> Iterator[BrokerProcess]:
    """A mosquitto of the test's own on `port`, with persistence, that the test may restart."""
    process = BrokerProcess(tmp, port)
    process.start()
    try:
        yield process
    finally:
        process.stop()


class BrokerProcess:
    def __init__(self, tmp: Path, port: int) -> None:
        self.port = port
        self.config = tmp / "mosquitto.conf"
        self.config.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {tmp}/\nmax_queued_messages 0\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = mosquitto()
        assert binary is not None
        self.process = subprocess.Popen(
            [binary, "-c", str(self.config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not listen on {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # mosquitto saves its persistent sessions on SIGTERM
            self.process.wait(timeout=10)
        self.process = None
