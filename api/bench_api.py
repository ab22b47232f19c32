"""The service under chat load: concurrent clients on loopback, the offline model, a bounded
number of requests (or seconds), with the simulation running in the service.

The service runs in this process behind a real uvicorn on 127.0.0.1 (the clients share its
event loop, so the figures include the clients' own cost). Each client posts a single-agent
read request (`READ_REQUEST`, the inventory agent) on a fresh thread, one after another.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import uvicorn

from api.app import create_app
from api.bench_harness import Measurement, summarise
from tools import accounts, db
from tools.operations import SYSTEM

READ_REQUEST = "How much SKU-TB-1001 do we have in stock?"
WARMUP = 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def _serving(url: str, *, simulate: bool) -> AsyncIterator[str]:
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(database_url=url, simulate=simulate),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(120):
            while not server.started:
                if task.done():
                    await task  # startup failed: raise its error
                await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def _token(url: str) -> str:
    async with db.connection(url) as conn:
        issued = await accounts.create_key(conn, SYSTEM, role="operator", label="bench api")
    return issued.token


async def run_api_bench(
    url: str,
    *,
    clients: int = 16,
    requests: int = 800,
    seconds: float = 60.0,
    simulate: bool = True,
    progress: Callable[[str], None] = lambda _: None,
) -> list[Measurement]:
    """Chat load on the service over `url`: at most `requests` requests or `seconds` seconds."""
    token = await _token(url)
    progress("starting the service")
    async with (
        _serving(url, simulate=simulate) as base,
        httpx.AsyncClient(
            base_url=base,
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
            limits=httpx.Limits(max_connections=clients),
        ) as http,
    ):
        for _ in range(WARMUP):
            (await http.post("/chat", json={"message": READ_REQUEST})).raise_for_status()
        latencies: list[float] = []
        failures = 0
        issued = 0
        deadline = time.perf_counter() + seconds

        async def client() -> None:
            nonlocal issued, failures
            while issued < requests and time.perf_counter() < deadline:
                issued += 1
                began = time.perf_counter()
                response = await http.post("/chat", json={"message": READ_REQUEST})
                if response.status_code == 200:
                    latencies.append(time.perf_counter() - began)
                else:
                    failures += 1
                if len(latencies) % 50 == 0:
                    progress(f"{len(latencies)} requests")

        progress(f"{clients} clients")
        started = time.perf_counter()
        async with asyncio.TaskGroup() as tasks:
            for _ in range(clients):
                tasks.create_task(client())
        wall = time.perf_counter() - started
    note = f"{clients} clients, offline model, simulation {'on' if simulate else 'off'}"
    if failures:
        note += f", {failures} failed"
    measured = summarise("chat: single-agent read (POST /chat)", latencies, note=note)
    return [
        measured.model_copy(
            update={"seconds": round(wall, 3), "ops_per_s": round(len(latencies) / wall, 1)}
        )
    ]
