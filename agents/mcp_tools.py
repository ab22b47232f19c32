"""Each specialist's tools, loaded over MCP from in-memory sessions opened once per graph."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from langchain_core.tools import BaseTool
from langchain_mcp_adapters.interceptors import (
    MCPToolCallRequest,
    MCPToolCallResult,
    ToolCallInterceptor,
)
from langchain_mcp_adapters.tools import load_mcp_tools
from mcp import ClientSession
from mcp.shared.memory import create_connected_server_and_client_session

from agents.state import AGENTS
from mcp_servers.runtime import CALLER_META_KEY, Caller, Plant
from mcp_servers.servers import DOMAIN_REGISTRARS, build_server

ORDER_READS = "orders"


# The MCP server each specialist works through, where its name differs from the agent's.
SERVER_OF = {"scheduler": "scheduling"}


_acting_for: ContextVar[Caller | None] = ContextVar("titan_acting_for", default=None)


@contextmanager
def acting_for(caller: Caller) -> Iterator[None]:
    """Tool calls made inside are recorded as made for `caller` (the MCP request's `_meta`)."""
    token = _acting_for.set(caller)
    try:
        yield
    finally:
        _acting_for.reset(token)


Handler = Callable[[MCPToolCallRequest], Awaitable[MCPToolCallResult]]


def _on_behalf(session: ClientSession) -> ToolCallInterceptor:
    """An interceptor that sends the caller in the request's `_meta` (the adapter has no way to
    pass `_meta` itself, so the call goes to the session directly when there is a caller)."""

    async def intercept(request: MCPToolCallRequest, handler: Handler) -> MCPToolCallResult:
        caller = _acting_for.get()
        if caller is None:
            return await handler(request)
        meta = {CALLER_META_KEY: caller.model_dump(exclude_none=True)}
        return await session.call_tool(request.name, request.args, meta=meta)

    return intercept


@dataclass
class Toolbox:
    """The tools each specialist may call, and which of them write."""

    by_agent: dict[str, list[BaseTool]] = field(default_factory=dict)
    write_tools: set[str] = field(default_factory=set)

    def names(self, agent: str) -> list[str]:
        return [t.name for t in self.by_agent.get(agent, [])]


async def _load(
    stack: AsyncExitStack, domain: str, plant: Plant
) -> tuple[list[BaseTool], set[str]]:
    built = build_server(domain, plant=plant)
    session = await stack.enter_async_context(
        create_connected_server_and_client_session(built.mcp._mcp_server)
    )
    tools = await load_mcp_tools(session, tool_interceptors=[_on_behalf(session)])
    return tools, built.write_tools


async def _hold(plant: Plant, box: Toolbox, ready: asyncio.Event, done: asyncio.Event) -> None:
    async with AsyncExitStack() as stack:
        reads, _ = await _load(stack, ORDER_READS, plant)
        for agent in AGENTS:
            own: list[BaseTool] = []
            domain = SERVER_OF.get(agent, agent)
            if domain in DOMAIN_REGISTRARS:
                own, writes = await _load(stack, domain, plant)
                box.write_tools |= writes
            names = {t.name for t in own}
            box.by_agent[agent] = own + [t for t in reads if t.name not in names]
        ready.set()
        await done.wait()


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
