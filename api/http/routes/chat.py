"""Chat with the agent team: ask, stream a run's steps, and read threads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent
from langchain_core.messages import BaseMessage
from pydantic import BaseModel, Field

from agents.runtime import ChatResult, ThreadSummary, new_thread_id
from api.http.auth import needs
from api.http.body import Body
from api.http.errors import JSON_ERRORS, status_of
from api.http.service import service_of
from tools.accounts.accounts import Principal
from tools.accounts.permissions import Permission as P
from tools.core.errors import TitanError

MAX_MESSAGE_CHARS = 4000
THREAD_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"
TOKEN_WORDS = 4  # words per answer token event when streaming

router = APIRouter(tags=["chat"])

ThreadId = Annotated[str, Path(pattern=THREAD_ID, description="A thread's ID.")]


class ChatRequest(Body):
    message: str = Field(
        min_length=1,
        max_length=MAX_MESSAGE_CHARS,
        description="A question or an instruction in plain language.",
    )
    thread_id: str | None = Field(
        default=None,
        pattern=THREAD_ID,
        description="Continue this thread; leave out to start a new one.",
    )


class ThreadMessage(BaseModel):
    role: str
    content: str


class ThreadView(ChatResult):
    """A thread: its outcome so far, its messages, and whether it waits for a decision."""

    request: str
    waiting_for_approval: bool
    messages: list[ThreadMessage]


async def _ask(request: Request, body: ChatRequest, who: Principal) -> ChatResult:
    service = service_of(request)
    result = await service.agents.ask(body.message, body.thread_id, user=who.user_id, role=who.role)
    service.metrics.ran("ask", result)
    return result


@router.post("/chat", response_model=ChatResult, summary="Ask the agent team")
async def chat(
    request: Request, body: ChatRequest, who: Annotated[Principal, needs(P.AI_TRIGGER)]
) -> ChatResult:
    """Run one request: the answer, the agents it went through, the tool calls, and the approval
    it stopped for, if any."""
    return await _ask(request, body, who)


def _closing(result: ChatResult) -> list[ServerSentEvent]:
    words = result.answer.split(" ")
    found = []
    for start in range(0, len(words), TOKEN_WORDS):
        chunk = " ".join(words[start : start + TOKEN_WORDS])
        found.append(ServerSentEvent(event="token", data=chunk if start == 0 else f" {chunk}"))
    if result.approval is not None:
        found.append(ServerSentEvent(event="approval", data=result.approval.model_dump()))
    found.append(ServerSentEvent(event="done", data=result.model_dump(mode="json")))
    return found


@router.post(
    "/chat/stream",
    response_class=EventSourceResponse,
    responses=JSON_ERRORS,
    summary="Ask, as a stream",
)
async def chat_stream(
    request: Request, body: ChatRequest, who: Annotated[Principal, needs(P.AI_TRIGGER)]
) -> AsyncIterator[ServerSentEvent]:
    """Server-Sent Events of one run as it happens: `thread`, then `agent` as each agent starts
    and `tool_call` as each call is made, then `token` for the answer's text, `approval` when it
    stopped for one, and `done` with the whole result (or `error`)."""
    thread_id = body.thread_id or new_thread_id()
    yield ServerSentEvent(event="thread", data={"thread_id": thread_id})
    service = service_of(request)
    result: ChatResult | None = None
    try:
        steps = service.agents.ask_steps(
            body.message,
            thread_id,
            user=who.user_id,
            role=who.role,
            fresh=body.thread_id is None,
        )
        async for step in steps:
            if isinstance(step, ChatResult):
                result = step
            elif step.kind == "agent":
                yield ServerSentEvent(event="agent", data={"agent": step.agent})
            elif step.tool is not None:
                yield ServerSentEvent(event="tool_call", data=step.tool.model_dump())
    except TitanError as exc:
        status, code = status_of(exc)
        yield ServerSentEvent(
            event="error", data={"error": {"code": code, "message": str(exc), "status": status}}
        )
        return
    assert result is not None
    service.metrics.ran("ask", result)
    for event in _closing(result):
        yield event


@router.get("/threads", response_model=list[ThreadSummary], summary="List threads")
async def threads(
    request: Request, who: Annotated[Principal, needs(P.AI_TRIGGER)]
) -> list[ThreadSummary]:
    """The caller's threads, most recently active first (everyone's with thread.view_all)."""
    return await service_of(request).agents.threads(user=who.user_id, role=who.role)


def _content(message: BaseMessage) -> str:
    content: Any = message.content
    return content if isinstance(content, str) else str(content)


@router.get("/threads/{thread_id}", response_model=ThreadView, summary="Read a thread")
async def thread(
    request: Request, thread_id: ThreadId, who: Annotated[Principal, needs(P.AI_TRIGGER)]
) -> ThreadView:
    """A thread's messages, route, tool calls, answer and pending approval: one's own thread,
    or anyone's with thread.view_all."""
    agents = service_of(request).agents
    result = await agents.thread(thread_id, user=who.user_id, role=who.role)
    snapshot = await agents.graph.aget_state({"configurable": {"thread_id": thread_id}})
    values = snapshot.values or {}
    messages = [
        ThreadMessage(role=m.type, content=_content(m))
        for m in values.get("messages", [])
        if isinstance(m, BaseMessage) and m.type in ("human", "ai") and _content(m)
    ]
    return ThreadView(
        **result.model_dump(),
        request=str(values.get("request", "")),
        waiting_for_approval=bool(snapshot.interrupts),
        messages=messages,
    )
