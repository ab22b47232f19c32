"""Titan's agent graph: supervisor → specialists (each with its tool loop) → composer.

Only wiring lives here. `build_graph` compiles the graph over given tools, model and pool;
`make_graph` is the factory `langgraph.json` names for LangGraph's own server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from psycopg_pool import AsyncConnectionPool

from agents.mcp_tools import Toolbox, open_toolbox
from agents.models import make_model, result_budget
from agents.offline import OfflineChatModel
from agents.offline.catalogue import load_catalogue
from agents.offline.check import check_catalogue
from agents.specialists import ToolRunner, make_approval, make_specialist
from agents.state import AGENTS, TitanState
from agents.supervisor import make_composer, make_supervisor, take_request
from mcp_servers.gate import LANGGRAPH_THREAD
from mcp_servers.runtime import open_plant
from tools.core.db import AsyncConn

Graph = CompiledStateGraph[TitanState, Any, TitanState, TitanState]


def build_graph(
    box: Toolbox,
    model: BaseChatModel,
    *,
    pool: AsyncConnectionPool[AsyncConn],
    checkpointer: BaseCheckpointSaver[Any] | None = None,
    thread_prefix: str = "",
) -> Graph:
    """The compiled graph: each specialist over its own MCP tools, approvals written to `pool`
    (under thread IDs with `thread_prefix`, for a server other than Titan's own)."""
    model = box.with_directory(model)
    if isinstance(model, OfflineChatModel):
        # A plan that does not fit the tools the agents have fails here, at start.
        check_catalogue(load_catalogue(), box.schemas(), box.write_tools)
    graph = StateGraph(TitanState)
    graph.add_node("intake", take_request)
    graph.add_node("supervisor", make_supervisor(model))
    for agent in AGENTS:
        graph.add_node(agent, make_specialist(agent, model, box.by_agent.get(agent, [])))
    runner = ToolRunner(box, result_chars=result_budget(model), thread_prefix=thread_prefix)
    graph.add_node("tools", runner)
    graph.add_node("approval", make_approval(pool, thread_prefix=thread_prefix))
    graph.add_node("composer", make_composer(model))
    graph.add_edge(START, "intake")
    graph.add_edge("intake", "supervisor")
    return graph.compile(checkpointer=checkpointer, name="titan")


@asynccontextmanager
async def make_graph(config: dict[str, Any] | None = None) -> AsyncIterator[Graph]:
    """The graph for LangGraph's server, which brings its own checkpointer. Its threads live in
    that server, so the approval requests they raise are recorded under `langgraph-` thread IDs:
    Titan's approvals API and CLI decide them and run the held call once; the thread, resumed
    in that server, learns the outcome."""
    async with open_plant() as plant, open_toolbox(plant) as box:
        yield build_graph(box, make_model(), pool=plant.pool, thread_prefix=LANGGRAPH_THREAD)
