"""Keeping the approval queue true to the plant: a pending request whose entity has moved on
(the order was cancelled meanwhile, the work order started, the schedule was applied) is
withdrawn with the reason, so no one approves what can no longer happen."""

from __future__ import annotations

from typing import Any

from tools.approvals import policy, queue, requests
from tools.core.db import AsyncConn
from tools.core.operations import Actor
from tools.core.settings import Settings


async def withdraw_stale(
    conn: AsyncConn, actor: Actor, settings: Settings, *, limit: int = 500
) -> list[dict[str, Any]]:
    """Withdraw every pending request (oldest first, at most `limit`) that no longer applies;
    the withdrawn rows (ID, thread, action), for whoever waits on them to learn it."""
    withdrawn = []
    for pending in await queue.open_approvals(conn, limit=limit):
        args = requests.approved_arguments(pending.model_dump())
        reason = await policy.moved_on(conn, pending.action, args, settings)
        if reason is None:
            continue
        row = await requests.withdraw_request(conn, actor, pending.approval_id, reason=reason)
        if row is not None:
            withdrawn.append(row)
    return withdrawn
