"""The agent team as a service: ask, decide on approvals, list and read threads.

`open_agents` opens the plant pool, one MCP session per domain server, the model and the
Postgres checkpointer, in the calling task, and closes them there. Resumes are serialised per
thread (in this process with a lock, across processes with an advisory lock) and check for a
pending interrupt first, so a decision sent twice executes the approved call once.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal, cast

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.types import Command
from pydantic import BaseModel

from agents import approvals
from agents.checkpoints import open_checkpointer, prepare_checkpointer
from agents.decisions import Decide, read_decision
from agents.graph import Graph, build_graph
from agents.mcp_tools import open_toolbox
from agents.models import make_model
from agents.report import waiting_answer
from agents.state import Decision, TitanState, fresh_request
from agents.thread_locks import ThreadLocks
from mcp_servers.runtime import Plant
from tools.accounts import accounts, permissions, threads
from tools.accounts.permissions import Holder
from tools.approvals import requests
from tools.core import db
from tools.core.errors import ConflictError, NotFoundError, ValidationError
from tools.core.operations import SYSTEM

RUN_LIMIT = 100  # graph steps per run: far above what a bounded request needs


class ToolCallView(BaseModel):
    agent: str
    name: str
    args: dict[str, Any]
    ok: bool


class ApprovalRequest(BaseModel):
    """What waits for a person: the Agent Inbox request plus Titan's approval row fields."""

    approval_id: str
    agent: str
    action: str
    args: dict[str, Any]
    description: str
    reason: str
    impact: dict[str, Any]
    required_role: str
    permission: str = "ai.approve"


class ChatResult(BaseModel):
    """One request's outcome, or a thread's state after a decision."""

    thread_id: str
    answer: str
    route: list[str]
    tool_calls: list[ToolCallView]
    approval: ApprovalRequest | None
    actions: list[dict[str, Any]]


class ThreadSummary(BaseModel):
    thread_id: str
    request: str
    waiting_for_approval: bool


def _config(thread_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id}, "recursion_limit": RUN_LIMIT}


class RunStep(BaseModel):
    """One step of a run as it happens: an agent starting, or a tool call made."""

    kind: Literal["agent", "tool_call"]
    agent: str
    tool: ToolCallView | None = None


def result_of(thread_id: str, values: TitanState) -> ChatResult:
    """The ChatResult a thread's state shows."""
    pending = values.get("pending_approval")
    answer = values.get("answer") or ""
    if pending is not None:
        answer = waiting_answer(values, pending)
    calls = [
        ToolCallView(agent=c["agent"], name=c["name"], args=c["args"], ok=c["ok"])
        for c in values.get("tool_calls") or []
    ]
    approval = ApprovalRequest.model_validate(pending) if pending else None
    return ChatResult(
        thread_id=thread_id,
        answer=answer,
        route=list(values.get("route") or []),
        tool_calls=calls,
        approval=approval,
        actions=[dict(a) for a in values.get("actions") or []],
    )


class Agents:
    """The open agent team."""

    def __init__(
        self,
        graph: Graph,
        plant: Plant,
        locks: ThreadLocks | None = None,
        *,
        model: BaseChatModel | None = None,
    ) -> None:
        self.graph = graph
        self.plant = plant
        self.locks = locks or ThreadLocks(None)
        self.model = model

    async def _admit(self, thread_id: str, *, user: str, role: Holder | None, start: bool) -> None:
        """Refuse `user` a thread someone else started unless the role holds thread.view_all;
        with `start`, a thread not yet owned becomes the user's. A local caller (no role: the
        terminal, an evaluation) is the process's own and passes."""
        if role is None:
            return
        async with self.plant.pool.connection() as conn:
            if start:
                owner = await threads.claim(conn, thread_id, user, system=role == "automation")
            else:
                owner = await threads.owner_of(conn, thread_id)
        if owner is not None and owner != user:
            permissions.require(
                user, role, permissions.Permission.THREAD_VIEW_ALL,
                action=f"thread {thread_id}, which {owner} started,",
            )  # fmt: skip

    async def _values(self, thread_id: str) -> tuple[TitanState, bool]:
        snapshot = await self.graph.aget_state(_config(thread_id))
        values: TitanState = snapshot.values or {}  # type: ignore[assignment]
        return values, bool(snapshot.interrupts)

    async def ask(
        self,
        message: str,
        thread_id: str | None = None,
        *,
        user: str = "local",
        role: Holder | None = None,
        new_only: bool = False,
        fresh: bool = False,
    ) -> ChatResult:
        """Run one request on a thread (a new one when `thread_id` is None).

        With `new_only`, a thread that exists already is returned as it stands, unchanged.
        An operator's run makes no write that a person with a higher role has not approved.
        """
        result: ChatResult | None = None
        steps = self.ask_steps(
            message, thread_id, user=user, role=role, new_only=new_only, fresh=fresh
        )
        async for step in steps:
            if isinstance(step, ChatResult):
                result = step
        assert result is not None
        return result

    async def ask_steps(  # noqa: C901 - the decision, replay and run paths of one turn
        self,
        message: str,
        thread_id: str | None = None,
        *,
        user: str = "local",
        role: Holder | None = None,
        new_only: bool = False,
        fresh: bool = False,
    ) -> AsyncIterator[RunStep | ChatResult]:
        """`ask`, step by step as the graph runs: each agent as it starts, each tool call as it
        is made, and last the ChatResult. `fresh`: the caller has just made `thread_id` with
        `new_thread_id()` and shown it to no one else."""
        if not message.strip():
            raise ValidationError("the request is empty; ask a question or give an instruction")
        if thread_id is None:
            thread_id, fresh = new_thread_id(), True
        await self._admit(thread_id, user=user, role=role, start=True)
        said: Decide | None = None
        async with self.locks.hold(thread_id, fresh=fresh):
            values, waiting = ({}, False) if fresh else await self._values(thread_id)
            if new_only and values:
                yield result_of(thread_id, values)
                return
            pending = values.get("pending_approval")
            if waiting and pending:
                said = await read_decision(self.model, pending, message) if self.model else None
                if said is None:
                    raise ConflictError(
                        f"thread {thread_id} waits for a decision on approval "
                        f"{pending['approval_id']}; approve, reject or edit it first (in the "
                        "chat: “approve it”, or “no” with the reason)"
                    )
        if said is not None:
            # "approve it" in the chat is the same decision as the approvals API's, by the
            # person asking, under their role (a local caller without one decides as admin).
            yield await self.decide(
                thread_id, said.decision, reason=said.reason, user=user, role=role or "admin"
            )
            return
        async with self.locks.hold(thread_id, fresh=fresh):
            start: TitanState = {
                "messages": [HumanMessage(content=message)],
                **fresh_request(message, values.get("turn", 0) + 1),
            }
            config = _config(thread_id)
            config["metadata"] = {"user": user, "role": role}
            agent, calls = "", 0
            final: TitanState = values
            async for item in self.graph.astream(
                start, config, stream_mode=["updates", "values"], durability="exit"
            ):
                mode, chunk = cast(tuple[str, Any], item)
                if mode == "values":
                    final = chunk  # the state after each step: the last one is the outcome
                    continue
                for delta in chunk.values():
                    if not isinstance(delta, dict):
                        continue
                    if delta.get("agent") and delta["agent"] != agent:
                        agent = str(delta["agent"])
                        yield RunStep(kind="agent", agent=agent)
                    made = delta.get("tool_calls") or []
                    for call in made[calls:]:
                        yield RunStep(
                            kind="tool_call",
                            agent=call["agent"],
                            tool=ToolCallView(
                                agent=call["agent"], name=call["name"], args=call["args"],
                                ok=call["ok"],
                            ),
                        )  # fmt: skip
                    calls = max(calls, len(made))
        yield result_of(thread_id, final)

    async def decide(
        self,
        thread_id: str,
        decision: str,
        *,
        reason: str | None = None,
        args: dict[str, Any] | None = None,
        user: str,
        role: Holder = "supervisor",
    ) -> ChatResult:
        """Approve, reject (with a reason) or edit (with new arguments) the pending approval.

        On a thread with nothing pending this changes nothing and returns the thread as it is.
        """
        chosen = _decision(decision, reason=reason, args=args, user=user)
        async with self.locks.hold(thread_id):
            values, waiting = await self._values(thread_id)
            if not values:
                raise NotFoundError(f"thread {thread_id} not found; start one with a request")
            pending = values.get("pending_approval")
            if not waiting or pending is None:
                return result_of(thread_id, values)
            permissions.require(
                user, role, permissions.parse_permission(pending.get("permission", "ai.approve")),
                action=f"deciding approval {pending['approval_id']}",
            )  # fmt: skip
            async with self.plant.pool.connection() as conn:
                await accounts.ensure_user(conn, SYSTEM, user, role=accounts.parse_role(role))
                if not await approvals.mark_decided(conn, pending["approval_id"], chosen):
                    row = await approvals.get_row(conn, pending["approval_id"])
                    chosen = approvals.decision_from_row(row) if row else chosen
            values = await self._resume(thread_id, pending["approval_id"], chosen)
        return result_of(thread_id, values)

    async def settle(self, thread_id: str, approval_id: str) -> bool:
        """Carry out a decision whose decider died before the thread took it: resume the thread
        if it still waits on `approval_id`, with the decision recorded on it; the decision is
        settled either way. True when the thread resumed."""
        async with self.locks.hold(thread_id):
            values, waiting = await self._values(thread_id)
            pending = values.get("pending_approval") if values else None
            async with self.plant.pool.connection() as conn:
                row = await approvals.get_row(conn, approval_id)
            if not (waiting and pending and pending["approval_id"] == approval_id and row):
                async with self.plant.pool.connection() as conn:
                    await requests.settle(conn, approval_id)
                return False
            await self._resume(thread_id, approval_id, approvals.decision_from_row(row))
        return True

    async def _resume(self, thread_id: str, approval_id: str, chosen: Decision) -> TitanState:
        """Resume the thread with the decision on `approval_id`, settle it, and return the
        thread's values after the run. (Hold the thread's lock.)"""
        # The resumed run goes on for the person who asked, under their role: an approval
        # covers the approved call, not what the run does after it.
        config = _config(thread_id)
        asked = (await self.graph.aget_state(config)).metadata or {}
        config["metadata"] = {"user": asked.get("user"), "role": asked.get("role")}
        await self.graph.ainvoke(Command(resume=chosen), config, durability="exit")
        async with self.plant.pool.connection() as conn:
            await requests.settle(conn, approval_id)
        values, _ = await self._values(thread_id)
        return values

    async def thread(
        self, thread_id: str, *, user: str = "local", role: Holder | None = None
    ) -> ChatResult:
        """The thread's latest state (for `user` under `role`: only one's own thread, unless
        the role holds thread.view_all)."""
        await self._admit(thread_id, user=user, role=role, start=False)
        values, _ = await self._values(thread_id)
        if not values:
            raise NotFoundError(f"thread {thread_id} not found")
        return result_of(thread_id, values)

    async def threads(
        self, *, limit: int = 50, user: str = "local", role: Holder | None = None
    ) -> list[ThreadSummary]:
        """Threads, most recently active first (for `user` under `role`: the user's own,
        unless the role holds thread.view_all)."""
        everyone = role is None or permissions.holds(role, permissions.Permission.THREAD_VIEW_ALL)
        async with self.plant.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "select c.thread_id from checkpoints c where c.checkpoint_ns = '' "
                "and (%(everyone)s or c.thread_id in "
                "     (select thread_id from thread_owners where user_id = %(user)s)) "
                "group by c.thread_id order by max(c.checkpoint_id) desc limit %(limit)s",
                {"limit": limit, "everyone": everyone, "user": user},
            )
            ids = [row["thread_id"] for row in await cur.fetchall()]
        found: list[ThreadSummary] = []
        for thread_id in ids:
            values, waiting = await self._values(thread_id)
            found.append(
                ThreadSummary(
                    thread_id=thread_id,
                    request=values.get("request", ""),
                    waiting_for_approval=waiting,
                )
            )
        return found


def new_thread_id() -> str:
    """A new thread's ID."""
    return f"chat-{uuid.uuid4().hex[:12]}"


def _decision(kind: str, *, reason: str | None, args: dict[str, Any] | None, user: str) -> Decision:
    if kind == "approve":
        return {"type": "approve", "user": user}
    if kind == "reject":
        return {"type": "reject", "reason": reason or "no reason given", "user": user}
    if kind == "edit":
        if not args:
            raise ValidationError("an edit needs the changed arguments")
        return {"type": "edit", "args": args, "user": user}
    raise ValidationError(f"decision {kind!r} is not one of approve, reject, edit")


@asynccontextmanager
async def open_agents(url: str, *, model: BaseChatModel | None = None) -> AsyncIterator[Agents]:
    """The agent team over the (migrated) database at `url`, with `model` (default: the
    configured one)."""
    await prepare_checkpointer(url)
    pool = db.make_pool(url)
    await db.open_pool(pool)
    plant = Plant(pool=pool, location=db.DatabaseLocation(url=url, embedded=False))
    locks = ThreadLocks(url)
    await locks.open()
    try:
        async with open_toolbox(plant) as box, open_checkpointer(url) as saver:
            chosen = model or make_model()
            graph = build_graph(box, chosen, pool=pool, checkpointer=saver)
            yield Agents(graph, plant, locks, model=box.with_directory(chosen))
    finally:
        await locks.close()
        await pool.close()
