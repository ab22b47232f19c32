"""Helpers for tests that talk to Titan's MCP servers."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

from mcp import ClientSession

from mcp_servers.runtime import Plant
from mcp_servers.servers import build_server
from mcp_servers.sessions import connect


def session_for(domain: str, plant: Plant) -> AbstractAsyncContextManager[ClientSession]:
    """A client session over the real MCP protocol, in memory, to `domain`'s server."""
    return connect(build_server(domain, plant=plant).mcp)
