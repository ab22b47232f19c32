"""The graph's state: messages, the route taken, tool calls, actions, the pending approval."""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages

from agents.roster import AGENTS as AGENTS
from agents.roster import Agent as Agent
from tools.approvals.requests import Decision as DecisionKind


class ToolCallRecord(TypedDict):
    """One tool call a specialist made (or was stopped from making), and its outcome."""

    agent: str
    name: str
    args: dict[str, Any]
    ok: bool
    result: str
    approval_id: str | None


class ActionRecord(TypedDict):
    """A write: done, failed, or rejected by a person."""

    agent: str
    name: str
    args: dict[str, Any]
    status: Literal["done", "failed", "rejected"]
    summary: str
    approval_id: str | None


class Finding(TypedDict):
    agent: str
    summary: str


class PendingApproval(TypedDict):
    """A tool call waiting for a person: what, why, and what it would change."""

    approval_id: str
    agent: str
    action: str
    args: dict[str, Any]
    tool_call_id: str
    description: str
    reason: str
    impact: dict[str, Any]
    required_role: str
    # The permission deciding it needs (threads checkpointed before it was kept lack it).
    permission: NotRequired[str]


class Decision(TypedDict):
    """A person's answer to an approval request."""

    type: DecisionKind
    args: NotRequired[dict[str, Any] | None]
    reason: NotRequired[str | None]
    user: NotRequired[str | None]


class TitanState(TypedDict, total=False):
    """Everything a thread keeps; per-request fields are reset when a request starts."""

    messages: Annotated[list[AnyMessage], add_messages]
    request: str
    turn: int
    plan: list[str] | None
    tasks: dict[str, list[str]]
    route: list[str]
    agent: str
    steps: int
    scratch: list[AnyMessage]
    tool_calls: list[ToolCallRecord]
    actions: list[ActionRecord]
    findings: list[Finding]
    pending_approval: PendingApproval | None
    decisions: dict[str, Decision]
    answer: str


def fresh_request(message: str, turn: int) -> TitanState:
    """The per-request fields of a new request `message`, the thread's turn `turn`."""
    return {
        "request": message,
        "turn": turn,
        "plan": None,
        "tasks": {},
        "route": [],
        "agent": "",
        "steps": 0,
        "scratch": [],
        "tool_calls": [],
        "actions": [],
        "findings": [],
        "pending_approval": None,
        "decisions": {},
        "answer": "",
    }
