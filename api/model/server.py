"""An OpenAI-compatible chat endpoint over Titan's offline model (`titan model serve`).

It speaks the part of the Chat Completions API that `ChatOpenAI` uses: `POST
/v1/chat/completions` with system, user, assistant (with `tool_calls`) and tool messages,
function tools and `tool_choice`, answered whole or streamed as server-sent chunks ending in
`data: [DONE]` (with a usage chunk when `stream_options.include_usage` asks), and `GET
/v1/models`. Each request is converted to LangChain messages and tool schemas, answered by the
offline model bound to those tools (none when `tool_choice` is "none"; otherwise the choice is
the model's), and the reply converted back. So the OpenAI client path — tool-call
serialisation, streaming, timeouts, retries — runs on loopback with no key.

The wire has no field for a failed tool call: a model reads the failure from the result's text.
The offline model reads `ToolMessage.status` instead, so a tool result whose text opens the way
Titan's failures do (a tool error, "Error…"; an action a person rejected, "Not done:…") is
handed to it marked as an error.

Token counts in `usage` are estimates (four characters a token): the offline model has no
tokenizer. Any bearer key is accepted unless the app is created with one.
"""

from __future__ import annotations

import json
import logging
import math
import re
import secrets
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Annotated, Any, Literal, Self

from fastapi import Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.sse import EventSourceResponse, format_sse_event
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from starlette.exceptions import HTTPException

from agents.mcp_tools import open_directory
from agents.offline import OfflineChatModel
from agents.offline.model import Directory
from mcp_servers.runtime import open_plant
from tools.core import clock
from tools.core.errors import TitanError

log = logging.getLogger(__name__)

MODEL_ID = "titan-offline"
CHARS_PER_TOKEN = 4
ARGUMENT_PIECE = 24  # characters of a tool call's arguments per streamed chunk
WORD = re.compile(r"\s*\S+\s*")
FAILED = ("Error", "Not done:")  # how the text of a failed or rejected tool call opens
Finish = Literal["stop", "tool_calls"]


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class FunctionCall(BaseModel):
    name: str = Field(min_length=1)
    arguments: str

    @field_validator("arguments")
    @classmethod
    def _json_object(cls, value: str) -> str:
        try:
            parsed = json.loads(value or "{}")
        except ValueError as exc:
            raise ValueError(f"arguments must be a JSON object, got {value[:80]!r}") from exc
        if not isinstance(parsed, dict):
            raise ValueError(f"arguments must be a JSON object, got {value[:80]!r}")
        return value


class ToolCall(BaseModel):
    id: str = Field(min_length=1)
    type: Literal["function"] = "function"
    function: FunctionCall


class Message(BaseModel):
    """One message of the conversation, in the Chat Completions shape."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.role == "tool" and not self.tool_call_id:
            raise ValueError("a tool message needs the tool_call_id it answers")
        if self.role == "assistant" and self.content is None and not self.tool_calls:
            raise ValueError("an assistant message needs content or tool_calls")
        if self.role in ("system", "developer", "user", "tool") and self.content is None:
            raise ValueError(f"a {self.role} message needs content")
        if self.tool_calls and self.role != "assistant":
            raise ValueError(f"a {self.role} message cannot carry tool_calls")
        return self

    @property
    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content)
        return self.content or ""


class FunctionSpec(BaseModel):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    description: str | None = None
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    strict: bool | None = None


class Tool(BaseModel):
    type: Literal["function"]
    function: FunctionSpec


class NamedFunction(BaseModel):
    name: str


class NamedToolChoice(BaseModel):
    type: Literal["function"]
    function: NamedFunction


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatRequest(BaseModel):
    """A chat completion request; fields the offline model has no use for are ignored."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1)
    messages: list[Message] = Field(min_length=1)
    tools: list[Tool] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: Annotated[int, Field(ge=1, le=1, description="Only one choice is produced.")] = 1

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        names = {tool.function.name for tool in self.tools or []}
        choice = self.tool_choice
        if isinstance(choice, NamedToolChoice) and choice.function.name not in names:
            raise ValueError(
                f"tool_choice names {choice.function.name!r}, which is not one of the tools "
                f"({', '.join(sorted(names)) or 'none given'})"
            )
        called: set[str] = set()
        for message in self.messages:
            called |= {call.id for call in message.tool_calls or []}
            if message.role == "tool" and message.tool_call_id not in called:
                raise ValueError(
                    f"tool message answers tool_call_id {message.tool_call_id!r}, which no "
                    "earlier assistant message called"
                )
        return self


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str | None
    tool_calls: list[ToolCall] | None = None


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Finish
    logprobs: None = None


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage


class DeltaFunction(BaseModel):
    name: str | None = None
    arguments: str | None = None


class DeltaToolCall(BaseModel):
    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: DeltaFunction


class Delta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None
    tool_calls: list[DeltaToolCall] | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    finish_reason: Finish | None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "titan"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


def to_langchain(messages: Sequence[Message]) -> list[BaseMessage]:
    """The conversation as LangChain messages (tool calls with their arguments parsed)."""
    converted: list[BaseMessage] = []
    for message in messages:
        if message.role in ("system", "developer"):
            converted.append(SystemMessage(content=message.text))
        elif message.role == "user":
            converted.append(HumanMessage(content=message.text, name=message.name))
        elif message.role == "tool":
            text = message.text
            status = "error" if text.lstrip().startswith(FAILED) else "success"
            converted.append(
                ToolMessage(content=text, tool_call_id=message.tool_call_id, status=status)
            )
        else:
            calls = [
                {
                    "name": call.function.name,
                    "args": json.loads(call.function.arguments or "{}"),
                    "id": call.id,
                    "type": "tool_call",
                }
                for call in message.tool_calls or []
            ]
            converted.append(AIMessage(content=message.text, tool_calls=calls, name=message.name))
    return converted


def tool_calls_of(reply: AIMessage) -> list[ToolCall]:
    """The reply's tool calls in the wire shape, arguments as JSON strings."""
    return [
        ToolCall(
            id=call["id"] or f"call_{uuid.uuid4().hex[:20]}",
            function=FunctionCall(name=call["name"], arguments=json.dumps(call["args"])),
        )
        for call in reply.tool_calls
    ]


def _tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def usage_of(request: ChatRequest, content: str, calls: Sequence[ToolCall]) -> Usage:
    """Estimated token counts of the request and the reply."""
    tools = json.dumps([tool.model_dump(exclude_none=True) for tool in request.tools or []])
    prompt = _tokens("".join(m.text for m in request.messages) + tools)
    completion = _tokens(content + "".join(c.function.name + c.function.arguments for c in calls))
    return Usage(
        prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
    )


async def respond(request: ChatRequest, directory: Directory | None = None) -> AIMessage:
    """The offline model's reply to the request, bound to its tools unless `tool_choice` is none."""
    model = OfflineChatModel().with_directory(directory)
    tools = [] if request.tool_choice == "none" else request.tools or []
    specs = [tool.model_dump(exclude_none=True) for tool in tools]
    runnable = model.bind_tools(specs) if specs else model
    reply = await runnable.ainvoke(to_langchain(request.messages))
    assert isinstance(reply, AIMessage)
    return reply


def _chunk(base: dict[str, Any], delta: Delta, finish: Finish | None = None) -> ChatCompletionChunk:
    return ChatCompletionChunk(**base, choices=[ChunkChoice(delta=delta, finish_reason=finish)])


def chunks_of(
    base: dict[str, Any], content: str, calls: Sequence[ToolCall]
) -> list[ChatCompletionChunk]:
    """The reply as stream chunks: role, content word by word, each call's name then arguments."""
    out = [_chunk(base, Delta(role="assistant", content=""))]
    pieces = WORD.findall(content) or ([content] if content else [])
    out += [_chunk(base, Delta(content=piece)) for piece in pieces]
    for index, call in enumerate(calls):
        head = DeltaToolCall(
            index=index,
            id=call.id,
            type="function",
            function=DeltaFunction(name=call.function.name, arguments=""),
        )
        out.append(_chunk(base, Delta(tool_calls=[head])))
        arguments = call.function.arguments
        for start in range(0, len(arguments), ARGUMENT_PIECE):
            piece = DeltaFunction(arguments=arguments[start : start + ARGUMENT_PIECE])
            out.append(_chunk(base, Delta(tool_calls=[DeltaToolCall(index=index, function=piece)])))
    out.append(_chunk(base, Delta(), "tool_calls" if calls else "stop"))
    return out


async def _stream(chunks: list[ChatCompletionChunk], usage: Usage | None) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield format_sse_event(data_str=chunk.model_dump_json(exclude_none=True))
    if usage is not None:
        last = chunks[-1].model_copy(update={"choices": [], "usage": usage})
        yield format_sse_event(data_str=last.model_dump_json(exclude_none=True))
    yield format_sse_event(data_str="[DONE]")


def _error(
    status: int, message: str, *, param: str | None = None, code: str | None = None
) -> JSONResponse:
    kind = {401: "authentication_error", 404: "not_found_error"}.get(
        status, "invalid_request_error" if status < 500 else "server_error"
    )
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return JSONResponse(body, status_code=status)


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = list(exc.errors())
    where = [".".join(str(p) for p in problem["loc"] if p != "body") for problem in problems]
    said = [str(problem["msg"]).removeprefix("Value error, ") for problem in problems]
    message = "; ".join(
        f"{place}: {text}" if place else text for place, text in zip(where, said, strict=True)
    )
    return _error(400, message, param=where[0] if where and where[0] else None)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = "invalid_api_key" if exc.status_code == 401 else None
    return _error(exc.status_code, str(exc.detail), code=code)


def create_app(
    *,
    api_key: str | None = None,
    model_name: str = MODEL_ID,
    read_plant: bool = False,
    directory: Directory | None = None,
) -> FastAPI:
    """The endpoint app; with `api_key`, requests must send it as `Authorization: Bearer …`.

    With `read_plant`, the model knows the plant's names (machines, customers, sites …) from the
    configured database while the app runs; without it, or when there is no database to reach,
    it knows IDs by their shape only. `directory` gives the names directly.
    """
    names: dict[str, Directory | None] = {"directory": directory}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not read_plant:
            yield
            return
        async with AsyncExitStack() as stack:
            try:
                plant = await stack.enter_async_context(open_plant())
                names["directory"] = await stack.enter_async_context(open_directory(plant))
            except (TitanError, OSError) as exc:
                log.warning("serving without the plant's names: %s", exc)
            yield

    async def authorised(authorization: Annotated[str | None, Header()] = None) -> None:
        if api_key is None:
            return
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(given.strip(), api_key):
            raise HTTPException(401, "incorrect API key: send Authorization: Bearer <key>")

    app = FastAPI(
        title="Titan offline model",
        summary="Titan's rule-based model behind the OpenAI Chat Completions API.",
        dependencies=[Depends(authorised)],
        lifespan=lifespan,
    )
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(HTTPException, _http_error)

    @app.get("/v1/models")
    async def models() -> ModelList:
        return ModelList(data=[ModelCard(id=model_name)])

    @app.post("/v1/chat/completions", response_model=None)
    async def chat_completions(request: ChatRequest) -> ChatCompletion | EventSourceResponse:
        reply = await respond(request, names["directory"])
        content, calls = reply.text, tool_calls_of(reply)
        usage = usage_of(request, content, calls)
        base: dict[str, Any] = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "created": int(clock.now().timestamp()),
            "model": request.model,
        }
        log.debug("chat completion %s: %d tool call(s)", base["id"], len(calls))
        if request.stream:
            include = request.stream_options is not None and request.stream_options.include_usage
            chunks = chunks_of(base, content, calls)
            return EventSourceResponse(_stream(chunks, usage if include else None))
        message = AssistantMessage(
            content=content or None if calls else content, tool_calls=calls or None
        )
        finish: Finish = "tool_calls" if calls else "stop"
        return ChatCompletion(
            **base, choices=[Choice(message=message, finish_reason=finish)], usage=usage
        )

    return app
