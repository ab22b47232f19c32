"""Runs in LangGraph's own server (`langgraph.json`): its graph, with that server's checkpointer,
raises approval requests that Titan's approvals API decides; the thread, resumed there, learns
what became of the call and runs nothing twice."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from api_helpers import bearer, client_for, key, running_app
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from agents.graph import Graph, build_graph
from agents.mcp_tools import Toolbox, open_toolbox
from agents.offline import OfflineChatModel
from mcp_servers.gate import LANGGRAPH_THREAD
from mcp_servers.runtime import Plant
from tools.core import db

CANCEL = "Cancel order ORD-10021, the customer withdrew it"


async def cancelled_events(conn: db.AsyncConn) -> int:
    cur = await conn.execute(
        "select count(*) as n from event_log where type = 'order.cancelled' "
        "and entity_id = 'ORD-10021'"
    )
    row = await cur.fetchone()
    await conn.commit()
    assert row is not None
    return int(row["n"])


def served_by_langgraph(box: Toolbox, plant: Plant) -> Graph:
    """The graph as `make_graph` builds it for LangGraph's server, which brings its own
    checkpointer (and sends a request as the message alone)."""
    return build_graph(
        box, OfflineChatModel(), pool=plant.pool, checkpointer=InMemorySaver(),
        thread_prefix=LANGGRAPH_THREAD,
    )  # fmt: skip


@pytest.mark.anyio
async def test_a_request_raised_in_langgraphs_server_is_decided_by_titan_and_runs_once(
    mcp_plant: Plant, plant: db.AsyncConn, db_url: str
) -> None:
    config: Any = {"configurable": {"thread_id": "3f1c2a9e-studio"}}
    with anyio.fail_after(60):
        async with open_toolbox(mcp_plant) as box:
            graph = served_by_langgraph(box, mcp_plant)
            paused = await graph.ainvoke({"messages": [HumanMessage(content=CANCEL)]}, config)
            cur = await plant.execute("select approval_id, thread_id, status from approvals")
            [request] = await cur.fetchall()
            await plant.commit()
            supervisor = await key(plant, "supervisor")
            async with running_app(db_url) as app, client_for(app) as http:
                decided = await http.post(
                    f"/approvals/{request['approval_id']}/decision",
                    json={"decision": "approve"},
                    headers=bearer(supervisor),
                )
            ran = await cancelled_events(plant)
            # Resumed in that server (whatever it sends), the thread takes Titan's decision.
            done = await graph.ainvoke(Command(resume={"type": "reject"}), config)

    assert paused["pending_approval"]["approval_id"] == request["approval_id"]
    assert request["thread_id"] == "langgraph-3f1c2a9e-studio" and request["status"] == "PENDING"
    assert decided.status_code == 200, decided.text
    body = decided.json()["approval"]
    assert body["status"] == "APPROVED" and body["executed_at"] is not None
    assert body["outcome"]["ok"] is True
    assert ran == 1 and await cancelled_events(plant) == 1
    assert done["pending_approval"] is None
    print("ANSWER", done["answer"])
    assert done["answer"].startswith("Cancelled order ORD-10021")


@pytest.mark.anyio
async def test_a_message_alone_starts_a_fresh_request_on_a_thread_that_answered_before(
    mcp_plant: Plant, plant: db.AsyncConn
) -> None:
    config: Any = {"configurable": {"thread_id": "studio-2"}}
    with anyio.fail_after(60):
        async with open_toolbox(mcp_plant) as box:
            graph = served_by_langgraph(box, mcp_plant)
            first = await graph.ainvoke(
                {"messages": [HumanMessage(content="How is MUC-CNC-001 doing?")]}, config
            )
            second = await graph.ainvoke(
                {"messages": [HumanMessage(content="What is the status of ORD-10021?")]}, config
            )

    assert "MUC-CNC-001" in first["answer"] and first["turn"] == 1
    assert second["turn"] == 2 and second["request"] == "What is the status of ORD-10021?"
    assert "ORD-10021" in second["answer"] and "MUC-CNC-001" not in second["answer"]
    assert [c["name"] for c in second["tool_calls"]] != [c["name"] for c in first["tool_calls"]]
