"""The specialists' loop: model → tools (through the approval gate) → model, bounded in steps."""

from __future__ import annotations

import copy
import json
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, SystemMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.types import Command, interrupt
from psycopg_pool import AsyncConnectionPool

from agents import approvals
from agents.mcp_tools import Toolbox, acting_for
from agents.models import LANGUAGE_MODEL_RESULT_CHARS
from agents.prompts import load_prompt
from agents.state import (
    ActionRecord,
    Decision,
    PendingApproval,
    TitanState,
    ToolCallRecord,
)
from mcp_servers.runtime import Caller
from tools.accounts.permissions import HOLDERS, Holder
from tools.core.db import AsyncConn

MAX_STEPS = 8
RESULT_CHARS = LANGUAGE_MODEL_RESULT_CHARS


def thread_of(config: RunnableConfig, prefix: str = "") -> str:
    """The run's thread as Titan records it (`prefix`: a thread of another server's, such as
    LangGraph's own, which Titan's approvals decide without resuming it)."""
    return prefix + str((config.get("configurable") or {}).get("thread_id", "no-thread"))


def make_specialist(agent: str, model: BaseChatModel, tools: list[BaseTool]):  # type: ignore[no-untyped-def]
    bound = model.bind_tools(tools) if tools else model
    # Each specialist is told its role, not left to guess it from its tools.
    prompt = f"Role: {agent}\n\n{load_prompt(agent)}"

    async def specialist(state: TitanState) -> Command[Literal["tools", "supervisor"]]:
        scratch = list(state.get("scratch") or [])
        steps = state.get("steps", 0)
        if steps >= MAX_STEPS:
            return _finish(state, agent, f"I stopped after {MAX_STEPS} steps without finishing.")
        reply = await bound.ainvoke([SystemMessage(content=prompt), *scratch])
        assert isinstance(reply, AIMessage)
        if reply.tool_calls:
            return Command(goto="tools", update={"scratch": [*scratch, reply], "steps": steps + 1})
        return _finish(state, agent, reply.text or "Nothing to report.")

    specialist.__name__ = agent
    return specialist


def _finish(state: TitanState, agent: str, summary: str) -> Command[Literal["tools", "supervisor"]]:
    findings = [*(state.get("findings") or []), {"agent": agent, "summary": summary}]
    message = AIMessage(content=summary, name=agent)
    return Command(goto="supervisor", update={"findings": findings, "messages": [message]})


def _content(message: ToolMessage, limit: int = RESULT_CHARS) -> str:
    artifact = message.artifact
    if isinstance(artifact, dict) and artifact.get("structured_content") is not None:
        return fit(artifact["structured_content"], limit)
    text = message.text
    return text if len(text) <= limit else text[:limit] + " …(cut)"


_MORE = "…"


def fit(data: Any, limit: int) -> str:
    """`data` as JSON of at most about `limit` characters that is still JSON: the longest lists
    are cut (the first items kept, a note of how many were left out) and long strings
    shortened, so that a model reads a valid, smaller result rather than a broken one."""
    text = json.dumps(data, default=str)
    if len(text) > limit:
        data = copy.deepcopy(data)  # shrunk in place below; the tool's result stays whole
    for _ in range(60):
        if len(text) <= limit:
            return text
        data, changed = _shrink(data)
        if not changed:
            break
        text = json.dumps(data, default=str)
    return text[:limit] + " …(cut)"


def _shrink(data: Any) -> tuple[Any, bool]:  # noqa: C901 - three ways to shrink, in order
    """`data` a step smaller: its biggest list halved (nested lists before the top one, so a
    list of machines keeps its machines and loses their detail first), else long strings cut,
    else the biggest nested value left out."""
    lists: list[tuple[int, list[Any]]] = []
    values: list[tuple[int, dict[str, Any], str]] = []

    def walk(value: Any, depth: int) -> None:
        if isinstance(value, list):
            items = len(value) - (1 if value and _is_note(value[-1]) else 0)
            if items > 2:
                lists.append((len(json.dumps(value, default=str)) * (1 + depth), value))
            for item in value:
                walk(item, depth + 1)
        elif isinstance(value, dict):
            for key, item in value.items():
                if depth >= 2 and isinstance(item, dict | list):
                    values.append((len(json.dumps(item, default=str)), value, key))
                walk(item, depth + 1)

    walk(data, 0)
    if lists:
        _, biggest = max(lists, key=lambda p: p[0])
        earlier = int(biggest.pop().split()[1]) if _is_note(biggest[-1]) else 0
        keep = max(2, len(biggest) // 2)
        dropped = earlier + len(biggest) - keep
        del biggest[keep:]
        biggest.append(f"{_MORE} {dropped} more not shown")
        return data, True

    def cut(value: Any) -> Any:
        if isinstance(value, str) and len(value) > 200:
            return value[:200] + "…"
        if isinstance(value, list):
            return [cut(v) for v in value]
        if isinstance(value, dict):
            return {k: cut(v) for k, v in value.items()}
        return value

    smaller = cut(data)
    if smaller != data:
        return smaller, True
    if values:
        _, holder, key = max(values, key=lambda v: v[0])
        holder[key] = f"{_MORE} left out"
        return data, True
    return data, False


def _is_note(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(_MORE)


class ToolRunner:
    """Runs the latest tool calls of the current specialist, stopping at the approval gate."""

    def __init__(
        self, box: Toolbox, *, result_chars: int = RESULT_CHARS, thread_prefix: str = ""
    ) -> None:
        self.box = box
        self.result_chars = result_chars
        self.thread_prefix = thread_prefix

    async def __call__(self, state: TitanState, config: RunnableConfig) -> Command[Any]:
        agent = state.get("agent", "")
        scratch: list[AnyMessage] = list(state.get("scratch") or [])
        last = next(m for m in reversed(scratch) if isinstance(m, AIMessage))
        answered = {m.tool_call_id for m in scratch if isinstance(m, ToolMessage)}
        calls = list(state.get("tool_calls") or [])
        actions = list(state.get("actions") or [])
        decisions = dict(state.get("decisions") or {})
        thread, turn = thread_of(config, self.thread_prefix), state.get("turn", 0)
        for call in last.tool_calls:
            call_id = call["id"] or call["name"]
            if call_id in answered:
                continue
            args: dict[str, Any] = dict(call["args"])
            repeated = _done_before(actions, call["name"], args)
            if repeated is not None:
                # A model that makes the same write twice gets the first one's outcome.
                text = f"Already done in this request: {repeated['summary'][:500]}"
                scratch.append(ToolMessage(content=text, tool_call_id=call_id, name=call["name"]))
                calls.append(_record(agent, call["name"], args, True, text, None))
                continue
            key = approvals.approval_id(thread, turn, call_id)
            decision = decisions.get(key)
            approval: str | None = None
            if decision is not None:
                approval = key
                if decision["type"] == "reject":
                    reason = decision.get("reason") or "no reason given"
                    text = (
                        f"Not done: {call['name']} waited for approval and {reason}"
                        if reason.startswith(("the request expired", "the request was withdrawn"))
                        else f"Not done: {decision.get('user') or 'a person'} rejected "
                        f"{call['name']}: {reason}"
                    )
                    scratch.append(
                        ToolMessage(
                            content=text, tool_call_id=call_id, name=call["name"], status="error"
                        )
                    )
                    calls.append(_record(agent, call["name"], args, False, text, approval))
                    actions.append(_action(agent, call["name"], args, "rejected", text, approval))
                    continue
                if decision["type"] == "edit":
                    args = {**args, **(decision.get("args") or {})}
            caller = Caller(
                user_id=_user_of(config),
                thread_id=thread,
                approval_id=approval,
                request_id=key,
                agent=agent,
                role=_role_of(config),
            )
            with acting_for(caller) as held:
                message = await self._run(agent, call["name"], args, call_id, key)
            if held and approval is None and not held[0].get("reused"):
                # The gate holds the write for a person: it raised the request; wait for it.
                # (A request raised earlier elsewhere for the same action and entity is not
                # this thread's to wait on: the tool's answer says it waits, and the run goes on.)
                waiting = held[0]
                pending: PendingApproval = {
                    "approval_id": str(waiting.get("approval_id") or key),
                    "agent": agent,
                    "action": call["name"],
                    "args": args,
                    "tool_call_id": call_id,
                    "description": "",
                    "reason": str(waiting.get("reason", "")),
                    "impact": dict(waiting.get("impact") or {}),
                    "required_role": str(waiting.get("required_role", "supervisor")),
                    "permission": str(waiting.get("permission", "ai.approve")),
                }
                pending["description"] = approvals.describe(pending)
                update = {
                    "scratch": scratch,
                    "tool_calls": calls,
                    "actions": actions,
                    "pending_approval": pending,
                }
                return Command(goto="approval", update=update)
            ok, text = message.status != "error", _content(message, self.result_chars)
            if held and held[0].get("reused"):
                waiting = held[0]
                roles = ", ".join(waiting.get("deciders") or []) or "a person"
                text = (
                    f"Already waiting: request {waiting.get('approval_id')}, raised earlier, asks "
                    f"for this; {roles} may decide it ({waiting.get('permission')}). Nothing "
                    "was done yet"
                )
            scratch.append(
                ToolMessage(
                    content=text,
                    tool_call_id=call_id,
                    name=call["name"],
                    status="success" if ok else "error",
                )
            )
            calls.append(_record(agent, call["name"], args, ok, text, approval))
            if call["name"] in self.box.write_tools:
                status: Literal["done", "failed"] = "done" if ok else "failed"
                actions.append(_action(agent, call["name"], args, status, text, approval))
        update = {"scratch": scratch, "tool_calls": calls, "actions": actions}
        return Command(goto=agent, update=update)

    async def _run(
        self, agent: str, name: str, args: dict[str, Any], call_id: str, key: str
    ) -> ToolMessage:
        tool = next((t for t in self.box.by_agent.get(agent, []) if t.name == name), None)
        if tool is None:
            allowed = ", ".join(self.box.names(agent)) or "none"
            return ToolMessage(
                content=f"{name} is not one of the {agent} tools ({allowed})",
                tool_call_id=call_id,
                name=name,
                status="error",
            )
        schema = tool.args_schema if isinstance(tool.args_schema, dict) else {}
        if "idempotency_key" in schema.get("properties", {}) and name in self.box.write_tools:
            args = {**args, "idempotency_key": key}
        result = await tool.ainvoke(
            {"type": "tool_call", "name": name, "args": args, "id": call_id}
        )
        assert isinstance(result, ToolMessage)
        return result


def _done_before(
    actions: list[ActionRecord], name: str, args: dict[str, Any]
) -> ActionRecord | None:
    """The write with these arguments this request already made, if any."""
    for action in actions:
        if action["status"] == "done" and action["name"] == name and action["args"] == args:
            return action
    return None


def _record(
    agent: str, name: str, args: dict[str, Any], ok: bool, text: str, approval: str | None
) -> ToolCallRecord:
    return {
        "agent": agent,
        "name": name,
        "args": args,
        "ok": ok,
        "result": text,
        "approval_id": approval,
    }


def _user_of(config: RunnableConfig) -> str:
    """The person the run is for (the chat's user; `local` for runs started in-process)."""
    user = (config.get("metadata") or {}).get("user")
    return str(user) if user else "local"


def _role_of(config: RunnableConfig) -> Holder | None:
    """The role the run is made under: the person's, or `automation` for a run nobody started
    (None: a local caller's, trusted as the process's own)."""
    role = (config.get("metadata") or {}).get("role")
    return role if role in HOLDERS else None


def _action(
    agent: str,
    name: str,
    args: dict[str, Any],
    status: Literal["done", "failed", "rejected"],
    text: str,
    approval: str | None,
) -> ActionRecord:
    # A done action keeps its whole result (the report reads its IDs); the others a sentence.
    summary = text if status == "done" else text[:1000]
    return {
        "agent": agent,
        "name": name,
        "args": args,
        "status": status,
        "summary": summary,
        "approval_id": approval,
    }


def make_approval(pool: AsyncConnectionPool[AsyncConn], *, thread_prefix: str = ""):  # type: ignore[no-untyped-def]
    """The approval gate: write the request row, pause, and record the decision on resume.

    It re-runs from its top when resumed, so everything before `interrupt()` is idempotent (the
    row's ID comes from the thread and the tool call) and nothing here calls a model or a tool.
    """

    async def approval(state: TitanState, config: RunnableConfig) -> Command[Literal["tools"]]:
        pending = state.get("pending_approval")
        if pending is None:
            return Command(goto="tools")
        async with pool.connection() as conn:
            await approvals.write_request(
                conn, pending, thread_id=thread_of(config, thread_prefix), asked_by=_user_of(config)
            )
        answer = interrupt(approvals.human_interrupt(pending))
        decision: Decision = approvals.parse_decision(answer)
        async with pool.connection() as conn:
            row = await approvals.get_row(conn, pending["approval_id"])
            if row is not None and row["status"] != "PENDING":
                decision = approvals.decision_from_row(row)
            else:
                if decision.get("user") and not await _known_user(conn, decision.get("user")):
                    decision = {**decision, "user": None}
                await approvals.mark_decided(conn, pending["approval_id"], decision)
        decisions = {**(state.get("decisions") or {}), pending["approval_id"]: decision}
        return Command(goto="tools", update={"decisions": decisions, "pending_approval": None})

    return approval


async def _known_user(conn: AsyncConn, user: str | None) -> bool:
    async with conn.transaction():
        cur = await conn.execute("select 1 from users where user_id = %(u)s", {"u": user})
        return await cur.fetchone() is not None
