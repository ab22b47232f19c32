"""Which tools read and which write, from the MCP servers' own annotations (readOnlyHint)."""

from __future__ import annotations

from pydantic import BaseModel


class ToolKinds(BaseModel):
    """Tool name → whether it writes, and the names marked destructive."""

    writes: dict[str, bool]
    destructive: set[str]

    def is_write(self, name: str) -> bool:
        # A name no server has (a tool the model made up) changes nothing: it counts as a read.
        return self.writes.get(name, False)


_known: ToolKinds | None = None


async def tool_kinds() -> ToolKinds:
    """Every MCP tool of Titan, as the `all` server lists it (built once per process)."""
    global _known
    if _known is None:
        from mcp_servers.servers import build_server  # builds every domain: only when asked

        server = build_server("all")
        writes: dict[str, bool] = {}
        destructive: set[str] = set()
        for tool in await server.mcp.list_tools():
            notes = tool.annotations
            writes[tool.name] = not (notes is not None and notes.readOnlyHint is True)
            if notes is not None and notes.destructiveHint:
                destructive.add(tool.name)
        _known = ToolKinds(writes=writes, destructive=destructive)
    return _known
