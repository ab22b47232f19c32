"""The MCP benchmark: what each transport adds to one read tool's latency.

The same read (`list_machines` for one facility) four ways: the domain function called
directly, the maintenance server over MCP in memory, over stdio (a `titan mcp maintenance`
child process), and over streamable HTTP (a server on loopback, with an API key).
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable

import anyio
import httpx
import uvicorn
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from api.benchmarks.harness import Measurement, measure
from mcp_servers.http import standalone_app
from mcp_servers.runtime import Plant
from mcp_servers.servers import build_server
from mcp_servers.sessions import TitanClientSession, connect
from tools.accounts import accounts
from tools.core import db
from tools.core.operations import SYSTEM
from tools.maintenance import health

TOOL = "list_machines"
ARGUMENTS: dict[str, object] = {"facility_id": "PHX"}
Progress = Callable[[str], None]


async def _call(client: ClientSession) -> None:
    result = await client.call_tool(TOOL, ARGUMENTS)
    if result.isError:
        raise RuntimeError(f"{TOOL} failed over MCP: {result.content}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def bench_direct(plant: Plant, *, repeat: int) -> Measurement:
    async def direct(_: int) -> None:
        async with plant.pool.connection() as conn:
            await health.list_machines(conn, facility_id="PHX")

    return await measure("direct function call", direct, repeat=repeat, note=TOOL)


async def bench_in_memory(plant: Plant, *, repeat: int) -> Measurement:
    server = build_server("maintenance", plant=plant).mcp
    async with connect(server) as client:

        async def call(_: int) -> None:
            await _call(client)

        return await measure("MCP in memory", call, repeat=repeat, note=TOOL)


async def bench_stdio(url: str, *, repeat: int) -> Measurement:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TITAN_")}
    env["DATABASE_URL"] = url
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "api.cli.main", "mcp", "maintenance"], env=env
    )
    async with stdio_client(params) as (read, write), TitanClientSession(read, write) as client:
        await client.initialize()

        async def call(_: int) -> None:
            await _call(client)

        return await measure("MCP over stdio", call, repeat=repeat, note=TOOL)


async def bench_http(url: str, plant: Plant, *, repeat: int) -> Measurement:
    async with plant.pool.connection() as conn:
        token = (await accounts.create_key(conn, SYSTEM, role="operator", label="bench")).token
    port = _free_port()
    config = uvicorn.Config(
        standalone_app(["maintenance"], url=url), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(server.serve)
        with anyio.fail_after(30):
            while not server.started:
                await anyio.sleep(0.02)
        headers = {"Authorization": f"Bearer {token}"}
        async with (
            httpx.AsyncClient(headers=headers, timeout=30) as http,
            streamable_http_client(
                f"http://127.0.0.1:{port}/mcp/maintenance", http_client=http
            ) as (read, write, _),
            TitanClientSession(read, write) as client,
        ):
            await client.initialize()

            async def call(_: int) -> None:
                await _call(client)

            result = await measure("MCP over streamable HTTP", call, repeat=repeat, note=TOOL)
        server.should_exit = True
    return result


async def run_mcp_bench(url: str, *, quick: bool, progress: Progress) -> list[Measurement]:
    """Each transport's latency for the same read, in a scratch database at `url`."""
    repeat = 30 if quick else 300
    pool = db.make_pool(url)
    await db.open_pool(pool)
    try:
        plant = Plant(pool=pool, location=db.DatabaseLocation(url=url, embedded=False))
        progress("direct")
        results = [await bench_direct(plant, repeat=repeat)]
        progress("in memory")
        results.append(await bench_in_memory(plant, repeat=repeat))
        progress("stdio")
        results.append(await bench_stdio(url, repeat=repeat))
        progress("streamable HTTP")
        results.append(await bench_http(url, plant, repeat=repeat))
        return results
    finally:
        await pool.close()
