"""The offline model: a deterministic, rule-based chat model speaking the tool-calling interface.

It plays every part of the graph. Bound to the supervisor's `route` tool it routes by keywords
and entities; bound to a specialist's tools it follows that specialist's playbook, filling
arguments from the request and earlier results; with no tools (the composer) it returns the
report it is given. It never invents data: its answers restate tool results.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

from agents.offline import answers, context, playbooks, routing

ROUTE_TOOL = "route"
# A tool only one specialist's server has tells the offline model which part it plays.
SIGNATURE_TOOLS: tuple[tuple[str, str], ...] = (
    ("detect_anomalies", "maintenance"),
    ("stock_levels", "inventory"),
    ("list_shipments", "logistics"),
    ("send_message", "communications"),
    ("audit_trail", "governance"),
)


def _call_id(*parts: object) -> str:
    digest = hashlib.sha1(json.dumps(parts, default=str).encode()).hexdigest()
    return f"call_{digest[:20]}"


def _last_human(messages: Sequence[BaseMessage]) -> str:
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            return message.text
    return ""


class OfflineChatModel(BaseChatModel):
    """Titan's rule-based model; deterministic for the same conversation and tools."""

    bound_tools: list[dict[str, Any]] = Field(default_factory=list)

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

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self.respond(messages))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        # The rules take well under a millisecond: answering in the event loop beats the
        # default hand-off of `_generate` to a worker thread.
        return ChatResult(generations=[ChatGeneration(message=self.respond(messages))])

    def respond(self, messages: Sequence[BaseMessage]) -> AIMessage:
        """The reply to `messages` given the bound tools."""
        tools = {t["name"]: t.get("parameters", {}) for t in self.bound_tools}
        route_tool = next((name for name in tools if name.lower() == ROUTE_TOOL), None)
        if route_tool is not None:
            return self._route(messages, route_tool)
        if not tools:
            return AIMessage(content=_last_human(messages))
        agent = next((a for tool, a in SIGNATURE_TOOLS if tool in tools), "scheduler")
        return self._specialist(agent, messages, tools)

    def _route(self, messages: Sequence[BaseMessage], tool: str) -> AIMessage:
        request = _last_human(messages)
        agents = routing.route(request)
        if not agents:
            return AIMessage(content=answers.refusal(request))
        call = {"agents": agents, "reason": f"the request needs {', '.join(agents)}"}
        return AIMessage(
            content="",
            tool_calls=[{"name": tool, "args": call, "id": _call_id(request, agents)}],
        )

    def _specialist(
        self, agent: str, messages: Sequence[BaseMessage], tools: dict[str, dict[str, Any]]
    ) -> AIMessage:
        ctx = context.read(messages, tools)
        step = playbooks.next_call(agent, ctx)
        if step is None:
            return AIMessage(content=answers.specialist_answer(agent, ctx))
        name, args = step
        call_id = _call_id(agent, ctx.request, len(messages), name, args)
        return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": call_id}])
