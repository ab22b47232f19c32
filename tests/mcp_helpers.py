"""Helpers for tests that talk to Titan's MCP servers."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

from mcp import ClientSession
from mcp.types import CallToolResult

from mcp_servers.gate import execute_request
from mcp_servers.runtime import Plant
from mcp_servers.servers import build_server
from mcp_servers.sessions import connect
from tools.approvals.requests import decide_approval
from tools.core.operations import Actor


def session_for(domain: str, plant: Plant) -> AbstractAsyncContextManager[ClientSession]:
    """A client session over the real MCP protocol, in memory, to `domain`'s server."""
    return connect(build_server(domain, plant=plant).mcp)


async def approved(plant: Plant, result: CallToolResult, *, decided_by: str | None = None) -> Any:
    """The structured result of a call the gate held for a person, once a person approved it
    and the service ran it (as `POST /approvals/…/decision` does)."""
    assert result.isError and result.structuredContent is not None, result.content
    error = result.structuredContent["error"]
    assert error["code"] == "approval_required", error
    approval_id = error["details"][0]["approval_id"]
    async with plant.pool.connection() as conn:
        decided = await decide_approval(
            conn, Actor(type="user", id=decided_by or "lead"), approval_id,
            status="APPROVED", decided_by=decided_by,
        )  # fmt: skip
    assert decided
    outcome = await execute_request(plant, approval_id)
    assert outcome["ok"], outcome
    return outcome["result"]
