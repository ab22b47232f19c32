"""Reading the approvals table: the risky actions waiting for a person's decision."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, JsonValue

from tools.core.db import AsyncConn
from tools.core.limits import check_page


class OpenApproval(BaseModel):
    """An action an agent asked to take, waiting for approval."""

    approval_id: str
    thread_id: str
    agent: str
    action: str
    arguments: dict[str, JsonValue]
    reason: str
    required_role: str
    requested_at: datetime


_OPEN = """
select approval_id, thread_id, agent, action, arguments, reason, required_role, requested_at
from approvals where status = 'PENDING'
order by requested_at, approval_id
limit %(limit)s
"""


async def open_approvals(conn: AsyncConn, *, limit: int = 100) -> list[OpenApproval]:
    """The pending approvals, oldest request first (`limit` 1 to 500)."""
    check_page(limit, 0)
    async with conn.transaction():
        cur = await conn.execute(_OPEN, {"limit": limit})
        return [OpenApproval.model_validate(r) for r in await cur.fetchall()]
