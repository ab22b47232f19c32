"""The approval gate every caller of a guarded write passes: the agents, a desktop client over
stdio, a client over streamable HTTP.

A write the policy (`tools.approvals.policy`) holds for a person does not run: it raises one
approval request (the same row whoever asked; asking again for the very same call reuses the
pending one) and answers `approval_required` with the request's ID, what would happen, why, who
may decide and how. A call made under an approved request (`_meta` names it) runs exactly
once: the request is claimed before the call runs, and what the call did is kept on it; made
again once it succeeded, it answers what the first call returned.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from mcp.server.fastmcp import Context
from pydantic import JsonValue
from pydantic_core import to_jsonable_python

from mcp_servers.runtime import (
    CALLER_META_KEY,
    Caller,
    Plant,
    actor_of,
    caller_of,
    plant_of,
)
from tools.accounts.permissions import DESCRIPTIONS, Permission, deciders, least_role
from tools.approvals import policy, queue, requests
from tools.core.errors import (
    ApprovalRequiredError,
    ConflictError,
    PermissionDeniedError,
    TitanError,
)
from tools.core.operations import Actor
from tools.core.settings import get_settings

R = TypeVar("R")


def _jsonable(arguments: dict[str, Any]) -> dict[str, JsonValue]:
    plain: dict[str, JsonValue] = to_jsonable_python(
        {k: v for k, v in arguments.items() if not isinstance(v, Context) and v is not None}
    )
    return plain


async def gated(
    ctx: Context,  # type: ignore[type-arg]
    name: str,
    permission: Permission,
    arguments: dict[str, Any],
    run: Callable[[], Awaitable[R]],
    *,
    proposing: bool = False,
    replayable: bool = False,
) -> R:
    """Run the write `name` when the policy lets it (or an approved request covers it);
    otherwise raise its approval request and ApprovalRequiredError. `proposing`: the caller's
    role does not hold `permission` but proposes (a run nobody started), so the write waits
    for a person who holds it whatever the policy says. `replayable`: the call is keyed (its
    operation is idempotent on the key), so one under an approval that was claimed but left no
    outcome (the process died mid-call) may run again and finds what the first run did."""
    plant, caller = plant_of(ctx), caller_of(ctx)
    args = _jsonable(arguments)
    if caller is not None and caller.approval_id:
        return await _execute(ctx, caller.approval_id, name, args, run, replayable=replayable)
    async with plant.pool.connection() as conn:
        verdict = await policy.verdict(conn, name, args, get_settings())
        if verdict is None and proposing:
            verdict = policy.Verdict(
                reason=f"a run nobody started (an event's) may not {name} by itself; "
                f"{permission} is needed ({DESCRIPTIONS[permission].lower()})",
                impact={"action": name, **args},
                permission=permission,
            )
        if verdict is None:
            approval_id, reused = None, False
        else:
            approval_id, reused = await _request(ctx, conn, name, args, verdict)
    if verdict is None or approval_id is None:
        return await run()
    roles = deciders(verdict.permission)
    waits = (
        f"Request {approval_id}, raised earlier for {name} on the same "
        f"{(policy.entity_of(args) or ('call', ''))[0].removesuffix('_id')}, already waits"
        if reused
        else f"Request {approval_id} is pending"
    )
    raise ApprovalRequiredError(
        f"{name} waits for a person's approval: {verdict.reason}. {waits}; a person with "
        f"{verdict.permission} ({', '.join(roles)}) decides it (POST "
        f"/approvals/{approval_id}/decision, or `titan approvals approve {approval_id}`). "
        "Nothing was done yet.",
        approval_id=approval_id,
        reused=reused,
        action=name,
        reason=verdict.reason,
        permission=str(verdict.permission),
        deciders=list(roles),
        required_role=least_role(verdict.permission),
        impact=dict(verdict.impact),
        decide_rest=f"POST /approvals/{approval_id}/decision",
        decide_cli=f"titan approvals approve {approval_id}",
    )


async def _request(
    ctx: Context,  # type: ignore[type-arg]
    conn: Any,
    name: str,
    args: dict[str, JsonValue],
    verdict: policy.Verdict,
) -> tuple[str, bool]:
    """The request for this call: the one already pending for the same action on the same
    entity (whoever raised it; True), or a new one (False)."""
    caller = caller_of(ctx)
    existing = await requests.pending_request(
        conn, action=name, arguments=args, entity=policy.entity_of(args)
    )
    if existing is not None:  # (an agent's own request, met again on a replay, is not reused)
        return existing, existing != (caller.request_id if caller else None)
    approval_id = (caller.request_id if caller else None) or f"APR-{uuid.uuid4().hex[:16].upper()}"
    who = caller.user_id if caller else actor_of(ctx).id
    await requests.request_approval(
        conn,
        actor_of(ctx),
        requests.NewApproval(
            approval_id=approval_id,
            thread_id=(caller.thread_id if caller else None) or f"mcp-{approval_id}",
            agent=(caller.agent if caller else None) or "mcp",
            action=name,
            arguments=args,
            impact=dict(verdict.impact),
            reason=verdict.reason,
            permission=verdict.permission,
            required_role=least_role(verdict.permission),
            requested_by=who,
        ),
    )
    return approval_id, False


async def _execute(
    ctx: Context,  # type: ignore[type-arg]
    approval_id: str,
    name: str,
    args: dict[str, JsonValue],
    run: Callable[[], Awaitable[R]],
    *,
    replayable: bool,
) -> R:
    plant = plant_of(ctx)
    async with plant.pool.connection() as conn:
        done = await requests.claim_execution(
            conn, approval_id, action=name, arguments=args, replayable=replayable
        )
    if done is not None:  # it ran already (the service ran it): the same call gets its result
        return cast(R, done.result)
    try:
        result = await run()
    except TitanError as exc:
        async with plant.pool.connection() as conn:
            outcome = {"ok": False, "error": exc.error_body()}
            await requests.record_outcome(conn, actor_of(ctx), approval_id, outcome)
        raise
    async with plant.pool.connection() as conn:
        outcome = {"ok": True, "result": to_jsonable_python(result)}
        await requests.record_outcome(conn, actor_of(ctx), approval_id, outcome)
    return result


async def execute_request(plant: Plant, approval_id: str) -> dict[str, JsonValue]:
    """Run an approved request a client raised (not an agent's: its thread runs it), once, as
    the person who asked, over an in-memory session of the real protocol; what it did."""
    from mcp_servers.servers import build_server
    from mcp_servers.sessions import connect

    async with plant.pool.connection() as conn:
        found = await queue.get_approval(conn, approval_id)
    if found.status not in ("APPROVED", "EDITED"):
        raise PermissionDeniedError(
            f"approval {approval_id} is {found.status}: nothing runs under it",
            entity="approval",
            id=approval_id,
            status=found.status,
        )
    caller = Caller(user_id=found.requested_by or "mcp", approval_id=approval_id)
    arguments = requests.approved_arguments(found.model_dump())
    async with connect(build_server("all", plant=plant).mcp) as session:
        result = await session.call_tool(
            found.action, arguments, meta={CALLER_META_KEY: caller.model_dump(exclude_none=True)}
        )
    if result.isError:
        text = "".join(getattr(c, "text", "") for c in result.content)
        return {"ok": False, "error": text}
    return {"ok": True, "result": result.structuredContent}


# The thread of a request a client raised (no agents wait on it), and of one raised by a run in
# LangGraph's own server (`langgraph.json`; its thread waits there, out of Titan's reach).
CLIENT_THREAD = "mcp-"
LANGGRAPH_THREAD = "langgraph-"


def run_by_service(thread_id: str) -> bool:
    """Whether deciding the request runs its held call here (`decide_client_request`), because
    no thread of Titan's own agents waits on it."""
    return thread_id.startswith((CLIENT_THREAD, LANGGRAPH_THREAD))


async def decide_client_request(
    plant: Plant,
    approval_id: str,
    decision: requests.Decision,
    *,
    user: str | None,
    reason: str | None = None,
    edited: dict[str, JsonValue] | None = None,
) -> queue.Approval:
    """Record a person's decision on a request a client raised and, approved or edited, run the
    call it held once; the request as it then stands. A request decided already is a
    ConflictError and runs nothing again."""
    async with plant.pool.connection() as conn:
        decided = await requests.decide_approval(
            conn, Actor(type="user", id=user or "cli"), approval_id,
            status=requests.STATUS_OF[decision], decided_by=user, reason=reason,
            edited_arguments=edited if decision == "edit" else None,
        )  # fmt: skip
        if not decided:
            found = await queue.get_approval(conn, approval_id)
            raise ConflictError(
                f"approval {approval_id} was already decided: {found.status} by "
                f"{found.decided_by or 'unknown'}; nothing was executed again",
                entity="approval", id=approval_id, status=found.status,
            )  # fmt: skip
    if decision != "reject":
        await execute_request(plant, approval_id)
    async with plant.pool.connection() as conn:
        await requests.settle(conn, approval_id)
        return await queue.get_approval(conn, approval_id)


async def settle_request(plant: Plant, approval_id: str) -> dict[str, JsonValue] | None:
    """Carry out a decision on a request no thread of Titan's waits on, whose decider died
    before the held call ran: run it once (a call that ran already answers what it did), and
    settle the decision; what the run did, or None for a rejection."""
    async with plant.pool.connection() as conn:
        found = await queue.get_approval(conn, approval_id)
    done = await execute_request(plant, approval_id) if found.status != "REJECTED" else None
    async with plant.pool.connection() as conn:
        await requests.settle(conn, approval_id)
    return done
