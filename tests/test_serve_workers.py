"""`titan serve --workers 2`: two service processes on one port and one database. The first-start
key is made once, one process runs the engine, a decision sent to both processes at once
executes once (an agent thread's request, and a request an MCP client raised), /metrics adds up
both processes' figures, and SIGTERM stops them all cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from simulation.lock import HELD_WHERE, LOCK_KEY
from tools.core import db

pytestmark = pytest.mark.anyio
CANCEL = "Cancel order ORD-10021, the customer withdrew it"
HOLD = {"order_id": "ORD-10017", "reason": "the customer asked us to wait"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _one(conn: db.AsyncConn, query: str, params: dict[str, object] | None = None) -> object:
    cur = await conn.execute(query, params)
    row = await cur.fetchone()
    await conn.commit()
    assert row is not None
    return next(iter(row.values()))


async def _engines(conn: db.AsyncConn) -> object:
    return await _one(conn, f"select count(*) from pg_locks where {HELD_WHERE}", {"key": LOCK_KEY})


def _health_total(metrics: str) -> float:
    total = 0.0
    for line in metrics.splitlines():
        if line.startswith("titan_http_requests_total{") and 'route="/health"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


async def _on_two_processes(
    stack: AsyncExitStack, base: str, headers: dict[str, str]
) -> tuple[httpx.AsyncClient, httpx.AsyncClient, int]:
    """Two clients whose (kept-alive) connections were accepted by different workers, and how
    many /health calls finding them took."""
    found: dict[int, httpx.AsyncClient] = {}
    calls = 0
    for _ in range(20):  # connections made at once are spread over the workers accepting them
        burst = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=base, timeout=60, headers=headers)
            )
            for _ in range(8)
        ]
        answers = await asyncio.gather(*(c.get("/health") for c in burst))
        calls += len(burst)
        for client, answer in zip(burst, answers, strict=True):
            found.setdefault(answer.json()["process"], client)
        if len(found) == 2:
            one, other = found.values()
            return one, other, calls
    raise AssertionError("160 connections all went to one worker")


async def _raise_over_mcp(url: str, headers: dict[str, str]) -> str:
    """A desktop client's guarded write: the approval request it raised."""
    async with (
        httpx.AsyncClient(headers=headers, timeout=60) as http,
        streamable_http_client(url, http_client=http) as (read, write, _),
        ClientSession(read, write) as client,
    ):
        await client.initialize()
        held = await client.call_tool("hold_order", HOLD)
    assert held.isError and held.structuredContent is not None
    return str(held.structuredContent["error"]["details"][0]["approval_id"])


@pytest.mark.slow
async def test_two_workers_serve_one_plant_and_stop_cleanly(db_url: str, tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TITAN_")}
    env["DATABASE_URL"] = db_url
    printed, logged = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with printed.open("w") as out, logged.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli.main", "serve", "--port", str(port), "--workers", "2"],
            env=env, stdout=out, stderr=err,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        async with db.connection(db_url) as conn:
            async with asyncio.timeout(120):
                processes: set[int] = set()
                health_calls = 0
                while len(processes) < 2:  # both workers answer, each on new connections
                    try:
                        async with httpx.AsyncClient(base_url=base, timeout=10) as fresh:
                            processes.add((await fresh.get("/health")).json()["process"])
                            health_calls += 1
                    except httpx.TransportError:
                        await asyncio.sleep(0.2)
                while await _one(conn, "select count(*) from sim_state where running") == 0:
                    await asyncio.sleep(0.1)
            assert proc.pid not in processes

            tokens = [ln for ln in printed.read_text().splitlines() if ln.startswith("titan_")]
            assert len(tokens) == 1, "the first-start admin key is made and shown once"
            assert await _engines(conn) == 1, "one of the workers runs the engine"
            headers = {"Authorization": f"Bearer {tokens[0]}"}

            async with AsyncExitStack() as stack:
                one, other, calls = await _on_two_processes(stack, base, headers)
                health_calls += calls
                asked = (await one.post("/chat", json={"message": CANCEL})).json()
                approval = asked["approval"]["approval_id"]
                decide = f"/approvals/{approval}/decision"
                answers = await asyncio.gather(
                    one.post(decide, json={"decision": "approve"}),
                    other.post(decide, json={"decision": "approve"}),
                )
                held = await _raise_over_mcp(f"{base}/mcp/inventory", headers)
                decide = f"/approvals/{held}/decision"
                client_answers = await asyncio.gather(
                    one.post(decide, json={"decision": "approve"}),
                    other.post(decide, json={"decision": "approve"}),
                )
                paused = await other.post("/sim/pause")
                status = (await one.get("/sim/status")).json()
                await one.post("/sim/resume")
                metrics = (await other.get("/metrics")).text

            assert sorted(a.status_code for a in answers) == [200, 409]
            assert (
                await _one(
                    conn,
                    "select count(*) from event_log where type = 'order.cancelled' "
                    "and entity_id = 'ORD-10021'",
                )
                == 1
            )
            assert sorted(a.status_code for a in client_answers) == [200, 409]
            assert (
                await _one(
                    conn,
                    "select count(*) from order_events where order_id = 'ORD-10017' "
                    "and to_status = 'ON_HOLD'",
                )
                == 1
            )
            assert paused.status_code == 200 and status["state"]["paused"] is True
            assert _health_total(metrics) == health_calls

            proc.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(proc.wait, 60)
            assert code == 0, logged.read_text()
            assert await _engines(conn) == 0
            assert await _one(conn, "select running from sim_state") is False
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
