"""The team's report on a request: what was found, what was done, what waits for approval."""

from __future__ import annotations

import json
from typing import Any

from agents.state import ActionRecord, PendingApproval, TitanState


def short_args(args: dict[str, Any], limit: int = 160) -> str:
    shown = ", ".join(f"{k}={v}" for k, v in args.items() if k != "idempotency_key")
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def ids_in(result: str) -> str:
    """The IDs and status a tool result names, e.g. 'work_order_id WO-1, status OPEN'."""
    try:
        data = json.loads(result)
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    facts = [
        f"{k} {v}"
        for k, v in data.items()
        if isinstance(v, str | int) and (k.endswith("_id") or k == "status")
    ]
    return ", ".join(facts[:5])


def _action_line(action: ActionRecord) -> str:
    call = f"{action['name']}({short_args(action['args'])}) by {action['agent']}"
    if action["status"] == "done":
        facts = ids_in(action["summary"])
        return f"- {call}" + (f": {facts}" if facts else "")
    return f"- {call}: {action['summary']}"


def pending_line(pending: PendingApproval) -> str:
    return (
        f"- {pending['action']}({short_args(pending['args'])}) proposed by {pending['agent']}"
        f" — approval {pending['approval_id']}, because {pending['reason']}"
    )


def report(state: TitanState) -> str:
    """The report as text, in sections; empty sections are left out."""
    sections: list[str] = []
    findings = state.get("findings") or []
    if findings:
        sections.append("Found:\n" + "\n".join(f"- {f['agent']}: {f['summary']}" for f in findings))
    actions = state.get("actions") or []
    done = [a for a in actions if a["status"] == "done"]
    not_done = [a for a in actions if a["status"] != "done"]
    if done:
        sections.append("Done:\n" + "\n".join(_action_line(a) for a in done))
    if not_done:
        sections.append("Not done:\n" + "\n".join(_action_line(a) for a in not_done))
    pending = state.get("pending_approval")
    if pending:
        sections.append("Waiting for approval:\n" + pending_line(pending))
    if not sections:
        return "The team found nothing to report for this request."
    return "\n\n".join(sections)
