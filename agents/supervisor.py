"""The supervisor: plans the route through the specialists, hands over, and composes the answer."""

from __future__ import annotations

from typing import Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage
from langgraph.types import Command
from pydantic import BaseModel, Field

from agents.prompts import load_prompt
from agents.report import report
from agents.state import AGENTS, Agent, TitanState, fresh_request
from agents.tasks import render_tasks

Next = Literal[Agent, "composer"]
HISTORY_TURNS = 4


class Task(BaseModel):
    """One part of the request for one specialist."""

    agent: Agent = Field(description="The specialist that does this part.")
    instruction: str = Field(
        description="What the specialist should do, self-contained: name the machine, order, "
        "SKU, customer, dates and quantities, resolved from the conversation."
    )


class Route(BaseModel):
    """Send the request to these specialists, in this order, each with its part."""

    agents: list[Agent] = Field(description="The specialists the request needs, in order.")
    reason: str = Field(default="", description="Why these, in one sentence.")
    tasks: list[Task] = Field(
        default_factory=list, description="Each specialist's part of the request, in order."
    )


def _plan(reply: AIMessage) -> tuple[list[str], dict[str, list[str]]] | None:
    for call in reply.tool_calls:
        if call["name"].lower() == "route":
            wanted = call["args"].get("agents", [])
            agents = [a for a in wanted if a in AGENTS] if isinstance(wanted, list) else []
            tasks: dict[str, list[str]] = {}
            for task in call["args"].get("tasks") or []:
                if (
                    isinstance(task, dict)
                    and task.get("agent") in AGENTS
                    and task.get("instruction")
                ):
                    tasks.setdefault(str(task["agent"]), []).append(str(task["instruction"]))
            return list(dict.fromkeys(agents)), tasks
    return None


def take_request(state: TitanState) -> TitanState:
    """Start a request that came as a message alone (a run in LangGraph's own server, such as
    its Studio) afresh, as Titan's own runtime starts every request: the latest human message
    becomes the request, and what the last request left is cleared."""
    messages = state.get("messages") or []
    if not messages or not isinstance(messages[-1], HumanMessage):
        return {}
    text = messages[-1].text
    if state.get("request") == text and not state.get("answer"):
        return {}  # started already (Titan's runtime sets the request with the message)
    return fresh_request(text, state.get("turn", 0) + 1)


def history(state: TitanState) -> list[AnyMessage]:
    """The earlier turns of the thread, as the person asked them and as Titan answered."""
    turns: list[tuple[HumanMessage, AIMessage | None]] = []
    for message in state.get("messages") or []:
        if isinstance(message, HumanMessage):
            turns.append((message, None))
        elif isinstance(message, AIMessage) and not message.name and turns:
            turns[-1] = (turns[-1][0], message)
    earlier = turns[:-1][-HISTORY_TURNS:]  # the last human message is this turn's request
    out: list[AnyMessage] = []
    for asked, answered in earlier:
        out.append(asked)
        if answered is not None:
            out.append(answered)
    return out


def handoff(state: TitanState, agent: str) -> list[AnyMessage]:
    """What a specialist starts from: the request, its part of it, and what the team found."""
    messages: list[AnyMessage] = [HumanMessage(content=state.get("request", ""))]
    tasks = (state.get("tasks") or {}).get(agent)
    if tasks:
        messages.append(HumanMessage(content=render_tasks(tasks)))
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
            asked = HumanMessage(content=state.get("request", ""))
            reply = await router.ainvoke([system, *history(state), asked])
            assert isinstance(reply, AIMessage)
            planned = _plan(reply)
            if planned is None or not planned[0]:
                answer = reply.text or "I can only help with plant operations."
                return Command(goto="composer", update={"plan": [], "answer": answer})
            plan, tasks = planned
            update["tasks"] = tasks
        if not plan:
            return Command(goto="composer", update={**update, "plan": []})
        agent, rest = plan[0], plan[1:]
        state_now: TitanState = {**state, **update}
        update |= {
            "plan": rest,
            "route": [*(state.get("route") or []), agent],
            "agent": agent,
            "steps": 0,
            "scratch": handoff(state_now, agent),
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
            # A model that answers nothing still leaves the person the team's report.
            answer = reply.text.strip() or report(state)
        return Command(
            goto="__end__", update={"answer": answer, "messages": [AIMessage(content=answer)]}
        )

    return composer
