"""Helpers for tests that talk to Titan's MCP servers."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

from mcp import ClientSession
from mcp.shared.memory import create_connected_server_and_client_session

from mcp_servers.runtime import Plant
from mcp_servers.servers import build_server


def session_for(domain: str, plant: Plant) -> AbstractAsyncContextManager[ClientSession]:
    """A client session over the real MCP protocol, in memory, to `domain`'s server."""
    return create_connected_server_and_client_session(
        build_server(domain, plant=plant).mcp._mcp_server
    )
