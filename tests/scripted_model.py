"""A scripted chat model: it stands in for a language model (a misbehaving or a malicious one)
in tests that drive the real graph, the real MCP servers and the real database."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

Script = Callable[[str, Sequence[BaseMessage], int], AIMessage]


class ScriptedModel(BaseChatModel):
    """A chat model whose every reply comes from `script(role, messages, n)`: the role is the
    supervisor, composer or the specialist the system prompt names, n how often that role was
    asked. It records every conversation it was shown."""

    script: Any
    bound: list[str] = Field(default_factory=list)
    seen: list[list[BaseMessage]] = Field(default_factory=list)
    asked: dict[str, int] = Field(default_factory=dict)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable[Any, AIMessage]:  # type: ignore[override]
        names = [convert_to_openai_tool(t)["function"]["name"] for t in tools]
        copy = self.model_copy(update={"bound": names})
        copy.seen, copy.asked = self.seen, self.asked  # one record for every role
        return copy

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        system = next((str(m.content) for m in messages if isinstance(m, SystemMessage)), "")
        if "Route" in self.bound:
            role = "supervisor"
        elif system.startswith("Role: "):
            role = system.split()[1]
        else:
            role = "composer"
        self.seen.append(list(messages))
        n = self.asked.get(role, 0)
        self.asked[role] = n + 1
        return ChatResult(generations=[ChatGeneration(message=self.script(role, messages, n))])


def route(*agents: str) -> AIMessage:
    return AIMessage(
        content="", tool_calls=[{"name": "Route", "args": {"agents": list(agents)}, "id": "r1"}]
    )


def call(name: str, args: dict[str, Any], n: int) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"{name}-{n}"}])
