"""The OpenAI-compatible endpoint (`titan model serve`) and ChatOpenAI end to end against it.

Each test serves the offline model with uvicorn on a free loopback port; the OpenAI SDK and
`ChatOpenAI` (through Titan's model factory) talk to it over real HTTP.
"""

from __future__ import annotations

import json
import math
import operator
import re
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import partial, reduce
from typing import Any

import anyio
import httpx
import openai
import pytest
import uvicorn
from fastapi import FastAPI
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI
from openai.types.chat import ChatCompletionFunctionToolParam, ChatCompletionMessageParam
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from typer.testing import CliRunner

from agents.mcp_tools import open_directory
from agents.models import make_model
from agents.offline import OfflineChatModel
from agents.runtime import ChatResult, open_agents
from agents.supervisor import Route
from api.cli.main import app as titan
from api.model.server import MODEL_ID, create_app
from mcp_servers.runtime import Plant
from tools.core import admin, clock, db
from tools.core.clock import FixedClock
from tools.core.operations import Actor
from tools.core.settings import get_settings
from tools.demo import plant as demo_plant
from tools.machine_data.sensors import Reading, record_readings

LOOPBACK = "127.0.0.1"
KEY = "sk-loopback-test"
LIMIT_S = 60
SIM = Actor(type="simulator", id="sensors")
HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hello"}]
# Without a plant to read names from, the served model knows IDs by their shape.
BOEING = "Where is Boeing's order ORD-10003 and can we still make the date?"
ROUTE_TOOL: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "Route",
        "description": "Send the request to these specialists, in this order.",
        "parameters": {
            "type": "object",
            "properties": {"agents": {"type": "array", "items": {"type": "string"}}},
            "required": ["agents"],
        },
    },
}


class Recorder:
    """The endpoint app, keeping each chat request's body; the first `stall` requests hang."""

    def __init__(self, app: ASGIApp, *, stall: int = 0) -> None:
        self.app = app
        self.stall = stall
        self.bodies: list[dict[str, Any]] = []
        self.keys: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/chat/completions"):
            await self.app(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        self.bodies.append(json.loads(body))
        self.keys.append(dict(scope["headers"]).get(b"authorization", b"").decode())
        if len(self.bodies) <= self.stall:
            # Stall until the client gives up on this request and hangs up.
            while (await receive())["type"] != "http.disconnect":
                pass
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A listening loopback socket on a free port; connections queue until the server serves."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((LOOPBACK, 0))
    sock.listen()
    yield sock
    sock.close()


@pytest.fixture
def endpoint(listener: socket.socket, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The endpoint's base URL, configured as Titan's model (OPENAI_BASE_URL, OPENAI_API_KEY)."""
    base_url = f"http://{LOOPBACK}:{listener.getsockname()[1]}/v1"
    monkeypatch.setenv("OPENAI_BASE_URL", base_url)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("TITAN_MODEL", MODEL_ID)
    get_settings.cache_clear()
    yield base_url
    get_settings.cache_clear()


@asynccontextmanager
async def serving(app: ASGIApp, listener: socket.socket) -> AsyncIterator[None]:
    """Uvicorn serving `app` on the listener while the context is open."""
    config = uvicorn.Config(app, lifespan="off", log_config=None, log_level="warning", ws="none")
    server = uvicorn.Server(config)
    async with anyio.create_task_group() as tg:
        tg.start_soon(partial(server.serve, sockets=[listener]))
        try:
            yield
        finally:
            server.should_exit = True


def client(base_url: str, key: str = "any-key") -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=10)


# ---- the OpenAI wire format ----------------------------------------------------------------


@pytest.mark.anyio
async def test_a_plain_request_gets_a_completion_in_the_openai_format(
    endpoint: str, listener: socket.socket
) -> None:
    with anyio.fail_after(LIMIT_S):
        async with serving(create_app(), listener), client(endpoint) as openai_client:
            done = await openai_client.chat.completions.create(
                model="any-name",
                messages=[
                    {"role": "system", "content": "You are Titan."},
                    {"role": "user", "content": "Good morning, Titan"},
                ],
            )
            models = await openai_client.models.list()

    assert done.object == "chat.completion" and done.id.startswith("chatcmpl-")
    assert done.model == "any-name"
    [choice] = done.choices
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    assert choice.message.content == "Good morning, Titan" and not choice.message.tool_calls
    assert done.usage is not None and done.usage.completion_tokens > 0
    assert done.usage.total_tokens == done.usage.prompt_tokens + done.usage.completion_tokens
    assert [m.id for m in models.data] == [MODEL_ID]


@pytest.mark.anyio
async def test_a_tool_calling_request_gets_tool_calls_with_json_arguments(
    endpoint: str, listener: socket.socket
) -> None:
    with anyio.fail_after(LIMIT_S):
        async with serving(create_app(), listener), client(endpoint) as openai_client:
            done = await openai_client.chat.completions.create(
                model=MODEL_ID,
                messages=[{"role": "user", "content": BOEING}],
                tools=[ROUTE_TOOL],
                tool_choice="auto",
            )
            declined = await openai_client.chat.completions.create(
                model=MODEL_ID,
                messages=[{"role": "user", "content": BOEING}],
                tools=[ROUTE_TOOL],
                tool_choice="none",
            )

    [choice] = done.choices
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    [call] = choice.message.tool_calls or []
    assert call.type == "function" and call.id.startswith("call_")
    assert call.function.name == "Route"
    assert json.loads(call.function.arguments)["agents"] == ["logistics", "scheduler"]
    assert declined.choices[0].finish_reason == "stop"
    assert not declined.choices[0].message.tool_calls


@pytest.mark.anyio
async def test_a_streamed_answer_arrives_word_by_word_and_ends_with_done(
    endpoint: str, listener: socket.socket
) -> None:
    text = "Good morning, Titan: how are the machines in Phoenix today?"
    body = {"model": MODEL_ID, "stream": True, "messages": [{"role": "user", "content": text}]}
    with anyio.fail_after(LIMIT_S):
        async with serving(create_app(), listener), client(endpoint) as openai_client:
            stream = await openai_client.chat.completions.create(
                model=MODEL_ID, messages=[{"role": "user", "content": text}], stream=True
            )
            chunks = [chunk async for chunk in stream]
            async with (
                httpx.AsyncClient(base_url=endpoint) as raw,
                raw.stream("POST", "/chat/completions", json=body) as response,
            ):
                lines = [line async for line in response.aiter_lines() if line]
                media = response.headers["content-type"]

    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == text
    assert len(chunks) > 5 and {c.object for c in chunks} == {"chat.completion.chunk"}
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert media.startswith("text/event-stream")
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"
    assert json.loads(lines[-2].removeprefix("data: "))["choices"][0]["finish_reason"] == "stop"


@pytest.mark.anyio
async def test_streamed_tool_calls_add_up_to_the_calls_of_the_whole_answer_and_usage_comes_last(
    endpoint: str, listener: socket.socket
) -> None:
    request: dict[str, Any] = {
        "model": MODEL_ID,
        "messages": [{"role": "user", "content": BOEING}],
        "tools": [ROUTE_TOOL],
    }
    with anyio.fail_after(LIMIT_S):
        async with serving(create_app(), listener), client(endpoint) as openai_client:
            whole = await openai_client.chat.completions.create(**request)
            stream = await openai_client.chat.completions.create(
                **request, stream=True, stream_options={"include_usage": True}
            )
            chunks = [chunk async for chunk in stream]

    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks[:-1]:
        for part in chunk.choices[0].delta.tool_calls or []:
            call = calls.setdefault(part.index, {"id": "", "name": "", "arguments": ""})
            call["id"] += part.id or ""
            call["name"] += (part.function and part.function.name) or ""
            call["arguments"] += (part.function and part.function.arguments) or ""
    [expected] = whole.choices[0].message.tool_calls or []
    assert calls == {
        0: {
            "id": expected.id,
            "name": expected.function.name,
            "arguments": expected.function.arguments,
        }
    }
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.tool_calls) > 2
    assert chunks[-2].choices[0].finish_reason == "tool_calls"
    assert chunks[-1].choices == [] and chunks[-1].usage == whole.usage
    assert all(c.usage is None for c in chunks[:-1])


BAD_REQUESTS: list[tuple[dict[str, Any], str, str | None]] = [
    ({"model": MODEL_ID, "messages": []}, "at least 1 item", "messages"),
    (
        {"model": MODEL_ID, "messages": [{"role": "tool", "content": "42", "tool_call_id": "c1"}]},
        "which no earlier assistant message called",
        None,
    ),
    (
        {
            "model": MODEL_ID,
            "messages": [
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "get_order", "arguments": "{oops"},
                        },
                    ],
                }
            ],
        },
        "arguments must be a JSON object",
        "messages.0.tool_calls.0.function.arguments",
    ),
    (
        {"model": MODEL_ID, "messages": [{"role": "robot", "content": "hi"}]},
        "'system', 'developer', 'user', 'assistant' or 'tool'",
        "messages.0.role",
    ),
    (
        {
            "model": MODEL_ID,
            "messages": [{"role": "user", "content": "hi"}],
            "tools": [ROUTE_TOOL],
            "tool_choice": {"type": "function", "function": {"name": "cancel_everything"}},
        },
        "'cancel_everything', which is not one of the tools (Route)",
        None,
    ),
]


@pytest.mark.parametrize(("body", "said", "param"), BAD_REQUESTS)
@pytest.mark.anyio
async def test_an_invalid_request_gets_a_400_with_an_openai_error(
    endpoint: str, listener: socket.socket, body: dict[str, Any], said: str, param: str | None
) -> None:
    with anyio.fail_after(LIMIT_S):
        async with serving(create_app(), listener), client(endpoint) as openai_client:
            with pytest.raises(openai.BadRequestError) as raised:
                await openai_client.post("/chat/completions", body=body, cast_to=httpx.Response)

    assert raised.value.status_code == 400
    error = raised.value.body
    assert isinstance(error, dict) and error["type"] == "invalid_request_error"
    assert said in error["message"] and error["param"] == param


@pytest.mark.anyio
async def test_a_configured_key_is_required_and_any_key_is_accepted_otherwise(
    endpoint: str, listener: socket.socket
) -> None:
    with anyio.fail_after(LIMIT_S):
        async with serving(create_app(api_key=KEY), listener):
            async with client(endpoint, "sk-wrong") as wrong:
                with pytest.raises(openai.AuthenticationError) as refused:
                    await wrong.chat.completions.create(model=MODEL_ID, messages=HELLO)
            async with client(endpoint, KEY) as right:
                done = await right.chat.completions.create(model=MODEL_ID, messages=HELLO)

    assert refused.value.status_code == 401
    assert isinstance(refused.value.body, dict)
    assert refused.value.body["code"] == "invalid_api_key"
    assert done.choices[0].message.content == "hello"


def test_titan_model_serve_runs_the_endpoint_on_the_given_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    served: list[tuple[object, str, int]] = []
    monkeypatch.setattr(
        uvicorn, "run", lambda app, *, host, port, **_: served.append((app, host, port))
    )

    result = CliRunner().invoke(titan, ["model", "serve", "--port", "9123"])

    assert result.exit_code == 0, result.output
    [(app, host, port)] = served
    assert (host, port) == ("127.0.0.1", 9123)
    assert isinstance(app, FastAPI)
    assert "/v1/chat/completions" in {getattr(route, "path", None) for route in app.routes}


# ---- ChatOpenAI through Titan's model factory ------------------------------------------------

MAINTENANCE = "Why is PHX-CNC-007 vibrating?"
BROKEN = "Why is PHX-CNC-999 vibrating?"
PHOENIX = (
    "PHX-CNC-007 is vibrating: handle the incident, check the bearings and tell the plant manager"
)
CANCEL = "Cancel order ORD-10021, the customer withdrew it"
NORMAL = {
    "vibration": 1.5,
    "temperature": 40.0,
    "spindle_speed": 8000.0,
    "spindle_load": 50.0,
    "coolant_pressure": 6.0,
    "motor_current": 25.0,
    "power": 15.0,
}


async def degrade_bearing(conn: db.AsyncConn) -> None:
    """An hour of PHX-CNC-007 readings with vibration and temperature rising (bearing wear)."""
    rising = {"vibration": (3.5, 2.0), "temperature": (42.0, 6.0)}
    batch: list[Reading] = []
    for sensor, normal in NORMAL.items():
        start, per_hour = rising.get(sensor, (normal, 0.0))
        batch += [
            Reading(
                machine_id="PHX-CNC-007",
                sensor=sensor,
                value=start + per_hour * i / 60 + 0.01 * math.sin(i * 1.7),
                ts=clock.now() - timedelta(minutes=59 - i),
            )
            for i in range(60)
        ]
    await record_readings(conn, SIM, readings=batch)


async def reload_plant(conn: db.AsyncConn) -> None:
    async with conn.transaction():
        await admin.wipe(conn, keep_accounts=False)
        await demo_plant.seed(conn, seed=42)


async def scenario(conn: db.AsyncConn, db_url: str) -> list[ChatResult]:
    """A maintenance question, a tool error, the Phoenix incident through two approvals, and a
    rejected cancellation, with the configured model."""
    async with open_agents(db_url) as agents:
        question = await agents.ask(MAINTENANCE)
        broken = await agents.ask(BROKEN)
        await degrade_bearing(conn)
        first = await agents.ask(PHOENIX)
        assert first.approval is not None
        second = await agents.decide(first.thread_id, "approve", user="lead")
        assert second.approval is not None
        done = await agents.decide(first.thread_id, "approve", user="lead")
        cancel = await agents.ask(CANCEL)
        assert cancel.approval is not None
        kept = await agents.decide(cancel.thread_id, "reject", reason="they called", user="lead")
    return [question, broken, first, second, done, cancel, kept]


def outcome(results: list[ChatResult]) -> str:
    """The results as JSON, thread and approval IDs (new for every run) masked."""
    text = json.dumps([r.model_dump() for r in results], indent=1)
    return re.sub(r"\b(chat|APR)-[0-9A-Za-z]+", r"\1-*", text)


def roles(body: dict[str, Any]) -> list[str]:
    return [m["role"] + ("+calls" if m.get("tool_calls") else "") for m in body["messages"]]


@pytest.mark.anyio
async def test_chatopenai_drives_the_agent_graph_exactly_as_the_offline_model_does(
    plant: db.AsyncConn,
    db_url: str,
    endpoint: str,
    listener: socket.socket,
    monkeypatch: pytest.MonkeyPatch,
    fixed_clock: FixedClock,
) -> None:
    # Monday 08:00 in Phoenix: the incident's repair window lies in the early shift and waits.
    fixed_clock.advance(timedelta(hours=9))
    pool = db.make_pool(db_url)
    await db.open_pool(pool)
    with anyio.fail_after(LIMIT_S):
        async with open_directory(
            Plant(pool, db.DatabaseLocation(url=db_url, embedded=False))
        ) as names:
            app = Recorder(create_app(api_key=KEY, directory=names))
            async with serving(app, listener):
                assert isinstance(make_model(), ChatOpenAI)
                served = await scenario(plant, db_url)
        await pool.close()
        await reload_plant(plant)
        monkeypatch.delenv("OPENAI_BASE_URL")
        monkeypatch.delenv("OPENAI_API_KEY")
        get_settings.cache_clear()
        assert isinstance(make_model(), OfflineChatModel)
        direct = await scenario(plant, db_url)

    assert outcome(served) == outcome(direct)
    question, broken, _, _, done, _, kept = served
    assert question.route == ["maintenance"] and question.tool_calls
    assert broken.tool_calls == [] and "can't find machine PHX-CNC-999" in broken.answer
    assert done.route == ["maintenance", "inventory", "communications"]
    assert "WO-" in done.answer and "PO-" in done.answer
    assert [a["status"] for a in kept.actions if a["name"] == "cancel_order"] == ["rejected"]
    assert "they called" in kept.answer
    # The whole conversation went over the wire: tool schemas, the model's calls, their results.
    assert set(app.keys) == {f"Bearer {KEY}"}
    assert {body["model"] for body in app.bodies} == {MODEL_ID}
    assert any(body.get("tools") for body in app.bodies)
    # A specialist's turn: its role, the request, its part of it, then its calls and results.
    assert any(
        ["system", "user", "user", "assistant+calls", "tool"] == roles(b)[:5] for b in app.bodies
    )
    replies = [m for b in app.bodies for m in b["messages"] if m["role"] == "tool"]
    assert any(m["content"].startswith("Not done:") for m in replies)


@pytest.mark.anyio
async def test_chatopenai_streams_content_and_tool_calls_from_the_endpoint(
    endpoint: str, listener: socket.socket
) -> None:
    app = Recorder(create_app())
    model = make_model()
    router = model.bind_tools([Route])
    request = [SystemMessage(content="Route the request."), HumanMessage(content=BOEING)]
    with anyio.fail_after(LIMIT_S):
        async with serving(app, listener):
            calls = [chunk async for chunk in router.astream(request)]
            words = [chunk async for chunk in model.astream([HumanMessage(content=BOEING)])]

    streamed = reduce(operator.add, calls)
    expected = OfflineChatModel().bind_tools([Route]).invoke(request)
    assert isinstance(streamed, AIMessageChunk) and isinstance(expected, AIMessage)
    assert len(calls) > 3 and streamed.response_metadata["finish_reason"] == "tool_calls"
    assert [(c["name"], c["args"], c["id"]) for c in streamed.tool_calls] == [
        (c["name"], c["args"], c["id"]) for c in expected.tool_calls
    ]
    assert len(words) > 5 and "".join(w.text for w in words) == BOEING
    assert [body["stream"] for body in app.bodies] == [True, True]


@pytest.mark.anyio
async def test_a_stalled_request_is_retried_after_the_timeout(
    endpoint: str, listener: socket.socket
) -> None:
    app = Recorder(create_app(), stall=1)
    router = make_model(timeout_s=1.0, max_retries=2).bind_tools([Route])
    with anyio.fail_after(LIMIT_S):
        async with serving(app, listener):
            reply = await router.ainvoke([HumanMessage(content=BOEING)])

    assert isinstance(reply, AIMessage)
    assert reply.tool_calls[0]["args"]["agents"] == ["logistics", "scheduler"]
    assert len(app.bodies) == 2 and app.bodies[0] == app.bodies[1]


@pytest.mark.anyio
async def test_without_retries_a_stalled_request_ends_in_a_timeout(
    endpoint: str, listener: socket.socket
) -> None:
    app = Recorder(create_app(), stall=1)
    router = make_model(timeout_s=0.5, max_retries=0).bind_tools([Route])
    with anyio.fail_after(LIMIT_S):
        async with serving(app, listener):
            with pytest.raises(openai.APITimeoutError):
                await router.ainvoke([HumanMessage(content=BOEING)])

    assert len(app.bodies) == 1
