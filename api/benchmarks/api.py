"""The service under chat load: concurrent clients on loopback, the offline model, a bounded
number of requests (or seconds), with the simulation running in the service.

The service is `titan serve` itself, started as a process of its own (with `--workers N`, N
service processes) on a free port of 127.0.0.1; the clients run in this process. Each client
posts a single-agent read request (`READ_REQUEST`, the inventory agent) on a fresh thread, one
after another.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx

from api.benchmarks.harness import Measurement, summarise
from tools.accounts import accounts
from tools.core import db
from tools.core.operations import SYSTEM

READ_REQUEST = "How much SKU-TB-1001 do we have in stock?"
WARMUP = 4
START_S = 120.0  # the most a service gets to start
STOP_S = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def _serving(url: str, *, simulate: bool, workers: int) -> AsyncIterator[str]:
    """`titan serve` on `url` in a process of its own, until it is ready; stopped afterwards."""
    port = _free_port()
    command = [sys.executable, "-m", "api.cli.main", "serve", "--port", str(port),
               "--workers", str(workers)]  # fmt: skip
    if not simulate:
        command.append("--no-sim")
    env = {**os.environ, "DATABASE_URL": url}
    log = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe: a full pipe would stall it
    service = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"

    def said() -> str:
        log.seek(0)
        return log.read()[-4000:]

    try:
        async with httpx.AsyncClient(base_url=base, timeout=5) as http:
            deadline = time.monotonic() + START_S
            while True:
                if service.poll() is not None:
                    raise RuntimeError(f"the service did not start: {said()}")
                try:
                    if (await http.get("/ready")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the service was not ready within {START_S:.0f} s")
                await asyncio.sleep(0.2)
        yield base
    finally:
        if service.poll() is None:
            service.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(service.wait, STOP_S)
            except subprocess.TimeoutExpired:
                service.kill()
                service.wait()
        log.close()


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


async def run_api_bench(
    url: str,
    *,
    clients: int = 16,
    requests: int = 800,
    seconds: float = 60.0,
    simulate: bool = True,
    workers: int = 1,
    progress: Callable[[str], None] = lambda _: None,
) -> list[Measurement]:
    """Chat load on `titan serve --workers W` over `url`: at most `requests` requests or
    `seconds` seconds."""
    token = await _token(url)
    progress(f"starting the service ({workers} worker{'s' if workers > 1 else ''})")
    async with _serving(url, simulate=simulate, workers=workers) as base:
        progress(f"{clients} clients")
        latencies, failures, wall = await _clients(
            base, token, clients=clients, requests=requests, seconds=seconds
        )
    note = (
        f"{clients} clients, {workers} service process{'es' if workers > 1 else ''}, "
        f"offline model, simulation {'on' if simulate else 'off'}"
    )
    if failures:
        note += f", {failures} failed"
    measured = summarise("chat: single-agent read (POST /chat)", latencies, note=note)
    return [
        measured.model_copy(
            update={"seconds": round(wall, 3), "ops_per_s": round(len(latencies) / wall, 1)}
        )
    ]
