"""`titan approvals`: the requests that wait for a person, and deciding them.

Deciding here is the same decision as the REST API's and the chat's: an agent's request resumes
its thread (the approved call runs there, once); a request an MCP client raised runs the call it
held, once, as the person who asked.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, cast

import typer
from rich.table import Table

from api.cli.runner import console, prepared, run
from tools.approvals import queue
from tools.approvals.queue import Approval
from tools.approvals.requests import ApprovalStatus, Decision

approvals_app = typer.Typer(
    help="Approval requests: list, show, approve and reject them.", no_args_is_help=True
)

out = console()
LOCAL_USER = "cli"
STATUSES = ("pending", "approved", "rejected", "edited", "expired", "all")


@approvals_app.command("list")
def approvals_list(
    status: Annotated[str, typer.Option(help=f"One of: {', '.join(STATUSES)}.")] = "pending",
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
) -> None:
    """List approval requests, newest first (the pending ones by default)."""
    if status not in STATUSES:
        raise typer.BadParameter(f"status is one of {', '.join(STATUSES)}, not {status!r}")
    chosen = None if status == "all" else cast(ApprovalStatus, status.upper())

    async def job() -> list[Approval]:
        async with prepared() as (_, conn):
            return await queue.list_approvals(conn, status=chosen, limit=limit)

    found = run(job)
    if not found:
        out.print(f"No {status} approval requests.")
        return
    table = Table("ID", "status", "action", "why", "decides", "asked at")
    for a in found:
        table.add_row(
            a.approval_id, a.status, a.action, a.reason, f"{a.required_role}+",
            f"{a.requested_at:%Y-%m-%d %H:%M}",
        )  # fmt: skip
    out.print(table)


@approvals_app.command("show")
def approvals_show(approval_id: str) -> None:
    """One request: the call it holds, why, the decision and what the call did."""

    async def job() -> Approval:
        async with prepared() as (_, conn):
            return await queue.get_approval(conn, approval_id)

    out.print_json(run(job).model_dump_json())


def _decide(approval_id: str, kind: str, reason: str | None) -> dict[str, Any]:
    async def job() -> dict[str, Any]:
        async with prepared() as (location, conn):
            found = await queue.get_approval(conn, approval_id)
            from mcp_servers.gate import run_by_service

            if run_by_service(found.thread_id):
                return await _decide_for_client(location.url, found, kind, reason)
        from agents.runtime import open_agents  # the agent stack loads only when it is used

        async with open_agents(location.url) as agents:
            result = await agents.decide(found.thread_id, kind, reason=reason, user=LOCAL_USER)
        return {"thread": result.thread_id, "answer": result.answer}

    return run(job)


async def _decide_for_client(
    url: str, found: Approval, kind: str, reason: str | None
) -> dict[str, Any]:
    from mcp_servers.gate import decide_client_request
    from mcp_servers.runtime import Plant
    from tools.core import db

    pool = db.make_pool(url)
    await db.open_pool(pool)
    try:
        plant = Plant(pool=pool, location=db.DatabaseLocation(url=url, embedded=False))
        decision: Decision = "approve" if kind == "approve" else "reject"
        decided = await decide_client_request(
            plant, found.approval_id, decision, user=None, reason=reason
        )
        return {"approval": decided.approval_id, "status": decided.status,
                "outcome": decided.outcome}  # fmt: skip
    finally:
        await pool.close()


@approvals_app.command("approve")
def approvals_approve(approval_id: str) -> None:
    """Approve a request: the call it holds runs once."""
    out.print_json(json.dumps(_decide(approval_id, "approve", None), default=str))


@approvals_app.command("reject")
def approvals_reject(
    approval_id: str,
    reason: Annotated[str, typer.Option(help="Why (the requester reads it).")],
) -> None:
    """Reject a request: nothing runs."""
    out.print_json(json.dumps(_decide(approval_id, "reject", reason), default=str))
