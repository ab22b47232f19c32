"""The team's report on a request: what each specialist found, what was done, what was not, and
what waits for approval — for the composer to answer from, and for people while a run waits.

The report is sections headed `## <agent>`, `## Done`, `## Not done` and `## Waiting for
approval`; `parse_report` reads it back (the offline composer answers from it).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from agents.actions import describe_call
from agents.state import AGENTS, ActionRecord, PendingApproval, TitanState

DONE, NOT_DONE, WAITING = "Done", "Not done", "Waiting for approval"
_HEAD = re.compile(r"^## (.+)$", re.M)


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
    call = describe_call(action["name"], action["args"])
    if action["status"] == "done":
        facts = ids_in(action["summary"])
        return f"- {call} ({action['agent']})" + (f": {facts}" if facts else "")
    return f"- {call} ({action['agent']}): {action['summary']}"


def pending_line(pending: PendingApproval) -> str:
    return (
        f"- {describe_call(pending['action'], pending['args'])} — proposed by {pending['agent']}, "
        f"approval {pending['approval_id']}, because {pending['reason']}"
    )


def report(state: TitanState) -> str:
    """The report as text, in sections; empty sections are left out."""
    sections: list[str] = []
    for finding in state.get("findings") or []:
        sections.append(f"## {finding['agent']}\n{finding['summary'].strip()}")
    actions = state.get("actions") or []
    done = [a for a in actions if a["status"] == "done"]
    not_done = [a for a in actions if a["status"] != "done"]
    if done:
        sections.append(f"## {DONE}\n" + "\n".join(_action_line(a) for a in done))
    if not_done:
        sections.append(f"## {NOT_DONE}\n" + "\n".join(_action_line(a) for a in not_done))
    pending = state.get("pending_approval")
    if pending:
        sections.append(f"## {WAITING}\n" + pending_line(pending))
    if not sections:
        return "The team found nothing to report for this request."
    return "\n\n".join(sections)


@dataclass
class Report:
    """A report read back: each specialist's answer, in order, and the other sections."""

    findings: list[tuple[str, str]] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    not_done: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)


def parse_report(text: str) -> Report | None:
    """The sections of a `report()` text, or None when `text` is not one."""
    heads = list(_HEAD.finditer(text))
    if not heads:
        return None
    found = Report()
    for i, head in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        body = text[head.end() : end].strip()
        name = head.group(1).strip()
        lines = [ln[2:] for ln in body.splitlines() if ln.startswith("- ")]
        if name == DONE:
            found.done = lines
        elif name == NOT_DONE:
            found.not_done = lines
        elif name == WAITING:
            found.waiting = lines
        elif name in AGENTS:
            found.findings.append((name, body))
        else:
            return None
    return found


def waiting_answer(state: TitanState, pending: PendingApproval) -> str:
    """What a person reads while a run waits for their approval: what was found so far, and
    what waits, with the text that would go out when it is a message."""
    parts = [f["summary"].strip() for f in state.get("findings") or [] if f["summary"].strip()]
    action = describe_call(pending["action"], pending["args"])
    line = (
        f"Waiting for approval: {action}. It needs a person because {pending['reason']} "
        f"(approval {pending['approval_id']}; approve or reject it — in this chat, say "
        "“approve it” or “no, because …”)."
    )
    body = pending["args"].get("body") or pending["args"].get("response")
    if isinstance(body, str) and body.strip():
        line += "\n\nThe text that would go out:\n\n> " + body.strip().replace("\n", "\n> ")
    parts.append(line)
    return "\n\n".join(parts)
