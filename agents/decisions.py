"""A person's answer to a waiting approval, given in the chat ("approve it", "no, the customer
changed their mind"): the model reads it as a decision, or as something else."""

from __future__ import annotations

from typing import Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from agents.actions import describe_call
from agents.prompts import load_prompt
from agents.state import PendingApproval


class Decide(BaseModel):
    """Record the person's decision on the action that waits for their approval."""

    decision: Literal["approve", "reject"] = Field(description="approve, or reject")
    reason: str | None = Field(default=None, description="Why, when rejecting.")


async def read_decision(
    model: BaseChatModel, pending: PendingApproval, message: str
) -> Decide | None:
    """The decision `message` gives on `pending`, or None when it gives none."""
    waiting = describe_call(pending["action"], pending["args"])
    system = SystemMessage(
        content=f"{load_prompt('decide')}\n\nWaiting for approval: {waiting} "
        f"(because {pending['reason']})."
    )
    reply = await model.bind_tools([Decide]).ainvoke([system, HumanMessage(content=message)])
    assert isinstance(reply, AIMessage)
    for call in reply.tool_calls:
        if call["name"].lower() == "decide":
            try:
                return Decide.model_validate(call["args"])
            except ValueError:
                return None
    return None
