"""Live streams and readiness against a real uvicorn on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from urllib.parse import urlsplit

import anyio
import httpx
import pytest
from api_helpers import bearer, free_port, key, read_sse, served
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tools.core import db, events
from tools.core.clock import FixedClock
from tools.core.operations import Actor
from tools.machine_data.sensors import Reading, record_readings

LIMIT_S = 60
SIM = Actor(type="simulator", id="sensors")


async def newest_event(conn: db.AsyncConn) -> int:
    async with conn.transaction():  # leaves no transaction open to hide later writes
        cur = await conn.execute("select coalesce(max(event_id), 0) as n from event_log")
        row = await cur.fetchone()
    return int(row["n"]) if row else 0


async def emit(conn: db.AsyncConn, type_: str, entity_id: str) -> int:
    async with conn.transaction():
        event = await events.emit(
            conn, type_, source="system", entity_type="order", entity_id=entity_id
        )
    return event.event_id


@pytest.mark.anyio
async def test_the_event_stream_delivers_events_in_order_and_resumes_from_last_event_id(
    plant: db.AsyncConn, db_url: str
) -> None:
    token = await key(plant, "operator")
    start = await newest_event(plant)
    with anyio.fail_after(LIMIT_S):
        async with served(db_url) as base, httpx.AsyncClient(base_url=base, timeout=30) as http:
            path = f"/events/stream?type=order.&after={start}"
            async with http.stream("GET", path, headers=bearer(token)) as response:
                ids = [
                    await emit(plant, "order.noted", "ORD-1"),
                    await emit(plant, "shipment.noted", "SHP-1"),  # filtered out by type
                    await emit(plant, "order.noted", "ORD-2"),
                ]
                first = await read_sse(response, 2)
            later = [await emit(plant, "order.noted", f"ORD-{n}") for n in (3, 4)]
            resumed_headers = bearer(token) | {"Last-Event-ID": first[0].id or ""}
            async with http.stream(
                "GET", "/events/stream?type=order.", headers=resumed_headers
            ) as r:
                resumed = await read_sse(r, 3)
            path = f"/events/stream?after={start}&entity_type=order&entity_id=ORD-4"
            async with http.stream("GET", path, headers=bearer(token)) as response:
                only = await read_sse(response, 1)
            bad = await http.get(
                "/events/stream", headers=bearer(token) | {"Last-Event-ID": "yesterday"}
            )
            anonymous = await http.get("/events/stream")

    assert [m.id for m in first] == [str(ids[0]), str(ids[2])]
    assert [m.event for m in first] == ["order.noted", "order.noted"]
    assert first[0].data["entity_id"] == "ORD-1" and first[0].data["event_id"] == ids[0]
    assert [m.id for m in resumed] == [str(ids[2]), *map(str, later)]
    assert [m.data["entity_id"] for m in only] == ["ORD-4"]
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == (
        "header.Last-Event-ID"
    )
    assert anonymous.status_code == 401


@pytest.mark.anyio
async def test_an_event_that_commits_after_a_later_one_is_streamed_first(
    plant: db.AsyncConn, db_url: str
) -> None:
    token = await key(plant, "operator")
    start = await newest_event(plant)
    with anyio.fail_after(LIMIT_S):
        async with (
            served(db_url) as base,
            httpx.AsyncClient(base_url=base, timeout=30) as http,
            db.connection(db_url) as slow,
        ):
            path = f"/events/stream?type=order.&after={start}"
            async with http.stream("GET", path, headers=bearer(token)) as response:
                held = await events.emit(slow, "order.slow", source="system")  # lower ID
                fast = await emit(plant, "order.fast", "ORD-2")
                await slow.commit()
                streamed = await read_sse(response, 2)

    assert held.event_id < fast
    assert [(m.event, m.id) for m in streamed] == [
        ("order.slow", str(held.event_id)),
        ("order.fast", str(fast)),
    ]


def batch(machine_id: str, clock: FixedClock, value: float) -> list[Reading]:
    return [
        Reading(machine_id=machine_id, sensor="vibration", ts=clock.now() - timedelta(minutes=m),
                value=value)
        for m in (2, 1)
    ]  # fmt: skip


@pytest.mark.anyio
async def test_the_sensor_stream_sends_readings_of_the_machines_asked_for(
    plant: db.AsyncConn, db_url: str, fixed_clock: FixedClock
) -> None:
    token = await key(plant, "operator")
    start = await newest_event(plant)
    with anyio.fail_after(LIMIT_S):
        async with served(db_url) as base, httpx.AsyncClient(base_url=base, timeout=30) as http:
            path = f"/sensors/stream?machine=PHX-CNC-007&after={start}"
            async with http.stream("GET", path, headers=bearer(token)) as response:
                await record_readings(plant, SIM, readings=batch("MUC-CNC-001", fixed_clock, 2.0))
                await record_readings(plant, SIM, readings=batch("PHX-CNC-007", fixed_clock, 4.5))
                got = await read_sse(response, 1)

    assert got[0].event == "readings"
    readings = got[0].data["readings"]
    assert [(r["machine_id"], r["sensor"], r["value"]) for r in readings] == [
        ("PHX-CNC-007", "vibration", 4.5),
        ("PHX-CNC-007", "vibration", 4.5),
    ]


class Proxy:
    """A TCP proxy in front of PostgreSQL that can be cut off and brought back on one port."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.host, self.port = target_host, target_port
        self.listen_port = free_port()
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.host.startswith("/"):
            up_r, up_w = await asyncio.open_unix_connection(f"{self.host}/.s.PGSQL.{self.port}")
        else:
            up_r, up_w = await asyncio.open_connection(self.host, self.port)
        self._open |= {writer, up_w}
        await asyncio.gather(self._pipe(reader, up_w), self._pipe(up_r, writer))

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", self.listen_port, reuse_address=True
        )

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._open:
            writer.close()
        self._open.clear()
        await self._server.wait_closed()


@asynccontextmanager
async def proxied(url: str) -> AsyncIterator[tuple[Proxy, str]]:
    params = conninfo_to_dict(url)
    proxy = Proxy(str(params.get("host") or "127.0.0.1"), int(params.get("port") or 5432))
    await proxy.start()
    try:
        yield proxy, make_conninfo(url, host="127.0.0.1", port=str(proxy.listen_port))
    finally:
        await proxy.cut()


@pytest.mark.anyio
async def test_ready_is_false_while_the_database_is_unreachable_and_true_when_it_is_back(
    plant: db.AsyncConn, db_url: str
) -> None:
    with anyio.fail_after(LIMIT_S):
        async with (
            proxied(db_url) as (proxy, url),
            served(url) as base,
            httpx.AsyncClient(base_url=base, timeout=30) as http,
        ):
            up = await http.get("/ready")
            await proxy.cut()
            down = await http.get("/ready")
            health = await http.get("/health")
            await proxy.start()
            back = await http.get("/ready")

    assert up.status_code == 200 and up.json()["ready"] is True
    assert down.status_code == 503
    assert down.json()["ready"] is False and down.json()["database"] == "unreachable"
    # It says what is wrong, not where the database is.
    where = urlsplit(url)
    assert down.json()["detail"] == "the database cannot be reached"
    assert str(where.hostname) not in down.text and str(where.port) not in down.text
    assert health.status_code == 200
    assert back.status_code == 200 and back.json()["ready"] is True
