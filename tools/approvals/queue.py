"""Reading the approvals table: one `Approval` model for a request and its decision, whoever
reads it (the REST API, the MCP resource, the command line)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, JsonValue

from tools.approvals.requests import ApprovalStatus
from tools.core.db import AsyncConn
from tools.core.errors import NotFoundError
from tools.core.limits import check_page


class Approval(BaseModel):
    """An action an agent asked to take, why it needs a person, and the decision once taken."""

    approval_id: str
    thread_id: str
    status: ApprovalStatus
    agent: str
    action: str
    arguments: dict[str, JsonValue]
    impact: dict[str, JsonValue]
    reason: str
    permission: str
    required_role: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    edited_arguments: dict[str, JsonValue] | None
    requested_by: str | None = None
    executed_at: datetime | None = None
    outcome: dict[str, JsonValue] | None = None


_COLUMNS = """approval_id, thread_id, status, agent, action, arguments, impact, reason,
    permission, required_role, requested_at, decided_by, decided_at, decision_reason,
    edited_arguments, requested_by, executed_at, outcome"""

_LIST = f"""
select {_COLUMNS} from approvals
where %(status)s::text is null or status = %(status)s
order by requested_at desc, approval_id
limit %(limit)s
"""

_OPEN = f"""
select {_COLUMNS} from approvals where status = 'PENDING'
order by requested_at, approval_id
limit %(limit)s
"""

_ONE = f"select {_COLUMNS} from approvals where approval_id = %(approval_id)s"


async def get_approval(conn: AsyncConn, approval_id: str) -> Approval:
    """One approval, or NotFoundError."""
    async with conn.transaction():
        cur = await conn.execute(_ONE, {"approval_id": approval_id})
        row = await cur.fetchone()
    if row is None:
        raise NotFoundError(
            f"approval {approval_id} does not exist; the approvals list names them",
            entity="approval",
            id=approval_id,
        )
    return Approval.model_validate(row)


async def list_approvals(
    conn: AsyncConn, *, status: ApprovalStatus | None = None, limit: int = 100
) -> list[Approval]:
    """Approvals in `status` (all when None), newest request first (`limit` 1 to 500)."""
    check_page(limit, 0)
    async with conn.transaction():
        cur = await conn.execute(_LIST, {"status": status, "limit": limit})
        return [Approval.model_validate(r) for r in await cur.fetchall()]


async def open_approvals(conn: AsyncConn, *, limit: int = 100) -> list[Approval]:
    """The pending approvals, oldest request first (`limit` 1 to 500)."""
    check_page(limit, 0)
    async with conn.transaction():
        cur = await conn.execute(_OPEN, {"limit": limit})
        return [Approval.model_validate(r) for r in await cur.fetchall()]
