"""Each specialist's tools, loaded over MCP from in-memory sessions opened once per graph."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_mcp_adapters.interceptors import (
    MCPToolCallRequest,
    MCPToolCallResult,
    ToolCallInterceptor,
)
from langchain_mcp_adapters.tools import load_mcp_tools
from mcp import ClientSession
from mcp.shared.exceptions import McpError
from mcp.types import TextResourceContents
from pydantic import AnyUrl

from agents.offline import OfflineChatModel
from agents.offline.names import PlantNames
from agents.roster import AGENTS, SERVER_OF
from mcp_servers.runtime import CALLER_META_KEY, Caller, Plant
from mcp_servers.servers import DOMAIN_REGISTRARS, build_server
from mcp_servers.sessions import connect

log = logging.getLogger(__name__)

ORDER_READS = "orders"
DIRECTORY_URI = "titan://directory"


_acting_for: ContextVar[Caller | None] = ContextVar("titan_acting_for", default=None)
_held: ContextVar[list[dict[str, Any]] | None] = ContextVar("titan_held", default=None)


@contextmanager
def acting_for(caller: Caller) -> Iterator[list[dict[str, Any]]]:
    """Tool calls made inside are recorded as made for `caller` (the MCP request's `_meta`);
    the list it gives holds the approval requests the gate raised for them (their details)."""
    waiting: list[dict[str, Any]] = []
    token, held = _acting_for.set(caller), _held.set(waiting)
    try:
        yield waiting
    finally:
        _held.reset(held)
        _acting_for.reset(token)


def _approval_required(result: Any) -> dict[str, Any] | None:
    """The details of an `approval_required` tool error, else None."""
    content = getattr(result, "structuredContent", None)
    if not getattr(result, "isError", False) or not isinstance(content, dict):
        return None
    error = content.get("error")
    if not isinstance(error, dict) or error.get("code") != "approval_required":
        return None
    details = error.get("details") or [{}]
    return {"message": error.get("message", ""), **details[0]}


Handler = Callable[[MCPToolCallRequest], Awaitable[MCPToolCallResult]]


def _on_behalf(session: ClientSession) -> ToolCallInterceptor:
    """An interceptor that sends the caller in the request's `_meta` (the adapter has no way to
    pass `_meta` itself, so the call goes to the session directly when there is a caller)."""

    async def intercept(request: MCPToolCallRequest, handler: Handler) -> MCPToolCallResult:
        caller = _acting_for.get()
        if caller is None:
            return await handler(request)
        meta = {CALLER_META_KEY: caller.model_dump(exclude_none=True)}
        result = await session.call_tool(request.name, request.args, meta=meta)
        waiting = _approval_required(result)
        held = _held.get()
        if waiting is not None and held is not None:
            held.append(waiting)
        return result

    return intercept


class PlantDirectory:
    """The plant's names (the `titan://directory` resource), read over MCP.

    It is read again when a request starts after `max_age_s` (the directory is one query of a
    few milliseconds), so names the plant gains — a machine, a customer — are known at once.
    """

    def __init__(self, session: ClientSession, *, max_age_s: float = 2.0) -> None:
        self.session = session
        self.max_age_s = max_age_s
        self._names = PlantNames()
        self._read_at = -math.inf
        self._lock = asyncio.Lock()

    async def names(self) -> PlantNames:
        if time.monotonic() - self._read_at < self.max_age_s:
            return self._names
        async with self._lock:
            if time.monotonic() - self._read_at >= self.max_age_s:
                self._names = await self._read()
                self._read_at = time.monotonic()
        return self._names

    def cached(self) -> PlantNames:
        return self._names

    async def _read(self) -> PlantNames:
        try:
            result = await self.session.read_resource(AnyUrl(DIRECTORY_URI))
        except McpError as exc:
            log.warning("the plant directory could not be read (%s); names are not known", exc)
            return self._names
        for content in result.contents:
            if isinstance(content, TextResourceContents):
                return PlantNames.from_directory(json.loads(content.text))
        return self._names


@dataclass
class Toolbox:
    """The tools each specialist may call, which of them write, and the plant's names."""

    by_agent: dict[str, list[BaseTool]] = field(default_factory=dict)
    write_tools: set[str] = field(default_factory=set)
    directory: PlantDirectory | None = None

    def names(self, agent: str) -> list[str]:
        return [t.name for t in self.by_agent.get(agent, [])]

    def schemas(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Each agent's tools and their input schemas, as a model bound to them sees them."""
        return {
            agent: {
                t.name: convert_to_openai_tool(t)["function"].get("parameters", {}) for t in tools
            }
            for agent, tools in self.by_agent.items()
        }

    def with_directory(self, model: BaseChatModel) -> BaseChatModel:
        """`model`, reading the plant's names from this toolbox when it is the offline model."""
        if isinstance(model, OfflineChatModel) and self.directory is not None:
            return model.with_directory(self.directory)
        return model


async def _load(
    stack: AsyncExitStack, domain: str, plant: Plant
) -> tuple[list[BaseTool], set[str], ClientSession]:
    built = build_server(domain, plant=plant)
    session = await stack.enter_async_context(connect(built.mcp))
    tools = await load_mcp_tools(session, tool_interceptors=[_on_behalf(session)])
    return tools, built.write_tools, session


async def _hold(plant: Plant, box: Toolbox, ready: asyncio.Event, done: asyncio.Event) -> None:
    async with AsyncExitStack() as stack:
        reads, _, session = await _load(stack, ORDER_READS, plant)
        box.directory = PlantDirectory(session)
        await box.directory.names()
        for agent in AGENTS:
            own: list[BaseTool] = []
            domain = SERVER_OF[agent]
            if domain in DOMAIN_REGISTRARS:
                own, writes, _ = await _load(stack, domain, plant)
                box.write_tools |= writes
            names = {t.name for t in own}
            box.by_agent[agent] = own + [t for t in reads if t.name not in names]
        ready.set()
        await done.wait()


async def agent_schemas() -> tuple[dict[str, dict[str, dict[str, Any]]], set[str]]:
    """Each agent's tools with their input schemas, and the write tools, from the servers as
    they are built (no database needed): what `open_toolbox` would give the agents."""
    reads = build_server(ORDER_READS)
    order_tools = {t.name: t.inputSchema for t in await reads.mcp.list_tools()}
    by_agent: dict[str, dict[str, dict[str, Any]]] = {}
    writes: set[str] = set()
    for agent in AGENTS:
        domain = SERVER_OF[agent]
        own: dict[str, dict[str, Any]] = {}
        if domain in DOMAIN_REGISTRARS:
            built = build_server(domain)
            own = {t.name: t.inputSchema for t in await built.mcp.list_tools()}
            writes |= built.write_tools
        by_agent[agent] = {**order_tools, **own}
    return by_agent, writes


@asynccontextmanager
async def open_directory(plant: Plant) -> AsyncIterator[PlantDirectory]:
    """The plant's names over an in-memory MCP session of their own, open while the context is
    (for a model served apart from the agent team, `titan model serve`)."""
    async with AsyncExitStack() as stack:
        built = build_server(ORDER_READS, plant=plant)
        session = await stack.enter_async_context(connect(built.mcp))
        directory = PlantDirectory(session)
        await directory.names()
        yield directory


@asynccontextmanager
async def open_toolbox(plant: Plant) -> AsyncIterator[Toolbox]:
    """One MCP session per domain server present, open while the context is.

    A specialist gets its own server's tools plus the order reads; one whose server is not
    there yet gets the order reads alone. The sessions live in a
    task of their own, so that the caller's errors reach it unwrapped by their task groups.
    """
    box = Toolbox()
    ready, done = asyncio.Event(), asyncio.Event()
    holder = asyncio.create_task(_hold(plant, box, ready, done), name="titan-mcp-sessions")
    waiting = asyncio.create_task(ready.wait())
    await asyncio.wait({holder, waiting}, return_when=asyncio.FIRST_COMPLETED)
    if not ready.is_set():
        waiting.cancel()
        await holder  # raises what stopped the sessions from opening
    try:
        yield box
    finally:
        done.set()
        await holder
