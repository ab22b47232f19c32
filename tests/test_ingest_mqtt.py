"""MQTT ingest against the machine's Mosquitto broker: what machines publish lands in the plant."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest
from ingest_helpers import (
    BURST,
    FAST,
    MACHINE_BROKER,
    body,
    free_port,
    mosquitto,
    own_broker,
    publish,
    unique_settings,
    until_connected,
    until_done,
)

from ingest.runner import mqtt_ingest
from tools.core import clock
from tools.core.db import AsyncConn
from tools.machine_data.contract import Contract
from tools.machine_data.dead_letters import dead_letter_counts, list_dead_letters

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(mosquitto() is None, reason="needs the mosquitto broker"),
]
NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


async def test_published_readings_land_with_machine_value_and_time(
    plant: AsyncConn, db_url: str
) -> None:
    settings = unique_settings()
    c = Contract(prefix=settings.ingest_topic_prefix)
    one = {"sensor": "vibration", "value": 2.5, "unit": "mm/s", "ts": "2026-03-02T05:59:00Z"}
    many = {
        "ts": "2026-03-02T05:59:30+00:00",
        "readings": [
            {"sensor": "temperature", "value": 41.25, "unit": "°C"},
            {"sensor": "power", "value": 18.0, "ts": (NOW - timedelta(seconds=10)).timestamp()},
        ],
    }
    messages = [
        (c.topic("sensors", "PHX", "PHX-CNC-007"), body(one)),
        (c.topic("sensors", "MUC", "MUC-CNC-001"), body(many)),
        (c.topic("heartbeat", "PHX", "PHX-CNC-012"), body({"ts": "2026-03-02T05:59:59Z"})),
        (c.topic("production", "MUC", "MUC-CNC-001"),
         body({"ts": "2026-03-02T05:59:00Z", "parts_produced": 12, "parts_defective": 1})),
        (c.topic("production", "MUC", "MUC-CNC-001"),
         body({"ts": "2026-03-02T05:59:40Z", "parts_produced": 14, "parts_defective": 1})),
    ]  # fmt: skip

    async with mqtt_ingest(db_url, settings, mqtt_url=MACHINE_BROKER, tuning=FAST) as stats:
        await until_connected(stats)
        await publish(1883, messages)
        await until_done(stats, len(messages))

    cur = await plant.execute(
        "select machine_id, sensor, ts, value, unit from sensor_readings "
        "where ts > %(since)s order by machine_id, sensor",
        {"since": NOW - timedelta(minutes=2)},
    )
    rows = [
        (r["machine_id"], r["sensor"], r["ts"], r["value"], r["unit"]) for r in await cur.fetchall()
    ]
    assert rows == [
        ("MUC-CNC-001", "power", NOW - timedelta(seconds=10), 18.0, "kW"),
        ("MUC-CNC-001", "temperature", NOW - timedelta(seconds=30), 41.25, "°C"),
        ("PHX-CNC-007", "vibration", NOW - timedelta(minutes=1), 2.5, "mm/s"),
    ]
    cur = await plant.execute(
        "select machine_id, last_heartbeat_at from equipment "
        "where machine_id in ('PHX-CNC-012', 'MUC-CNC-001') order by machine_id"
    )
    beats = {r["machine_id"]: r["last_heartbeat_at"] for r in await cur.fetchall()}
    assert beats == {
        "MUC-CNC-001": NOW - timedelta(seconds=10),
        "PHX-CNC-012": NOW - timedelta(seconds=1),
    }
    cur = await plant.execute(
        "select parts_produced, parts_defective from production_counters "
        "where machine_id = 'MUC-CNC-001' and shift_date = '2026-03-02' and shift_name = 'EARLY'"
    )
    assert await cur.fetchone() == {"parts_produced": 14, "parts_defective": 1}
    assert (stats.stored, stats.readings, stats.heartbeats, stats.production) == (5, 3, 1, 2)


async def test_bad_messages_go_to_dead_letters_with_their_reasons_and_the_rest_is_stored(
    plant: AsyncConn, db_url: str
) -> None:
    settings = unique_settings()
    c = Contract(prefix=settings.ingest_topic_prefix)
    ts = "2026-03-02T05:58:00Z"
    phx7 = c.topic("sensors", "PHX", "PHX-CNC-007")

    def reading(sensor: str, value: float, **more: str) -> bytes:
        return body({"sensor": sensor, "value": value, "ts": ts} | more)

    bad = [
        (phx7, b"{not json"),
        (c.topic("sensors", "PHX", "PHX-CNC-999"), reading("power", 1.0)),
        (c.topic("sensors", "MUC", "PHX-CNC-007"), reading("power", 1.0)),
        (phx7, body({"sensor": "power", "ts": ts})),
        (phx7, reading("vibration", -3.0)),
        (phx7, reading("vibration", 3.0, unit="g")),
        (phx7, reading("torque", 3.0)),
        (c.topic("heartbeat", "PHX", "PHX-CNC-007"), body({"ts": "2026-03-02T05:58:00"})),
        (c.topic("production", "MUC", "MUC-CNC-001"),
         body({"ts": ts, "parts_produced": 2, "parts_defective": 5})),
    ]  # fmt: skip

    async with mqtt_ingest(db_url, settings, mqtt_url=MACHINE_BROKER, tuning=FAST) as stats:
        await until_connected(stats)
        await publish(1883, [*bad, (phx7, reading("power", 20.0))])
        await until_done(stats, len(bad) + 1)

    assert await dead_letter_counts(plant) == {
        "malformed_json": 1,
        "missing_field": 1,
        "no_timezone": 1,
        "out_of_range": 1,
        "rejected": 1,
        "unknown_machine": 2,
        "unknown_sensor": 1,
        "wrong_unit": 1,
    }
    reasons = {
        d.topic.rsplit("/", 3)[-2:][-1] + ":" + d.kind: d.reason
        for d in await list_dead_letters(plant)
    }
    assert "is not JSON" in reasons["PHX-CNC-007:malformed_json"]
    assert "'PHX-CNC-999' does not exist" in reasons["PHX-CNC-999:unknown_machine"]
    assert "'value' is missing" in reasons["PHX-CNC-007:missing_field"]
    assert "value -3.0 is impossible" in reasons["PHX-CNC-007:out_of_range"]
    assert "5 defective parts would exceed the 2 produced" in reasons["MUC-CNC-001:rejected"]
    cur = await plant.execute(
        "select count(*)::int as n from sensor_readings where machine_id = 'PHX-CNC-007' "
        "and ts = %(ts)s",
        {"ts": datetime(2026, 3, 2, 5, 58, tzinfo=UTC)},
    )
    assert await cur.fetchone() == {"n": 1}
    assert stats.received == stats.stored + sum(stats.dead_letters.values()) == len(bad) + 1


@pytest.mark.slow
async def test_a_burst_of_50000_messages_is_ingested_with_nothing_lost(
    plant: AsyncConn, db_url: str, tmp_path: Path
) -> None:
    # A broker of the test's own, set up for bursts as docs/ingest.md advises: Mosquitto's
    # default queue (1000 messages a client) drops what a burst faster than the consumer adds.
    settings = unique_settings()
    c = Contract(prefix=settings.ingest_topic_prefix)
    machines = [("PHX", "PHX-CNC-007"), ("PHX", "PHX-CNC-012"), ("MUC", "MUC-CNC-001")]
    start = clock.now() - timedelta(hours=5)
    messages: list[tuple[str, bytes]] = []
    for i in range(50_000):
        facility, machine = machines[i % 3]
        ts = start + timedelta(milliseconds=250 * i)
        value = -1.0 if i % 1000 == 7 else 20.0 + (i % 50) / 10  # 50 out of range
        payload = body({"sensor": "power", "value": value, "ts": ts.isoformat()})
        messages.append((c.topic("sensors", facility, machine), payload))

    port = free_port()
    with own_broker(tmp_path, port):
        url = f"mqtt://127.0.0.1:{port}"
        async with mqtt_ingest(db_url, settings, mqtt_url=url, tuning=BURST) as stats:
            await until_connected(stats)
            await publish(port, messages)
            await until_done(stats, 50_000, within_s=180)

    cur = await plant.execute(
        "select count(*)::int as n from sensor_readings where sensor = 'power' and ts >= %(s)s",
        {"s": start},
    )
    stored = (await cur.fetchone() or {})["n"]
    dead = await dead_letter_counts(plant)
    assert (stored, dead) == (49_950, {"out_of_range": 50})
    assert stats.received == 50_000 == stored + sum(dead.values())


async def test_a_broker_restart_is_survived_and_redelivery_does_not_double_count(
    plant: AsyncConn, db_url: str, tmp_path: Path
) -> None:
    settings = unique_settings()
    c = Contract(prefix=settings.ingest_topic_prefix)
    start = clock.now() - timedelta(hours=3)

    def batch(first: int, count: int) -> list[tuple[str, bytes]]:
        return [
            (c.topic("sensors", "PHX", "PHX-CNC-012"),
             body({"sensor": "temperature", "value": 30 + i % 7,
                   "ts": (start + timedelta(seconds=i)).isoformat()}))
            for i in range(first, first + count)
        ]  # fmt: skip

    port = free_port()
    with own_broker(tmp_path, port) as broker:
        url = f"mqtt://127.0.0.1:{port}"
        async with mqtt_ingest(db_url, settings, mqtt_url=url, tuning=FAST) as stats:
            await until_connected(stats)
            await publish(port, batch(0, 1_000))
            await until_done(stats, 1_000)

            broker.stop()
            with anyio.fail_after(15):
                while stats.connection == "connected":
                    await asyncio.sleep(0.02)
            broker.start()
            await until_connected(stats)
            # the second half, and 300 of the first again, as a publisher that lost its
            # acknowledgements in the restart sends them
            await publish(port, batch(1_000, 1_000) + batch(700, 300))
            await until_done(stats, 2_300)

    cur = await plant.execute(
        "select count(*)::int as n, count(distinct ts)::int as stamps from sensor_readings "
        "where machine_id = 'PHX-CNC-012' and sensor = 'temperature' and ts >= %(s)s",
        {"s": start},
    )
    assert await cur.fetchone() == {"n": 2_000, "stamps": 2_000}
    assert (stats.reconnects, stats.readings, stats.duplicates) == (1, 2_000, 300)


async def test_a_degradation_published_over_mqtt_ends_in_an_anomaly_and_a_work_order(
    plant: AsyncConn, db_url: str
) -> None:
    settings = unique_settings()
    c = Contract(prefix=settings.ingest_topic_prefix)
    now = clock.now()
    rising = [
        {"sensor": "vibration", "value": round(2.0 + 0.12 * m + 0.05 * (m % 3), 3),
         "ts": (now - timedelta(minutes=60 - m)).isoformat()}
        for m in range(60)
    ]  # fmt: skip
    tuning = replace(FAST, detect_every_s=60)

    async with mqtt_ingest(db_url, settings, mqtt_url=MACHINE_BROKER, tuning=tuning) as stats:
        await until_connected(stats)
        await publish(
            1883, [(c.topic("sensors", "PHX", "PHX-CNC-007"), body({"readings": rising}))]
        )
        await until_done(stats, 1)

    cur = await plant.execute(
        "select a.anomaly_id, a.severity, w.work_order_id, w.status, w.priority "
        "from anomalies a join work_orders w using (anomaly_id) "
        "where a.machine_id = 'PHX-CNC-007' and a.sensor = 'vibration'"
    )
    found = await cur.fetchall()
    assert [(f["severity"], f["status"], f["priority"]) for f in found] == [
        ("CRITICAL", "OPEN", "CRITICAL")
    ]
