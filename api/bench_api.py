"""The service under chat load: concurrent clients on loopback, the offline model, a bounded
number of requests (or seconds), with the simulation running in the service.

The service runs in this process behind a real uvicorn on 127.0.0.1; the clients run in a
process of their own. Each client posts a single-agent read request (`READ_REQUEST`, the
inventory agent) on a fresh thread, one after another.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

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


async def _clients(
    base: str, token: str, *, clients: int, requests: int, seconds: float
) -> tuple[list[float], int, float]:
    """The load: `clients` concurrent clients, each posting one request after another."""
    async with httpx.AsyncClient(
        base_url=base,
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
        limits=httpx.Limits(max_connections=clients),
    ) as http:
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

        started = time.perf_counter()
        async with asyncio.TaskGroup() as tasks:
            for _ in range(clients):
                tasks.create_task(client())
        return latencies, failures, time.perf_counter() - started


def _load(base: str, token: str, clients: int, requests: int, seconds: float, out: Any) -> None:
    """The clients' process: runs the load and sends back (latencies, failures, wall)."""
    try:
        out.send(
            asyncio.run(_clients(base, token, clients=clients, requests=requests, seconds=seconds))
        )
    finally:
        out.close()


async def run_api_bench(
    url: str,
    *,
    clients: int = 16,
    requests: int = 800,
    seconds: float = 60.0,
    simulate: bool = True,
    progress: Callable[[str], None] = lambda _: None,
) -> list[Measurement]:
    """Chat load on the service over `url`: at most `requests` requests or `seconds` seconds.

    The clients run in a process of their own, as they would on other machines: the service's
    event loop carries only the service."""
    token = await _token(url)
    progress("starting the service")
    async with _serving(url, simulate=simulate) as base:
        progress(f"{clients} clients in a process of their own")
        spawn = multiprocessing.get_context("spawn")
        receiver, sender = spawn.Pipe(duplex=False)
        load = spawn.Process(
            target=_load, args=(base, token, clients, requests, seconds, sender), daemon=True
        )
        load.start()
        sender.close()
        try:
            latencies, failures, wall = await asyncio.to_thread(receiver.recv)
        except EOFError as exc:
            raise RuntimeError("the load process ended without results") from exc
        finally:
            await asyncio.to_thread(load.join, 30)
    note = (
        f"{clients} clients in their own process, offline model, "
        f"simulation {'on' if simulate else 'off'}"
    )
    if failures:
        note += f", {failures} failed"
    measured = summarise("chat: single-agent read (POST /chat)", latencies, note=note)
    return [
        measured.model_copy(
            update={"seconds": round(wall, 3), "ops_per_s": round(len(latencies) / wall, 1)}
        )
    ]
