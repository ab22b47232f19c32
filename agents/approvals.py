"""Which tool calls need a person, and the approvals table rows that list them.

The policy is the one place that names risky calls: schedule changes touching more than three
jobs or needing overtime, rush-order commitments, purchase orders above a value, messages to
customers, holding, cancelling or closing orders and inquiries, and work orders that take a
machine down in a shift.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel

from agents.actions import describe_call
from agents.state import Decision, PendingApproval
from tools.approvals.requests import STATUS_OF, NewApproval, decide_approval, request_approval
from tools.communications.templates import STAFF_ROLES
from tools.core.db import AsyncConn
from tools.core.operations import Actor

PO_APPROVAL_LIMIT_USD = Decimal("5000")
PO_MANAGER_LIMIT_USD = Decimal("50000")
MAX_JOBS_WITHOUT_APPROVAL = 3
SCHEDULE_WRITES = ("apply_schedule", "reschedule_machine", "reschedule", "move_operations")
CUSTOMER_EVENTS = ("order.", "shipment.", "inquiry.")
ORDER_STOPS = ("cancel_order", "hold_order", "close_inquiry", "answer_inquiry")


class Verdict(BaseModel):
    """Why a call needs approval, what it would change, and who may approve it."""

    reason: str
    impact: dict[str, Any]
    required_role: str = "supervisor"


def _value(args: dict[str, Any]) -> Decimal | None:
    try:
        return Decimal(str(args["unit_price"])) * int(args.get("quantity", 0))
    except (KeyError, InvalidOperation, TypeError, ValueError):
        return None


def _jobs(args: dict[str, Any]) -> int | None:
    for key in ("job_ids", "operation_ids", "jobs", "operations", "order_ids", "moves"):
        value = args.get(key)
        if isinstance(value, list):
            return len(value)
    return None


def _schedule(name: str, args: dict[str, Any]) -> Verdict | None:
    if not name.startswith(SCHEDULE_WRITES):
        return None
    overtime = any("overtime" in k and bool(v) for k, v in args.items())
    jobs = _jobs(args)
    if overtime:
        return Verdict(reason="the schedule change needs overtime", impact={"overtime": True})
    if jobs is None or jobs > MAX_JOBS_WITHOUT_APPROVAL:
        touched = "an unknown number of" if jobs is None else str(jobs)
        return Verdict(
            reason=f"the schedule change touches {touched} jobs (more than "
            f"{MAX_JOBS_WITHOUT_APPROVAL} need approval)",
            impact={"jobs": jobs},
        )
    return None


def _purchase(args: dict[str, Any]) -> Verdict | None:
    value = _value(args)
    impact = {
        "value_usd": str(value) if value is not None else None,
        "sku": args.get("sku"),
        "quantity": args.get("quantity"),
        "supplier_id": args.get("supplier_id"),
    }
    if value is None:
        return Verdict(
            reason="the purchase order's value is not known before the supplier prices it",
            impact=impact,
        )
    if value <= PO_APPROVAL_LIMIT_USD:
        return None
    role = "production_manager" if value > PO_MANAGER_LIMIT_USD else "supervisor"
    return Verdict(
        reason=f"the purchase order is worth {value} USD, above the "
        f"{PO_APPROVAL_LIMIT_USD} USD limit",
        impact=impact,
        required_role=role,
    )


def _message(name: str, args: dict[str, Any]) -> Verdict | None:
    if name == "send_message":
        recipient = str(args.get("recipient", ""))
        if recipient in STAFF_ROLES:
            return None
        return Verdict(
            reason=f"the message goes outside the team, to {recipient}",
            impact={"recipient": recipient, "subject": args.get("subject")},
        )
    event = str(args.get("event_type", ""))
    if name == "notify_about" and event.startswith(CUSTOMER_EVENTS):
        return Verdict(
            reason=f"the {event} notice goes to the customer",
            impact={"event_type": event, "entity_id": args.get("entity_id")},
        )
    return None


def needs_approval(name: str, args: dict[str, Any]) -> Verdict | None:
    """The verdict when calling `name` with `args` needs a person's approval, else None."""
    if name == "create_purchase_order":
        return _purchase(args)
    if name in ("send_message", "notify_about"):
        return _message(name, args)
    if name == "create_order" and args.get("is_rush"):
        return Verdict(
            reason="a rush order is a commitment to the customer",
            impact={"customer_id": args.get("customer_id"), "due_at": args.get("due_at")},
        )
    if name in ORDER_STOPS:
        target = args.get("order_id") or args.get("inquiry_id")
        return Verdict(
            reason=f"{name.replace('_', ' ')} changes what the customer gets",
            impact={"entity_id": target},
        )
    if name in ("schedule_work_order", "start_work_order"):
        return Verdict(
            reason="the work order takes the machine out of production in a shift",
            impact={
                "work_order_id": args.get("work_order_id"),
                "starts_at": args.get("starts_at"),
                "ends_at": args.get("ends_at"),
            },
        )
    return _schedule(name, args)


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
    return {"type": "reject", "reason": row["decision_reason"], "user": row["decided_by"]}
