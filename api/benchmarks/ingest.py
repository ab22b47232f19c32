"""The ingest benchmark: sustained MQTT messages into PostgreSQL, end to end.

A publisher in a process of its own (as a plant's machines are) sends readings with QoS 1 to
the broker as fast as the broker acknowledges them; the MQTT ingest stores them in a scratch
database. Measured from the first message published to the last one stored: readings/s and
messages/s, with one reading per message and with 50. The latency percentiles are the ingest's
lag (a batch's oldest message, from arrival to commit), sampled every 0.1 s. Anomaly detection
is off: this measures the way in, not the analysis.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import aiomqtt

from api.benchmarks.harness import Measurement
from ingest.pipeline import PipelineSettings
from ingest.runner import mqtt_ingest
from tools.core import clock
from tools.core.settings import Settings
from tools.machine_data.broker import Broker
from tools.machine_data.contract import Contract

MACHINES = (("PHX", "PHX-CNC-007"), ("PHX", "PHX-CNC-012"), ("MUC", "MUC-CNC-001"))
SENSORS = ("vibration", "temperature", "spindle_load", "motor_current", "power")
TUNING = PipelineSettings(queue_max=65_535, batch_max=1_000, interval_s=0.2, detect_every_s=0)
CONCURRENCY = 200
PUBLISHERS = 1  # more only compete with the ingest for the CPU on a small machine

Progress = Callable[[str], None]


def _payloads(prefix: str, messages: int, per_message: int, start: datetime) -> list[str]:
    contract = Contract(prefix=prefix)
    out: list[str] = []
    for i in range(messages):
        facility, machine = MACHINES[i % len(MACHINES)]
        ts = start + timedelta(milliseconds=10 * (i // len(MACHINES)))
        readings = [
            {"sensor": SENSORS[k % len(SENSORS)], "value": 20.0 + (i + k) % 17,
             "ts": (ts + timedelta(microseconds=k)).isoformat()}
            for k in range(per_message)
        ]  # fmt: skip
        body = readings[0] if per_message == 1 else {"readings": readings}
        out.append(contract.topic("sensors", facility, machine) + "\t" + json.dumps(body))
    return out


async def _publish(host: str, port: int, lines: list[str]) -> None:
    async with aiomqtt.Client(host, port, max_inflight_messages=CONCURRENCY) as client:
        client.pending_calls_threshold = CONCURRENCY + 1
        for first in range(0, len(lines), CONCURRENCY):
            chunk = [line.split("\t", 1) for line in lines[first : first + CONCURRENCY]]
            await asyncio.gather(*(client.publish(t, p, qos=1) for t, p in chunk))


async def _publisher(broker: Broker, lines: list[str]) -> asyncio.subprocess.Process:
    """A publisher process of its own, fed its messages on standard input."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "api.benchmarks.ingest", broker.host, str(broker.port),
        stdin=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdin is not None
    process.stdin.write(("\n".join(lines) + "\n").encode())
    await process.stdin.drain()
    process.stdin.close()
    return process


async def _one(
    db_url: str, mqtt_url: str, *, messages: int, per_message: int, progress: Progress
) -> Measurement:
    tag = uuid.uuid4().hex[:10]
    settings = Settings(ingest_topic_prefix=f"bench-{tag}", ingest_client_id=f"titan-bench-{tag}")
    broker = Broker.from_url(mqtt_url)
    start = clock.now() - timedelta(days=2)
    lines = _payloads(settings.ingest_topic_prefix, messages, per_message, start)
    lags: list[float] = []
    async with mqtt_ingest(db_url, settings, mqtt_url=mqtt_url, tuning=TUNING) as stats:
        async with asyncio.timeout(30):
            while stats.connection != "connected":
                await asyncio.sleep(0.02)
        began = time.perf_counter()
        publishers = [await _publisher(broker, lines[k::PUBLISHERS]) for k in range(PUBLISHERS)]
        deadline = began + 600
        while stats.done < messages and time.perf_counter() < deadline:
            if any(p.returncode not in (None, 0) for p in publishers):
                raise RuntimeError("a publisher failed")
            await asyncio.sleep(0.1)
            lags.append(stats.lag_s)
            progress(f"{per_message}/message: {stats.done:,} of {messages:,}")
        elapsed = time.perf_counter() - began
        for p in publishers:
            await p.wait()
    readings = stats.readings
    lost = messages - stats.done
    ordered = sorted(lags) or [0.0]
    pct = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else None
    return Measurement(
        name=f"MQTT → PostgreSQL, {per_message} reading{'s' if per_message > 1 else ''}/message",
        ops=readings,
        seconds=round(elapsed, 3),
        ops_per_s=round(readings / elapsed, 1),
        p50_ms=round((pct[49] if pct else ordered[0]) * 1000, 1),
        p95_ms=round((pct[94] if pct else ordered[0]) * 1000, 1),
        p99_ms=round((pct[98] if pct else ordered[0]) * 1000, 1),
        note=f"{stats.done / elapsed:,.0f} messages/s; {lost} lost; latency = ingest lag",
    )


async def run_ingest_bench(
    db_url: str, mqtt_url: str, *, quick: bool = False, progress: Progress
) -> list[Measurement]:
    """Readings/s end to end with 1 and with 50 readings per message."""
    singles = 5_000 if quick else 30_000
    batches = 200 if quick else 2_000
    return [
        await _one(db_url, mqtt_url, messages=singles, per_message=1, progress=progress),
        await _one(db_url, mqtt_url, messages=batches, per_message=50, progress=progress),
    ]


def _publisher_main() -> None:
    """The publisher process: `python -m api.benchmarks.ingest HOST PORT`, topic\\tpayload lines on
    standard input."""
    host, port = sys.argv[1], int(sys.argv[2])
    lines = [line for line in sys.stdin.read().splitlines() if line]
    asyncio.run(_publish(host, port, lines))


if __name__ == "__main__":
    _publisher_main()
