"""Approval requests: written when the agents stop before a risky call, decided by a person.

Like every change in the plant, each leaves an event (`approval.requested`, `approval.decided`)
and an audit row in its transaction, so the live stream and the audit trail show who asked for
what and who decided it. Reading them is `tools.approvals.queue`.
"""

from __future__ import annotations

from typing import Literal

from psycopg.types.json import Jsonb
from pydantic import BaseModel, Field, JsonValue

from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.operations import Actor, atomic, record

ApprovalStatus = Literal["PENDING", "APPROVED", "REJECTED", "EDITED", "EXPIRED"]
DecidedStatus = Literal["APPROVED", "EDITED", "REJECTED"]
# The one vocabulary of a decision, everywhere (REST, the command line, the agents' resume, the
# eval tasks), and the status each leaves on the request.
Decision = Literal["approve", "edit", "reject"]
DECISIONS: tuple[Decision, ...] = ("approve", "edit", "reject")
STATUS_OF: dict[Decision, DecidedStatus] = {
    "approve": "APPROVED",
    "edit": "EDITED",
    "reject": "REJECTED",
}


class NewApproval(BaseModel):
    """What the agents ask a person to approve."""

    approval_id: str = Field(min_length=1, max_length=200)
    thread_id: str
    agent: str
    action: str
    arguments: dict[str, JsonValue]
    impact: dict[str, JsonValue]
    reason: str
    required_role: str


_INSERT = """
insert into approvals (approval_id, thread_id, agent, action, arguments, impact, reason,
                       required_role, requested_at)
values (%(approval_id)s, %(thread_id)s, %(agent)s, %(action)s, %(arguments)s, %(impact)s,
        %(reason)s, %(required_role)s, %(requested_at)s)
on conflict (approval_id) do nothing
returning approval_id
"""

_DECIDE = """
update approvals
set status = %(status)s, decided_by = %(decided_by)s, decided_at = %(decided_at)s,
    decision_reason = %(reason)s, edited_arguments = %(edited)s
where approval_id = %(approval_id)s and status = 'PENDING'
returning approval_id, thread_id, action
"""


async def request_approval(conn: AsyncConn, actor: Actor, new: NewApproval) -> bool:
    """Write the request once; False when a request with its ID exists already."""
    async with atomic(conn):
        cur = await conn.execute(
            _INSERT,
            {
                **new.model_dump(),
                "arguments": Jsonb(new.arguments),
                "impact": Jsonb(new.impact),
                "requested_at": clock.now(),
            },
        )
        if await cur.fetchone() is None:
            return False
        await record(
            conn,
            actor.model_copy(update={"thread_id": new.thread_id}),
            event_type="approval.requested",
            entity_type="approval",
            entity_id=new.approval_id,
            action="approval.request",
            after={"action": new.action, "arguments": new.arguments, "status": "PENDING"},
            payload={
                "agent": new.agent,
                "action": new.action,
                "required_role": new.required_role,
                "reason": new.reason,
            },
        )
    return True


async def decide_approval(
    conn: AsyncConn,
    actor: Actor,
    approval_id: str,
    *,
    status: DecidedStatus,
    decided_by: str | None,
    reason: str | None = None,
    edited_arguments: dict[str, JsonValue] | None = None,
) -> bool:
    """Record the decision of `decided_by` (a user's ID; None when not known) on a pending
    request; False when it was no longer pending."""
    async with atomic(conn):
        cur = await conn.execute(
            _DECIDE,
            {
                "approval_id": approval_id,
                "status": status,
                "decided_by": decided_by,
                "decided_at": clock.now(),
                "reason": reason,
                "edited": Jsonb(edited_arguments) if edited_arguments is not None else None,
            },
        )
        row = await cur.fetchone()
        if row is None:
            return False
        after: dict[str, JsonValue] = {"status": status, "decided_by": decided_by, "reason": reason}
        if edited_arguments is not None:
            after["edited_arguments"] = edited_arguments
        await record(
            conn,
            actor.model_copy(update={"thread_id": row["thread_id"], "approval_id": approval_id}),
            event_type="approval.decided",
            entity_type="approval",
            entity_id=approval_id,
            action="approval.decide",
            before={"status": "PENDING"},
            after=after,
            payload={"action": row["action"], "status": status, "decided_by": decided_by},
        )
    return True
