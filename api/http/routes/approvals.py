"""Approvals: the risky actions agents stopped for, and the decisions that resume them.

A decision is taken once. A second one (or one racing the first) is refused with 409 and
executes nothing: in this process a lock per approval orders them, and across processes the
agent runtime's advisory lock and the approvals row's `PENDING → decided` update do.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self, cast

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from agents.runtime import ChatResult
from api.http.auth import needs
from api.http.body import Body
from api.http.service import Service, service_of
from mcp_servers.gate import decide_client_request, run_by_service
from mcp_servers.runtime import Plant
from tools.accounts import permissions
from tools.accounts.accounts import Principal
from tools.accounts.permissions import Permission as P
from tools.approvals import queue
from tools.approvals.queue import Approval
from tools.approvals.requests import ApprovalStatus, Decision
from tools.core.errors import ConflictError

router = APIRouter(tags=["approvals"])

StatusFilter = Literal["pending", "approved", "rejected", "edited", "expired", "all"]
ApprovalId = Annotated[str, Path(pattern=r"^APR-[A-Z0-9]{1,40}$", description="An approval ID.")]


class DecisionRequest(Body):
    # An edit carries the changed arguments; the schema says so as well as the check below.
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"decision": {"const": "edit"}}, "required": ["decision"]},
            "then": {
                "required": ["args"],
                "properties": {"args": {"type": "object", "minProperties": 1}},
            },
        }
    )

    decision: Decision
    reason: str | None = Field(default=None, max_length=2000, description="Why (for reject).")
    args: dict[str, Any] | None = Field(
        default=None, description="The changed arguments (for edit): a JSON object."
    )

    @model_validator(mode="after")
    def _edit_needs_args(self) -> Self:
        if self.decision == "edit" and not self.args:
            raise ValueError("an edit needs `args`, the changed arguments of the action")
        return self


class DecisionOutcome(BaseModel):
    """The decided approval and what followed: the agents' thread resumed, or, for a request a
    client raised over MCP, the call it held run once (its outcome is on the approval)."""

    approval: Approval
    thread: ChatResult | None = None


@router.get("/approvals", response_model=list[Approval], summary="List approvals")
async def list_approvals(
    request: Request,
    _: Annotated[Principal, needs(P.REPORT_VIEW)],
    status: Annotated[StatusFilter, Query(description="Which approvals.")] = "pending",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[Approval]:
    """Approvals, newest request first (by default the pending ones)."""
    chosen = None if status == "all" else cast(ApprovalStatus, status.upper())
    async with service_of(request).pool.connection() as conn:
        return await queue.list_approvals(conn, status=chosen, limit=limit)


@router.get("/approvals/{approval_id}", response_model=Approval, summary="Read an approval")
async def get_approval(
    request: Request, approval_id: ApprovalId, _: Annotated[Principal, needs(P.REPORT_VIEW)]
) -> Approval:
    async with service_of(request).pool.connection() as conn:
        return await queue.get_approval(conn, approval_id)


def _refuse_decided(found: Approval) -> None:
    if found.status != "PENDING":
        when = f" at {found.decided_at:%Y-%m-%d %H:%M} UTC" if found.decided_at else ""
        raise ConflictError(
            f"approval {found.approval_id} was already decided: {found.status} by "
            f"{found.decided_by or 'unknown'}{when}; nothing was executed again"
        )


@router.post(
    "/approvals/{approval_id}/decision",
    response_model=DecisionOutcome,
    summary="Approve, reject or edit",
)
async def decide(
    request: Request,
    approval_id: ApprovalId,
    body: DecisionRequest,
    who: Annotated[Principal, needs(P.AI_APPROVE)],
) -> DecisionOutcome:
    """Decide a pending approval and resume its thread: the outcome of the rest of the run.
    Deciding an approval that is no longer pending is a 409."""
    service = service_of(request)
    async with service.approval_locks.hold(approval_id):
        async with service.pool.connection() as conn:
            found = await queue.get_approval(conn, approval_id)
        _refuse_decided(found)
        # Who may decide is the request's own: exactly the roles holding its permission.
        permissions.require(
            who.user_id, who.role, permissions.parse_permission(found.permission),
            action=f"deciding approval {approval_id}",
        )  # fmt: skip
        if run_by_service(found.thread_id):
            return await _decide_for_client(service, found, body, who.user_id)
        before = await service.agents.thread(found.thread_id)
        result = await service.agents.decide(
            found.thread_id,
            body.decision,
            reason=body.reason,
            args=dict(body.args) if body.args else None,
            user=who.user_id,
            role=who.role,
        )
        async with service.pool.connection() as conn:
            decided = await queue.get_approval(conn, approval_id)
    if decided.decided_by != who.user_id:  # another process decided it first
        _refuse_decided(decided)
    service.metrics.ran("decide", result, tools_before=len(before.tool_calls))
    return DecisionOutcome(approval=decided, thread=result)


async def _decide_for_client(
    service: Service, found: Approval, body: DecisionRequest, user: str
) -> DecisionOutcome:
    """Record the decision on a client's request and, approved, run the call it held once."""
    plant = Plant(pool=service.pool, location=service.location)
    decided = await decide_client_request(
        plant, found.approval_id, body.decision, user=user, reason=body.reason,
        edited=dict(body.args) if body.args else None,
    )  # fmt: skip
    return DecisionOutcome(approval=decided)
