"""The simulation publishing over MQTT: machine → broker → ingest → database, as in a plant."""

from __future__ import annotations

from datetime import timedelta

import anyio
import pytest
from ingest_helpers import FAST, MACHINE_BROKER, mosquitto, unique_settings, until_connected

from ingest.runner import mqtt_ingest
from simulation.config import SimConfig
from simulation.engine import Engine
from simulation.publish import MqttPublisher
from tools.core.clock import FixedClock
from tools.core.db import AsyncConn
from tools.machine_data.contract import contract_from

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(mosquitto() is None, reason="needs the mosquitto broker"),
]


async def test_simulated_readings_sent_via_mqtt_land_through_the_ingest(
    plant: AsyncConn, db_url: str, fixed_clock: FixedClock
) -> None:
    settings = unique_settings()
    since = fixed_clock.now()

    async with (
        mqtt_ingest(db_url, settings, mqtt_url=MACHINE_BROKER, tuning=FAST) as stats,
        MqttPublisher(MACHINE_BROKER, contract_from(settings)) as publisher,
    ):
        engine = Engine(plant, fixed_clock, SimConfig().only("sensors"), publisher=publisher)
        assert await engine.try_acquire()
        await until_connected(stats)
        await engine.step(3)
        with anyio.fail_after(30):
            while stats.readings < publisher.sent:
                await anyio.sleep(0.02)
        await engine.release()

    cur = await plant.execute(
        "select count(*)::int as n, count(distinct machine_id)::int as machines "
        "from sensor_readings where ts > %(since)s",
        {"since": since},
    )
    stored = await cur.fetchone()
    assert publisher.sent > 0 and publisher.lost == 0
    assert stored is not None and stored["n"] == publisher.sent
    assert publisher.sent == stored["machines"] * 7 * 3  # every sensor, each plant minute
    assert engine.world.counts["readings_published"] == publisher.sent
    assert "readings" not in engine.world.counts  # nothing written to the database directly
    assert since + timedelta(minutes=3) == fixed_clock.now()
