"""The MQTT ingest inside `titan serve`: started by a setting, shown in /metrics and /sim/status."""

from __future__ import annotations

import uuid

import anyio
import pytest
from api_helpers import bearer, client_for, key, running_app
from ingest_helpers import body, mosquitto, publish

from tools.core.db import AsyncConn
from tools.core.settings import get_settings
from tools.machine_data.contract import Contract

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(mosquitto() is None, reason="needs the mosquitto broker"),
]
SOURCE = 'source="mqtt:mqtt://127.0.0.1:1883"'


@pytest.mark.slow
async def test_the_service_runs_the_mqtt_ingest_and_shows_it_in_metrics_and_sim_status(
    plant: AsyncConn, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tag = uuid.uuid4().hex[:8]
    monkeypatch.setenv("TITAN_INGEST_MQTT_URL", "mqtt://127.0.0.1:1883")
    monkeypatch.setenv("TITAN_INGEST_TOPIC_PREFIX", f"test-{tag}")
    monkeypatch.setenv("TITAN_INGEST_CLIENT_ID", f"titan-test-{tag}")
    monkeypatch.setenv("TITAN_INGEST_BATCH_INTERVAL_S", "0.05")
    get_settings.cache_clear()
    topic = Contract(prefix=f"test-{tag}").topic("sensors", "PHX", "PHX-CNC-007")
    token = await key(plant, "operator")
    await plant.commit()

    async with running_app(db_url) as app, client_for(app) as client:
        with anyio.fail_after(30):
            while (
                f"titan_ingest_connected{{{SOURCE}}} 1.0"
                not in (await client.get("/metrics", headers=bearer(token))).text
            ):
                await anyio.sleep(0.2)
        await publish(1883, [(topic, body({"sensor": "power", "value": 21.5,
                                           "ts": "2026-03-02T05:59:00Z"}))])  # fmt: skip
        with anyio.fail_after(30):
            while (
                f"titan_ingest_readings{{{SOURCE}}} 1.0"
                not in (await client.get("/metrics", headers=bearer(token))).text
            ):
                await anyio.sleep(0.2)
        status = (await client.get("/sim/status", headers=bearer(token))).json()

    [ingest] = status["ingests"]
    assert ingest["source"] == "mqtt:mqtt://127.0.0.1:1883"
    assert (ingest["connection"], ingest["readings"]) == ("connected", 1)
    assert status["dead_letters"] == {}
    cur = await plant.execute(
        "select value from sensor_readings where machine_id = 'PHX-CNC-007' and sensor = 'power' "
        "and ts = '2026-03-02T05:59:00Z'"
    )
    assert await cur.fetchone() == {"value": 21.5}
