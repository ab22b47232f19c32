"""The offline model: a deterministic task-oriented dialogue system behind a chat-model interface.

It plays every part of the graph, told which by what it is bound to:

- bound to the supervisor's `route` tool, it reads the turn (`Brain.read`: clauses, intents,
  slots, the conversation so far) and routes it with one task per intent, or answers itself —
  a question back, a choice between two intents, a greeting, a refusal;
- bound to `decide` (a thread waiting for approval), it reads yes or no;
- bound to a specialist's tools (its role is named in the system prompt), it carries out its
  tasks' plans one call at a time and then writes the answer;
- with no tools (the composer), it joins the specialists' answers.

It never invents data: its answers restate tool results. Plant names come from the plant
directory it is given (`directory`); without one it knows IDs by their shape only.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field

from agents.offline import replies
from agents.offline.names import PlantNames
from agents.offline.planner import Outcome, Task, advance, parse_result
from agents.offline.understanding import Brain, Reading, Turn, plain
from agents.report import parse_report
from agents.tasks import TASK_LINE, read_tasks, task_line
from tools.core import clock

ROUTE_TOOL = "route"
DECIDE_TOOL = "decide"
_ROLE = re.compile(r"^Role:\s*(\w+)", re.M)


class Directory(Protocol):
    """Where the plant's names come from (the `titan://directory` resource)."""

    async def names(self) -> PlantNames: ...

    def cached(self) -> PlantNames: ...


def _call_id(*parts: object) -> str:
    digest = hashlib.sha1(json.dumps(parts, default=str).encode()).hexdigest()
    return f"call_{digest[:20]}"


def _text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return "\n".join(p if isinstance(p, str) else str(p.get("text", "")) for p in content)


def _history(messages: Sequence[BaseMessage]) -> tuple[list[Turn], str]:
    """The earlier turns (request, answer) and the request of this turn."""
    turns: list[Turn] = []
    request, answer = None, ""
    for message in messages:
        if isinstance(message, HumanMessage):
            if request is not None:
                turns.append(Turn(request, answer))
            request, answer = _text(message), ""
        elif isinstance(message, AIMessage) and not message.tool_calls:
            answer = _text(message)
    return turns, request or ""


class OfflineChatModel(BaseChatModel):
    """Titan's offline model; deterministic for the same conversation, tools and plant names."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    bound_tools: list[dict[str, Any]] = Field(default_factory=list)
    directory: Any = None

    @property
    def _llm_type(self) -> str:
        return "titan-offline"

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        specs = [convert_to_openai_tool(t)["function"] for t in tools]
        return self.model_copy(update={"bound_tools": specs})

    def with_directory(self, directory: Directory | None) -> OfflineChatModel:
        """This model reading the plant's names from `directory`."""
        return self.model_copy(update={"directory": directory})

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        names = self.directory.cached() if self.directory is not None else PlantNames()
        return ChatResult(generations=[ChatGeneration(message=self.respond(messages, names))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        # Answering in the event loop beats the default hand-off of `_generate` to a thread.
        names = await self.directory.names() if self.directory is not None else PlantNames()
        return ChatResult(generations=[ChatGeneration(message=self.respond(messages, names))])

    # ───────────────────────── the parts it plays ─────────────────────────

    def respond(
        self, messages: Sequence[BaseMessage], names: PlantNames | None = None
    ) -> AIMessage:
        """The reply to `messages` given the bound tools."""
        brain = Brain(names or PlantNames())
        tools = {t["name"]: t.get("parameters", {}) for t in self.bound_tools}
        lowered = {name.lower(): name for name in tools}
        if ROUTE_TOOL in lowered:
            return self._supervise(brain, messages, lowered[ROUTE_TOOL])
        if DECIDE_TOOL in lowered:
            return self._decide(brain, messages, lowered[DECIDE_TOOL])
        if not tools:
            return AIMessage(content=self._compose(messages))
        return self._specialist(brain, messages, tools)

    def _supervise(self, brain: Brain, messages: Sequence[BaseMessage], tool: str) -> AIMessage:
        turns, request = _history([m for m in messages if not isinstance(m, SystemMessage)])
        reading = brain.read(request, turns, now=clock.now())
        if reading.act != "route":
            return AIMessage(content=replies.reply(brain, reading))
        tasks = [
            {"agent": f.intent.agent, "instruction": task_line(f.intent, plain(f.slots), f.clause)}
            for f in reading.frames
        ]
        args = {
            "agents": reading.agents,
            "reason": "; ".join(f"{f.intent.id} for {f.clause!r}" for f in reading.frames)[:500],
            "tasks": tasks,
        }
        return AIMessage(
            content="", tool_calls=[{"name": tool, "args": args, "id": _call_id(request, args)}]
        )

    def _decide(self, brain: Brain, messages: Sequence[BaseMessage], tool: str) -> AIMessage:
        said = next((_text(m) for m in reversed(messages) if isinstance(m, HumanMessage)), "")
        reading = brain.read(said, now=clock.now())
        if reading.act not in ("approve", "reject"):
            # "no, leave it - we'll borrow one from Detroit": the decision leads, the rest is why
            lead = re.split(r"\s[-–—]\s|[,.;:!]", said, maxsplit=1)[0]
            if lead.strip() and lead.strip() != said.strip():
                reading = brain.read(lead, now=clock.now())
        if reading.act not in ("approve", "reject"):
            return AIMessage(content="")
        args: dict[str, Any] = {"decision": reading.act}
        if reading.act == "reject":
            reason = re.sub(
                r"^\s*(?:no|nope|reject(?: it)?|don'?t(?: do (?:it|that))?|stop)\b[,.!:;—-]*\s*",
                "",
                said,
                flags=re.I,
            ).strip()
            args["reason"] = reason or said.strip()
        return AIMessage(
            content="", tool_calls=[{"name": tool, "args": args, "id": _call_id(said, args)}]
        )

    def _specialist(
        self, brain: Brain, messages: Sequence[BaseMessage], tools: dict[str, dict[str, Any]]
    ) -> AIMessage:
        system = "\n".join(_text(m) for m in messages if isinstance(m, SystemMessage))
        role = _ROLE.search(system)
        agent = role.group(1) if role else ""
        humans = [_text(m) for m in messages if isinstance(m, HumanMessage)]
        tasks = [Task(t.intent, t.slots) for t in read_tasks("\n".join(humans)) if t.intent]
        if not tasks:
            tasks = self._own_reading(brain, agent, humans[0] if humans else "")
        notes = "\n".join(h for h in humans[1:] if not h.lstrip().startswith(TASK_LINE))
        outcomes = _outcomes(messages)
        call, progress = advance(
            brain.catalogue,
            tasks,
            outcomes,
            tools,
            notes=brain.mentions(notes, clock.now()) if notes else (),
            names=brain.names,
            mentions_of=lambda text: brain.mentions(text, clock.now()),
        )
        if call is not None:
            call_id = _call_id(agent, humans[:2], len(messages), call.name, call.args)
            return AIMessage(
                content="", tool_calls=[{"name": call.name, "args": call.args, "id": call_id}]
            )
        return AIMessage(content=replies.specialist_answer(brain, agent, progress, notes))

    def _own_reading(self, brain: Brain, agent: str, request: str) -> list[Task]:
        """Tasks from the request itself, when the supervisor gave none (another model routed)."""
        reading: Reading = brain.read(request, now=clock.now())
        return [
            Task(f.intent.id, plain(f.slots)) for f in reading.frames if f.intent.agent == agent
        ]

    def _compose(self, messages: Sequence[BaseMessage]) -> str:
        humans = [_text(m) for m in messages if isinstance(m, HumanMessage)]
        if not humans:
            return ""
        report = parse_report(humans[-1])
        if report is None:
            return humans[-1]
        return replies.compose(report)


def _outcomes(messages: Sequence[BaseMessage]) -> list[Outcome]:
    calls: dict[str, tuple[str, dict[str, Any]]] = {}
    found: list[Outcome] = []
    for message in messages:
        if isinstance(message, AIMessage):
            for call in message.tool_calls:
                calls[call["id"] or ""] = (call["name"], dict(call["args"]))
        elif isinstance(message, ToolMessage):
            name, args = calls.get(message.tool_call_id, (message.name or "", {}))
            text = _text(message)
            ok = message.status != "error"
            found.append(Outcome(name, args, ok, text, parse_result(text) if ok else None))
    return found
