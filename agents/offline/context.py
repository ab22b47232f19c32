"""What the offline model knows at a turn: the request, earlier notes, and the tool results."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from agents.offline.entities import Entities, extract


@dataclass
class Result:
    """One tool call the conversation holds, with its outcome."""

    name: str
    args: dict[str, Any]
    ok: bool
    text: str
    data: Any = None


@dataclass
class Context:
    """The request and everything learnt since, as the offline model reads it."""

    request: str
    notes: str
    system: str
    found: Entities
    asked: Entities
    results: list[Result] = field(default_factory=list)
    tools: dict[str, dict[str, Any]] = field(default_factory=dict)

    def has(self, tool: str) -> bool:
        return tool in self.tools

    def called(self, tool: str) -> bool:
        return any(r.name == tool for r in self.results)

    def last(self, tool: str) -> Any:
        """The data of the latest successful call of `tool`, or None."""
        for result in reversed(self.results):
            if result.name == tool and result.ok:
                return result.data
        return None

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.results if not r.ok]

    def says(self, *words: str) -> bool:
        lowered = self.request.lower()
        return any(word in lowered for word in words)


def _text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    parts = [p if isinstance(p, str) else str(p.get("text", "")) for p in content]
    return "\n".join(parts)


def _data(text: str) -> Any:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if isinstance(data, dict) and set(data) == {"result"}:
        return data["result"]
    return data


def read(messages: Sequence[BaseMessage], tools: dict[str, dict[str, Any]]) -> Context:
    """The context of a conversation; tool messages are matched to their calls by ID."""
    humans = [_text(m) for m in messages if isinstance(m, HumanMessage)]
    system = "\n".join(_text(m) for m in messages if isinstance(m, SystemMessage))
    calls: dict[str, tuple[str, dict[str, Any]]] = {}
    results: list[Result] = []
    for message in messages:
        if isinstance(message, AIMessage):
            for call in message.tool_calls:
                calls[call["id"] or ""] = (call["name"], dict(call["args"]))
        elif isinstance(message, ToolMessage):
            name, args = calls.get(message.tool_call_id, (message.name or "", {}))
            text = _text(message)
            ok = message.status != "error"
            results.append(Result(name, args, ok, text, _data(text) if ok else None))
    everything = "\n".join([*humans, *(r.text for r in results)])
    return Context(
        request=humans[0] if humans else "",
        notes="\n".join(humans[1:]),
        system=system,
        found=extract(everything),
        asked=extract(humans[0] if humans else ""),
        results=results,
        tools=tools,
    )
