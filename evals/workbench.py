"""The agent plumbing a process keeps across tasks: one MCP session per domain server, over a
plant whose pool each task swaps for its own database's.

Opening the domain servers' sessions costs about a second, more than most tasks take; a task
still gets its own database, pool, checkpointer and graph. After a task that failed or timed out
the sessions are closed and opened afresh for the next, so nothing half-done carries over.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from langchain_core.language_models import BaseChatModel

from agents.checkpoints import open_checkpointer
from agents.graph import build_graph
from agents.mcp_tools import Toolbox, open_toolbox
from agents.runtime import Agents
from mcp_servers.runtime import Plant
from tools.core import db


class Workbench:
    """Open MCP sessions reused by the tasks a process runs one after another."""

    def __init__(self) -> None:
        self._stack = AsyncExitStack()
        self._plant: Plant | None = None
        self._box: Toolbox | None = None

    async def close(self) -> None:
        """Close the MCP sessions (the next task opens new ones)."""
        self._plant, self._box = None, None
        await self._stack.aclose()
        self._stack = AsyncExitStack()

    @asynccontextmanager
    async def team(self, url: str, model: BaseChatModel) -> AsyncIterator[Agents]:
        """The agent team over the prepared database at `url`, with `model`."""
        pool = db.make_pool(url)
        await db.open_pool(pool)
        location = db.DatabaseLocation(url=url, embedded=False)
        clean = False
        try:
            if self._plant is None or self._box is None:
                self._plant = Plant(pool=pool, location=location)
                self._box = await self._stack.enter_async_context(open_toolbox(self._plant))
            else:
                self._plant.pool, self._plant.location = pool, location
            async with open_checkpointer(url) as saver:
                graph = build_graph(self._box, model, pool=pool, checkpointer=saver)
                yield Agents(graph, self._plant, model=self._box.with_directory(model))
            clean = True
        finally:
            if not clean:
                await self.close()
            await pool.close()
