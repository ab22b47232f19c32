"""A decision survives the death of the process that took it: the service that leads next carries
it out once — the thread that waited resumes, a client's held call runs — also when the action
ran but the thread never heard of it. The state a `kill -9` leaves is made here directly (the
decision committed, nothing after it), and a real `titan serve` process finds it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_helpers import committed_rows as _rows
from api_helpers import free_port
from mcp_helpers import session_for

from agents.runtime import open_agents
from mcp_servers.runtime import CALLER_META_KEY, open_plant
from tools.accounts import accounts
from tools.approvals.requests import decide_approval
from tools.core import db
from tools.core.operations import SYSTEM, Actor

pytestmark = pytest.mark.anyio
LEAD = Actor(type="user", id="lead")


async def _request_of(conn: db.AsyncConn, approval_id: str) -> dict[str, Any]:
    [row] = await _rows(conn, "select * from approvals where approval_id = %s", approval_id)
    return row


async def _decided_then_died(conn: db.AsyncConn, approval_id: str) -> None:
    """What the decider's process left when it was killed right after the decision: the
    decision, committed; the thread not resumed, the held call not run."""
    await accounts.ensure_user(conn, SYSTEM, "lead", role="production_manager")
    assert await decide_approval(conn, LEAD, approval_id, status="APPROVED", decided_by="lead")
    await conn.commit()


async def _events(conn: db.AsyncConn, order_id: str, status: str) -> int:
    [row] = await _rows(
        conn,
        "select count(*) as n from order_events where order_id = %s and to_status = %s",
        order_id,
        status,
    )
    return int(row["n"])


@pytest.mark.slow
async def test_decisions_a_dead_process_left_undone_are_carried_out_once_by_the_next(
    plant: db.AsyncConn, db_url: str, tmp_path: Path
) -> None:
    async with open_agents(db_url) as agents:
        hold = await agents.ask("Put ORD-10017 on hold, the customer asked us to wait",
                                user="maria", role="supervisor")  # fmt: skip
        cancel = await agents.ask("Cancel order ORD-10021, the customer withdrew it",
                                  user="maria", role="supervisor")  # fmt: skip
    assert hold.approval is not None and cancel.approval is not None
    async with open_plant(db_url) as mcp_plant:
        async with session_for("inventory", mcp_plant) as client:
            held = await client.call_tool(
                "hold_order", {"order_id": "ORD-10020", "reason": "awaiting the new drawing"}
            )
        assert held.structuredContent is not None
        client_request = str(held.structuredContent["error"]["details"][0]["approval_id"])
        for approval_id in (hold.approval.approval_id, cancel.approval.approval_id, client_request):
            await _decided_then_died(plant, approval_id)
        # The cancellation ran under its approval (as the resumed thread runs it), and then its
        # process died before the thread heard of it.
        ran = await _request_of(plant, cancel.approval.approval_id)
        caller = {"user_id": "maria", "thread_id": cancel.thread_id,
                  "approval_id": cancel.approval.approval_id}  # fmt: skip
        async with session_for("inventory", mcp_plant) as client:
            done = await client.call_tool(
                "cancel_order", ran["arguments"], meta={CALLER_META_KEY: caller}
            )
        assert not done.isError
    # The crash was a while ago: the decisions are older than a decider still at work.
    await plant.execute("update approvals set decided_at = decided_at - interval '10 minutes'")
    await plant.commit()

    service = _Service(db_url, tmp_path / "err.txt")
    try:
        async with asyncio.timeout(120):
            await service.ready()
            while await _rows(plant, "select 1 from approvals where settled_at is null"):
                await asyncio.sleep(0.2)
    finally:
        service.proc.send_signal(signal.SIGTERM)
        await asyncio.to_thread(service.proc.wait, 60)

    assert await _events(plant, "ORD-10017", "ON_HOLD") == 1
    assert await _events(plant, "ORD-10021", "CANCELLED") == 1
    assert await _events(plant, "ORD-10020", "ON_HOLD") == 1
    async with open_agents(db_url) as agents:
        held_thread = await agents.thread(hold.thread_id)
        cancelled_thread = await agents.thread(cancel.thread_id)
    assert held_thread.approval is None and "ORD-10017" in held_thread.answer
    assert "on hold" in held_thread.answer.lower()
    # The thread that never heard of its cancellation reads what it did, and nothing ran twice.
    assert cancelled_thread.approval is None
    assert cancelled_thread.answer.startswith("Cancelled order ORD-10021")
    client = await _request_of(plant, client_request)
    assert client["executed_at"] is not None and client["outcome"]["ok"] is True
    assert "carrying it out now" in (tmp_path / "err.txt").read_text()


class _Service:
    """A `titan serve --no-sim` process on the test database."""

    def __init__(self, db_url: str, log: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TITAN_")}
        env["DATABASE_URL"] = db_url
        self.base = f"http://127.0.0.1:{free_port()}"
        with log.open("a") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "api.cli.main", "serve", "--no-sim", "--port",
                 self.base.rsplit(":", 1)[1]],
                env=env, stdout=subprocess.DEVNULL, stderr=err,
            )  # fmt: skip

    async def ready(self) -> None:
        while True:
            try:
                async with httpx.AsyncClient(timeout=5) as http:
                    if (await http.get(f"{self.base}/ready")).status_code == 200:
                        return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)


@pytest.mark.slow
async def test_a_decision_cut_off_by_kill_9_is_carried_out_exactly_once(
    plant: db.AsyncConn, db_url: str, tmp_path: Path
) -> None:
    """Killed at several moments after a decision is sent, whatever it had done by then: the
    next service carries out every decision that was recorded, once, and none that was not."""
    token = (await accounts.create_key(plant, SYSTEM, role="supervisor", user_id="lead")).token
    await plant.commit()
    headers = {"Authorization": f"Bearer {token}"}
    log = tmp_path / "services.txt"
    trials = [("ORD-10021", 0.0), ("ORD-10017", 0.05), ("ORD-10020", 0.3)]
    asked: list[tuple[str, str, str]] = []  # order, thread, approval
    async with asyncio.timeout(300):
        service = _Service(db_url, log)
        await service.ready()
        for order, delay in trials:
            async with httpx.AsyncClient(base_url=service.base, headers=headers, timeout=60) as c:
                chat = (await c.post("/chat", json={"message": f"Cancel order {order}, the "
                                                    "customer withdrew it"})).json()  # fmt: skip
                approval = chat["approval"]["approval_id"]
                asked.append((order, chat["thread_id"], approval))
                sent = asyncio.create_task(
                    c.post(f"/approvals/{approval}/decision", json={"decision": "approve"})
                )
                await asyncio.sleep(delay)
                service.proc.send_signal(signal.SIGKILL)
                await asyncio.to_thread(service.proc.wait, 30)
                with contextlib.suppress(httpx.HTTPError):
                    await sent
            # The crash was a while ago when the next service starts.
            await plant.execute(
                "update approvals set decided_at = decided_at - interval '10 minutes' "
                "where settled_at is null and decided_at is not null"
            )
            await plant.commit()
            service = _Service(db_url, log)
            await service.ready()
            while await _rows(
                plant, "select 1 from approvals where settled_at is null and status <> 'PENDING'"
            ):
                await asyncio.sleep(0.2)
        service.proc.send_signal(signal.SIGTERM)
        await asyncio.to_thread(service.proc.wait, 60)

    async with open_agents(db_url) as agents:
        for order, thread_id, approval in asked:
            row = await _request_of(plant, approval)
            thread = await agents.thread(thread_id)
            if row["status"] == "PENDING":  # killed before the decision was recorded
                assert await _events(plant, order, "CANCELLED") == 0
                assert thread.approval is not None
            else:
                assert row["status"] == "APPROVED" and row["settled_at"] is not None
                assert await _events(plant, order, "CANCELLED") == 1, order
                assert thread.approval is None and f"Cancelled order {order}" in thread.answer
