"""The supervisor: plans the route through the specialists, hands over, and composes the answer."""

from __future__ import annotations

from typing import Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage
from langgraph.types import Command
from pydantic import BaseModel, Field

from agents.prompts import load_prompt
from agents.report import report
from agents.state import AGENTS, Agent, TitanState

Next = Literal[
    "scheduler", "inventory", "logistics", "maintenance", "communications", "governance", "composer"
]


class Route(BaseModel):
    """Send the request to these specialists, in this order."""

    agents: list[Agent] = Field(description="The specialists the request needs, in order.")
    reason: str = Field(default="", description="Why these, in one sentence.")


def _plan(reply: AIMessage) -> list[str] | None:
    for call in reply.tool_calls:
        if call["name"].lower() == "route":
            wanted = call["args"].get("agents", [])
            agents = [a for a in wanted if a in AGENTS] if isinstance(wanted, list) else []
            return list(dict.fromkeys(agents))
    return None


def handoff(state: TitanState) -> list[AnyMessage]:
    """What a specialist starts from: the request, and what the team found before it."""
    messages: list[AnyMessage] = [HumanMessage(content=state.get("request", ""))]
    findings = state.get("findings") or []
    if findings:
        notes = "\n".join(f"- {f['agent']}: {f['summary']}" for f in findings)
        messages.append(HumanMessage(content=f"What the team found so far:\n{notes}"))
    return messages


def make_supervisor(model: BaseChatModel):  # type: ignore[no-untyped-def]
    router = model.bind_tools([Route])

    async def supervisor(state: TitanState) -> Command[Next]:
        plan = state.get("plan")
        update: TitanState = {}
        if plan is None:
            system = SystemMessage(content=load_prompt("supervisor"))
            reply = await router.ainvoke([system, HumanMessage(content=state.get("request", ""))])
            assert isinstance(reply, AIMessage)
            plan = _plan(reply)
            if plan is None or not plan:
                answer = reply.text or "I can only help with plant operations."
                return Command(goto="composer", update={"plan": [], "answer": answer})
        if not plan:
            return Command(goto="composer", update={"plan": []})
        agent, rest = plan[0], plan[1:]
        update = {
            "plan": rest,
            "route": [*(state.get("route") or []), agent],
            "agent": agent,
            "steps": 0,
            "scratch": handoff(state),
        }
        return Command(goto=agent, update=update)  # type: ignore[arg-type]

    return supervisor


def make_composer(model: BaseChatModel):  # type: ignore[no-untyped-def]
    async def composer(state: TitanState) -> Command[Literal["__end__"]]:
        answer = state.get("answer") or ""
        if not answer:
            reply = await model.ainvoke(
                [
                    SystemMessage(content=load_prompt("composer")),
                    HumanMessage(content=state.get("request", "")),
                    HumanMessage(content=report(state)),
                ]
            )
            answer = reply.text
        return Command(
            goto="__end__", update={"answer": answer, "messages": [AIMessage(content=answer)]}
        )

    return composer
