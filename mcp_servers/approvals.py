"""The approval requests a client can read over MCP: every server serves `get_approval`, so a
client whose write waits for a person can follow its request to the outcome."""

from __future__ import annotations

from typing import Annotated

from mcp.server.fastmcp import Context
from pydantic import Field

from mcp_servers.runtime import ToolBox, domain_tool, plant_of
from tools.accounts.permissions import Permission as P
from tools.approvals import queue

ApprovalId = Annotated[
    str, Field(pattern=r"^APR-[A-Z0-9]{1,40}$", description="An approval's ID, e.g. APR-1A2B.")
]


def register(box: ToolBox) -> None:
    @domain_tool(box, P.REPORT_VIEW, title="An approval request")
    async def get_approval(ctx: Context, approval_id: ApprovalId) -> queue.Approval:  # type: ignore[type-arg]
        """An approval request: the write it holds, why it needs a person, who may decide,
        the decision, and — once approved — when the write ran and what it did."""
        async with plant_of(ctx).pool.connection() as conn:
            return await queue.get_approval(conn, approval_id)
