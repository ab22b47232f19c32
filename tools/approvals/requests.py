"""Approval requests: written when the agents stop before a risky call, decided by a person.

Like every change in the plant, each leaves an event (`approval.requested`, `approval.decided`)
and an audit row in its transaction, so the live stream and the audit trail show who asked for
what and who decided it. Reading them is `tools.approvals.queue`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from psycopg.types.json import Jsonb
from pydantic import BaseModel, Field, JsonValue

from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from tools.core.operations import Actor, atomic, record

ApprovalStatus = Literal["PENDING", "APPROVED", "REJECTED", "EDITED", "EXPIRED", "WITHDRAWN"]
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
    # The permission deciding it needs (exactly the roles holding it decide), and the least
    # of those roles, as a reader sees it.
    permission: str
    required_role: str
    requested_by: str | None = None


_INSERT = """
insert into approvals (approval_id, thread_id, agent, action, arguments, impact, reason,
                       permission, required_role, requested_at, requested_by)
values (%(approval_id)s, %(thread_id)s, %(agent)s, %(action)s, %(arguments)s, %(impact)s,
        %(reason)s, %(permission)s, %(required_role)s, %(requested_at)s, %(requested_by)s)
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
                "permission": new.permission,
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


def approved_arguments(row: dict[str, Any]) -> dict[str, JsonValue]:
    """The arguments a decided request was approved with: as asked, with a person's edits."""
    return {**(row["arguments"] or {}), **(row["edited_arguments"] or {})}


def _canonical(value: Any) -> Any:
    """A value as arguments compare: times in one UTC spelling, 5.0 as 5, None dropped."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and len(value) >= 10 and value[4:5] == "-" and "T" in value:
        try:
            at = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        return at.astimezone(UTC).isoformat() if at.tzinfo else value
    return value


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return json.dumps(_canonical(a), sort_keys=True, default=str) == json.dumps(
        _canonical(b), sort_keys=True, default=str
    )


async def claim_execution(
    conn: AsyncConn,
    approval_id: str,
    *,
    action: str,
    arguments: dict[str, JsonValue],
    replayable: bool = False,
) -> Succeeded | None:
    """Take the one execution of an approved request, for `action` with `arguments`: raises
    unless the request exists, was approved (or edited) for exactly this call, and has not run.
    The claim is committed before the call runs, so a request runs at most once. A call that
    ran already and succeeded is not run again: its recorded result is returned (a thread
    resumed after the service ran the call learns what it did). One claimed that left no
    outcome (the process died mid-call) runs again only when `replayable`: the call is keyed by
    the approval, so its operation finds what the first run did instead of doing it twice."""
    async with atomic(conn):
        cur = await conn.execute(
            "select approval_id, status, action, arguments, edited_arguments, executed_at, "
            "outcome from approvals where approval_id = %s for update",
            (approval_id,),
        )
        row = await cur.fetchone()
        if row is None:
            raise NotFoundError(
                f"approval {approval_id} does not exist", entity="approval", id=approval_id
            )
        fields: dict[str, Any] = {"entity": "approval", "id": approval_id, "status": row["status"]}
        if row["status"] not in ("APPROVED", "EDITED"):
            raise PermissionDeniedError(
                f"approval {approval_id} is {row['status']}: {action} may not run under it",
                **fields,
            )
        if row["action"] != action:
            raise ValidationError(
                f"approval {approval_id} approves {row['action']}, not {action}", **fields
            )
        if not _same(approved_arguments(row), arguments):
            raise ValidationError(
                f"approval {approval_id} approves {action} with other arguments; call it with "
                "the approved ones",
                **fields,
            )
        outcome = row["outcome"]
        if row["executed_at"] is not None and isinstance(outcome, dict) and outcome.get("ok"):
            return Succeeded(result=outcome.get("result"), executed_at=row["executed_at"])
        if row["executed_at"] is not None and outcome is None and replayable:
            return None
        if row["executed_at"] is not None:
            raise ConflictError(
                f"approval {approval_id} was already executed at "
                f"{row['executed_at']:%Y-%m-%d %H:%M} UTC{_outcome_text(row['outcome'])}; "
                "nothing was executed again",
                **fields,
            )
        await conn.execute(
            "update approvals set executed_at = %s where approval_id = %s",
            (clock.now(), approval_id),
        )
    return None


@dataclass(frozen=True)
class Succeeded:
    """What an approved call that ran already returned, and when it ran."""

    result: Any
    executed_at: datetime


# A decision is an intent to act, settled once the thread that waited has taken it (or, for a
# request no thread of Titan's waits on, once the held call ran). One left unsettled this long
# after it was taken (plant time) is settled by the leading process: its decider died.
SETTLE_AFTER = timedelta(minutes=2)


async def settle(conn: AsyncConn, approval_id: str) -> None:
    """Mark the decision on `approval_id` as carried out."""
    async with atomic(conn):
        await conn.execute(
            "update approvals set settled_at = %s where approval_id = %s and settled_at is null "
            "and status <> 'PENDING'",
            (clock.now(), approval_id),
        )


async def unsettled(conn: AsyncConn, *, limit: int = 100) -> list[dict[str, Any]]:
    """Decisions taken more than `SETTLE_AFTER` ago whose thread never took them, or whose held
    call never ran: approved, edited or rejected, not settled; oldest first."""
    async with atomic(conn):
        cur = await conn.execute(
            "select approval_id, thread_id, action, status, decided_by, decided_at, executed_at "
            "from approvals where settled_at is null "
            "and status in ('APPROVED', 'EDITED', 'REJECTED') and decided_at < %s "
            "order by decided_at limit %s",
            (clock.now() - SETTLE_AFTER, limit),
        )
        return await cur.fetchall()


def _outcome_text(outcome: Any) -> str:
    """What a call that ran and did not succeed did, as a clause."""
    if not isinstance(outcome, dict):
        return " (its outcome was not recorded)"
    error = outcome.get("error")
    message = error.get("message") if isinstance(error, dict) else error
    return f" and failed: {str(message)[:400]}"


async def record_outcome(conn: AsyncConn, actor: Actor, approval_id: str, outcome: Any) -> None:
    """Keep what the approved call did on its request, with an `approval.executed` event."""
    stored = json.loads(json.dumps(outcome, default=str))
    async with atomic(conn):
        await conn.execute(
            "update approvals set outcome = %s where approval_id = %s", (Jsonb(stored), approval_id)
        )
        await record(
            conn,
            actor.model_copy(update={"approval_id": approval_id}),
            event_type="approval.executed",
            entity_type="approval",
            entity_id=approval_id,
            action="approval.execute",
            payload={"ok": bool(stored.get("ok"))},
        )


async def pending_request(
    conn: AsyncConn,
    *,
    action: str,
    arguments: dict[str, JsonValue],
    entity: tuple[str, str] | None = None,
) -> str | None:
    """The pending request already raised for this action on this `entity` (an argument and
    its value: ("order_id", "ORD-10021")), or for exactly this call when it names none; one
    request per decision: asking again reuses it."""
    async with conn.transaction():
        if entity is not None:
            cur = await conn.execute(
                "select approval_id from approvals where status = 'PENDING' and action = %s "
                "and arguments ->> %s = %s order by requested_at limit 1",
                (action, entity[0], entity[1]),
            )
        else:
            cur = await conn.execute(
                "select approval_id from approvals where status = 'PENDING' and action = %s "
                "and arguments = %s order by requested_at limit 1",
                (action, Jsonb(arguments)),
            )
        row = await cur.fetchone()
    return row["approval_id"] if row else None


async def withdraw_request(
    conn: AsyncConn, actor: Actor, approval_id: str, *, reason: str
) -> dict[str, Any] | None:
    """Withdraw a pending request that no longer applies (WITHDRAWN, with `reason`; nothing
    runs under it), with an `approval.withdrawn` event; its row (ID, thread, action), or None
    when it was no longer pending."""
    why = f"the request was withdrawn: {reason}"
    async with atomic(conn):
        cur = await conn.execute(
            "update approvals set status = 'WITHDRAWN', decided_at = %s, decision_reason = %s "
            "where approval_id = %s and status = 'PENDING' "
            "returning approval_id, thread_id, action",
            (clock.now(), why, approval_id),
        )
        row = await cur.fetchone()
        if row is None:
            return None
        await record(
            conn,
            actor.model_copy(update={"thread_id": row["thread_id"], "approval_id": approval_id}),
            event_type="approval.withdrawn",
            entity_type="approval",
            entity_id=approval_id,
            action="approval.withdraw",
            before={"status": "PENDING"},
            after={"status": "WITHDRAWN", "reason": why},
            payload={"action": row["action"], "status": "WITHDRAWN", "reason": reason},
        )
    return dict(row)


async def expire_requests(conn: AsyncConn, actor: Actor, *, ttl: timedelta) -> list[dict[str, Any]]:
    """Expire the requests pending longer than `ttl` (plant time): EXPIRED, nothing runs under
    them, each with an `approval.expired` event and an audit row; the expired rows (ID, thread,
    action), for whoever waits on them to learn the outcome."""
    now = clock.now()
    why = f"the request expired unanswered after {ttl.total_seconds() / 3600:g} plant hours"
    async with atomic(conn):
        cur = await conn.execute(
            "update approvals set status = 'EXPIRED', decided_at = %(now)s, "
            "decision_reason = %(why)s where status = 'PENDING' and requested_at <= %(cutoff)s "
            "returning approval_id, thread_id, action",
            {"now": now, "why": why, "cutoff": now - ttl},
        )
        expired = await cur.fetchall()
        for row in expired:
            await record(
                conn,
                actor.model_copy(
                    update={"thread_id": row["thread_id"], "approval_id": row["approval_id"]}
                ),
                event_type="approval.expired",
                entity_type="approval",
                entity_id=row["approval_id"],
                action="approval.expire",
                before={"status": "PENDING"},
                after={"status": "EXPIRED", "reason": why},
                payload={"action": row["action"], "status": "EXPIRED"},
            )
    return [dict(row) for row in expired]
