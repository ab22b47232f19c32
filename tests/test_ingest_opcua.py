"""OPC UA ingest against an asyncua server of the test's own: data changes land as readings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from asyncua import ua
from asyncua.server.server import Server
from ingest_helpers import FAST, free_port, unique_settings, until_connected, until_done

from ingest.runner import opcua_ingest
from tools.core import clock
from tools.core.db import AsyncConn
from tools.machine_data.dead_letters import list_dead_letters

pytestmark = pytest.mark.anyio


@pytest.fixture
async def server(fixed_clock: clock.FixedClock) -> AsyncIterator[tuple[Server, str]]:
    """An OPC UA server with PHX-CNC-007's vibration and temperature and a misnamed node, their
    values half an hour old in plant time."""
    url = f"opc.tcp://127.0.0.1:{free_port()}/titan/"
    srv = Server()
    await srv.init()
    srv.set_endpoint(url)
    ns = await srv.register_namespace("urn:titan:test")
    machine = await srv.nodes.objects.add_object(ua.NodeId("PHX-CNC-007", ns), "PHX-CNC-007")
    for name, value in (("vibration", 2.0), ("temperature", 40.0), ("spindle", 1.0)):
        await machine.add_variable(ua.NodeId(f"PHX-CNC-007.{name}", ns), name, value)
        await write(srv, name, value, minutes_ago=30)
    async with srv:
        yield srv, url


def mapping(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "opcua.toml"
    path.write_text(
        f'endpoint = "{url}"\npublishing_interval_ms = 50\n'
        + "".join(
            f'\n[[nodes]]\nnode = "ns=2;s=PHX-CNC-007.{node}"\nfacility = "PHX"\n'
            f'machine = "PHX-CNC-007"\nsensor = "{sensor}"\n'
            for node, sensor in (
                ("vibration", "vibration"),
                ("temperature", "temperature"),
                ("spindle", "torque"),
            )
        )
    )
    return path


async def write(srv: Server, node: str, value: float, minutes_ago: int) -> None:
    stamp = clock.now() - timedelta(minutes=minutes_ago)
    dv = ua.DataValue(ua.Variant(value, ua.VariantType.Double), SourceTimestamp=stamp)
    await srv.get_node(f"ns=2;s=PHX-CNC-007.{node}").write_value(dv)


async def test_subscribed_opcua_nodes_land_as_readings_of_their_mapped_machine_and_sensor(
    plant: AsyncConn, db_url: str, server: tuple[Server, str], tmp_path: Path
) -> None:
    srv, url = server
    settings = unique_settings()

    async with opcua_ingest(
        db_url, settings, mapping_path=mapping(tmp_path, url), tuning=FAST
    ) as stats:
        await until_connected(stats)
        await until_done(stats, 3)  # the initial value of each node
        await write(srv, "vibration", 3.25, minutes_ago=2)
        await until_done(stats, 4)
        await write(srv, "temperature", 44.5, minutes_ago=1)
        await until_done(stats, 5)

    cur = await plant.execute(
        "select sensor, value, ts from sensor_readings where machine_id = 'PHX-CNC-007' "
        "and value in (3.25, 44.5) order by ts"
    )
    rows = [(r["sensor"], r["value"], r["ts"]) for r in await cur.fetchall()]
    now = clock.now()
    assert rows == [
        ("vibration", 3.25, now - timedelta(minutes=2)),
        ("temperature", 44.5, now - timedelta(minutes=1)),
    ]
    letters = await list_dead_letters(plant)
    assert {d.kind for d in letters} == {"unknown_sensor"}
    assert "sensor 'torque' is unknown" in letters[0].reason


def test_a_mapping_that_names_a_node_twice_is_refused(tmp_path: Path) -> None:
    from ingest.opcua import OpcUaMapping

    path = tmp_path / "twice.toml"
    node = '[[nodes]]\nnode = "ns=2;s=A"\nfacility = "PHX"\nmachine = "M"\nsensor = "power"\n'
    path.write_text(node + node)

    with pytest.raises(ValueError, match="names nodes twice: ns=2;s=A"):
        OpcUaMapping.load(path)
