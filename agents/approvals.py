"""The agents' side of approvals: the request's ID for a tool call, its Agent Inbox interrupt,
and the decision a person sent back.

Which calls need a person is not decided here: the MCP servers' gate applies the one policy
(`tools.approvals.policy`) to every caller, raises the request and tells the agents, which then
wait for the decision (`agents.specialists`)."""

from __future__ import annotations

import hashlib
from typing import Any

from agents.actions import describe_call
from agents.state import Decision, PendingApproval
from tools.approvals.requests import STATUS_OF, NewApproval, decide_approval, request_approval
from tools.core.db import AsyncConn
from tools.core.operations import Actor


def approval_id(thread_id: str, turn: int, tool_call_id: str) -> str:
    """The approval's ID: the same call in the same thread always gets the same one."""
    digest = hashlib.sha256(f"{thread_id}|{turn}|{tool_call_id}".encode()).hexdigest()
    return f"APR-{digest[:16].upper()}"


def describe(pending: PendingApproval) -> str:
    """The request in words, for the person who decides it."""
    action = describe_call(pending["action"], pending["args"])
    return (
        f"The {pending['agent']} agent wants to {action}. It needs approval because "
        f"{pending['reason']}."
    )


def human_interrupt(pending: PendingApproval) -> dict[str, Any]:
    """The Agent Inbox HumanInterrupt for `pending` (plus Titan's approval ID)."""
    return {
        "action_request": {"action": pending["action"], "args": pending["args"]},
        "config": {
            "allow_accept": True,
            "allow_edit": True,
            "allow_respond": True,
            "allow_ignore": True,
        },
        "description": pending["description"],
        "approval_id": pending["approval_id"],
    }


def parse_decision(value: Any) -> Decision:
    """A Decision from a resume value: Titan's own, or an Agent Inbox HumanResponse."""
    if isinstance(value, list) and value:
        value = value[0]
    if not isinstance(value, dict):
        return {"type": "reject", "reason": f"unreadable decision {value!r}"}
    kind = str(value.get("type", ""))
    user = value.get("user")
    if kind in ("approve", "accept"):  # "accept": an Agent Inbox HumanResponse
        return {"type": "approve", "user": user}
    if kind == "edit":
        args = value.get("args")
        if isinstance(args, dict) and isinstance(args.get("args"), dict):
            args = args["args"]
        return {"type": "edit", "args": args if isinstance(args, dict) else {}, "user": user}
    reason = value.get("reason") or (value.get("args") if kind == "response" else None)
    return {"type": "reject", "reason": str(reason or "no reason given"), "user": user}


_GET = """
select approval_id, thread_id, status, agent, action, arguments, required_role, decided_by,
       decision_reason, edited_arguments
from approvals where approval_id = %(approval_id)s
"""


async def write_request(
    conn: AsyncConn, pending: PendingApproval, *, thread_id: str, asked_by: str
) -> None:
    """Write the approvals row for `pending` once (a second write of the same ID does nothing),
    asked for by the agents for `asked_by`."""
    new = NewApproval(
        approval_id=pending["approval_id"],
        thread_id=thread_id,
        agent=pending["agent"],
        action=pending["action"],
        arguments=pending["args"],
        impact=pending["impact"],
        reason=pending["reason"],
        permission=pending.get("permission", "ai.approve"),
        required_role=pending["required_role"],
    )
    await request_approval(conn, Actor(type="agent", id=asked_by, thread_id=thread_id), new)


async def mark_decided(conn: AsyncConn, approval: str, decision: Decision) -> bool:
    """Record `decision` on a pending approval; False when it was already decided."""
    user = decision.get("user")
    return await decide_approval(
        conn,
        Actor(type="user", id=user or "unknown"),
        approval,
        status=STATUS_OF[decision["type"]],
        decided_by=user,
        reason=decision.get("reason"),
        edited_arguments=decision.get("args") if decision["type"] == "edit" else None,
    )


async def get_row(conn: AsyncConn, approval: str) -> dict[str, Any] | None:
    async with conn.transaction():
        cur = await conn.execute(_GET, {"approval_id": approval})
        return await cur.fetchone()


def decision_from_row(row: dict[str, Any]) -> Decision:
    """The decision a decided approvals row holds."""
    status = row["status"]
    if status == "APPROVED":
        return {"type": "approve", "user": row["decided_by"]}
    if status == "EDITED":
        return {"type": "edit", "args": row["edited_arguments"] or {}, "user": row["decided_by"]}
    if status in ("EXPIRED", "WITHDRAWN"):
        return {"type": "reject", "reason": row["decision_reason"], "user": None}
    return {"type": "reject", "reason": row["decision_reason"], "user": row["decided_by"]}
