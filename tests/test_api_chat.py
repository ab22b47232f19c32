"""Chat and approvals over HTTP: the real app, real PostgreSQL, the offline model."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import httpx
import pytest
from api_helpers import bearer, client_for, key, read_sse, running_app, served
from fastapi import FastAPI

from tools.core import db

LIMIT_S = 90
STOCK_QUESTION = "How much SKU-TB-1001 do we have in stock?"
CANCEL = "Cancel order ORD-10021, the customer withdrew it"


@pytest.fixture
async def app(plant: db.AsyncConn, db_url: str) -> AsyncIterator[FastAPI]:
    async with running_app(db_url) as opened:
        yield opened


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as opened:
        yield opened


async def status_of(conn: db.AsyncConn, order_id: str) -> str:
    cur = await conn.execute("select status from orders where order_id = %s", (order_id,))
    row = await cur.fetchone()
    assert row is not None
    return str(row["status"])


async def cancellations(conn: db.AsyncConn, order_id: str) -> int:
    cur = await conn.execute(
        "select count(*) as n from event_log where type = 'order.cancelled' and entity_id = %s",
        (order_id,),
    )
    row = await cur.fetchone()
    return int(row["n"]) if row else 0


@pytest.mark.anyio
async def test_a_chat_answers_with_its_route_and_tool_calls(
    client: httpx.AsyncClient, plant: db.AsyncConn
) -> None:
    token = await key(plant, "operator")
    with anyio.fail_after(LIMIT_S):
        answered = await client.post(
            "/chat", json={"message": STOCK_QUESTION}, headers=bearer(token)
        )
        body = answered.json()
        thread = await client.get(f"/threads/{body['thread_id']}", headers=bearer(token))
        listed = await client.get("/threads", headers=bearer(token))

    assert answered.status_code == 200, body
    assert body["route"] == ["inventory"]
    assert body["tool_calls"] and all(c["agent"] == "inventory" for c in body["tool_calls"])
    assert "SKU-TB-1001" in body["answer"]
    assert body["approval"] is None
    assert thread.status_code == 200
    assert thread.json()["messages"][0] == {"role": "human", "content": STOCK_QUESTION}
    assert thread.json()["waiting_for_approval"] is False
    assert body["thread_id"] in [t["thread_id"] for t in listed.json()]


@pytest.mark.anyio
async def test_a_chat_needing_approval_is_listed_and_approving_it_executes_once(
    client: httpx.AsyncClient, plant: db.AsyncConn
) -> None:
    operator, manager = await key(plant, "operator"), await key(plant, "production_manager")
    supervisor = await key(plant, "supervisor")
    with anyio.fail_after(LIMIT_S):
        asked = await client.post("/chat", json={"message": CANCEL}, headers=bearer(supervisor))
        approval = asked.json()["approval"]
        assert approval is not None and approval["action"] == "cancel_order"
        pending = await client.get("/approvals?status=pending", headers=bearer(operator))
        one = await client.get(f"/approvals/{approval['approval_id']}", headers=bearer(operator))
        status_before = await status_of(plant, "ORD-10021")
        by_operator = await client.post(
            f"/approvals/{approval['approval_id']}/decision",
            json={"decision": "approve"},
            headers=bearer(operator),
        )
        first = await client.post(
            f"/approvals/{approval['approval_id']}/decision",
            json={"decision": "approve"},
            headers=bearer(manager),
        )
        second = await client.post(
            f"/approvals/{approval['approval_id']}/decision",
            json={"decision": "reject", "reason": "changed my mind"},
            headers=bearer(manager),
        )

    assert [a["approval_id"] for a in pending.json()] == [approval["approval_id"]]
    assert (
        one.json()["status"] == "PENDING" and one.json()["thread_id"] == asked.json()["thread_id"]
    )
    assert status_before != "CANCELLED"
    assert by_operator.status_code == 403
    assert "needs the permission ai.approve" in by_operator.json()["error"]["message"]
    assert first.status_code == 200, first.json()
    assert first.json()["approval"]["status"] == "APPROVED"
    assert first.json()["approval"]["decided_by"] == "production-manager"
    assert first.json()["thread"]["approval"] is None
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "conflict"
    assert "already decided" in second.json()["error"]["message"]
    assert await status_of(plant, "ORD-10021") == "CANCELLED"
    assert await cancellations(plant, "ORD-10021") == 1
    after = await client.get("/approvals?status=pending", headers=bearer(operator))
    assert after.json() == []


@pytest.mark.anyio
async def test_a_rejected_approval_executes_nothing_and_reports_the_reason(
    client: httpx.AsyncClient, plant: db.AsyncConn
) -> None:
    manager = await key(plant, "production_manager")
    with anyio.fail_after(LIMIT_S):
        asked = await client.post("/chat", json={"message": CANCEL}, headers=bearer(manager))
        approval_id = asked.json()["approval"]["approval_id"]
        rejected = await client.post(
            f"/approvals/{approval_id}/decision",
            json={"decision": "reject", "reason": "the customer kept the order after all"},
            headers=bearer(manager),
        )
        listed = await client.get("/approvals?status=rejected", headers=bearer(manager))

    assert rejected.status_code == 200
    assert rejected.json()["approval"]["status"] == "REJECTED"
    assert "the customer kept the order after all" in rejected.json()["thread"]["answer"]
    assert [a["approval_id"] for a in listed.json()] == [approval_id]
    assert await status_of(plant, "ORD-10021") != "CANCELLED"
    assert await cancellations(plant, "ORD-10021") == 0


@pytest.mark.anyio
async def test_an_edit_without_arguments_is_a_422_naming_the_field(
    client: httpx.AsyncClient, plant: db.AsyncConn
) -> None:
    manager = await key(plant, "production_manager")
    with anyio.fail_after(LIMIT_S):
        edit = await client.post(
            "/approvals/APR-0123456789ABCDEF/decision",
            json={"decision": "edit"},
            headers=bearer(manager),
        )
        unknown = await client.post(
            "/approvals/APR-0123456789ABCDEF/decision",
            json={"decision": "approve"},
            headers=bearer(manager),
        )
        bad_kind = await client.post(
            "/approvals/APR-0123456789ABCDEF/decision",
            json={"decision": "maybe"},
            headers=bearer(manager),
        )

    assert edit.status_code == 422
    assert "an edit needs `args`" in edit.json()["error"]["details"][0]["reason"]
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    assert bad_kind.status_code == 422
    assert bad_kind.json()["error"]["details"][0]["field"] == "body.decision"


@pytest.mark.anyio
async def test_chat_validation_errors_say_which_field_and_why(
    client: httpx.AsyncClient, plant: db.AsyncConn
) -> None:
    token = await key(plant, "operator")
    with anyio.fail_after(LIMIT_S):
        empty = await client.post("/chat", json={"message": ""}, headers=bearer(token))
        too_long = await client.post("/chat", json={"message": "x" * 4001}, headers=bearer(token))
        missing = await client.post("/chat", json={}, headers=bearer(token))
        huge = await client.post(
            "/chat", content=b'{"message": "' + b"x" * 2_000_000 + b'"}', headers=bearer(token)
        )
        unknown_thread = await client.get("/threads/chat-nothing", headers=bearer(token))

    for response, field in ((empty, "body.message"), (too_long, "body.message")):
        assert response.status_code == 422
        detail = response.json()["error"]["details"][0]
        assert detail["field"] == field and detail["reason"]
    assert "at most 4000" in too_long.json()["error"]["details"][0]["reason"]
    assert missing.json()["error"]["details"][0] == {
        "field": "body.message",
        "reason": "Field required",
        "type": "missing",
    }
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "too_large"
    assert unknown_thread.status_code == 404
    assert set(unknown_thread.json()["error"]) == {"code", "message", "details"}


@pytest.mark.anyio
async def test_a_streamed_chat_sends_agents_tool_calls_tokens_and_the_result(
    plant: db.AsyncConn, db_url: str
) -> None:
    token = await key(plant, "operator")
    with anyio.fail_after(LIMIT_S):
        async with (
            served(db_url) as base,
            httpx.AsyncClient(base_url=base, timeout=60) as http,
            http.stream(
                "POST", "/chat/stream", json={"message": STOCK_QUESTION}, headers=bearer(token)
            ) as response,
        ):
            assert response.headers["content-type"].startswith("text/event-stream")
            messages = await read_sse(response, 100)

    kinds = [m.event for m in messages]
    assert kinds[0] == "thread" and kinds[1] == "agent" and kinds[-1] == "done"
    assert "tool_call" in kinds and "token" in kinds
    done = messages[-1].data
    assert done["route"] == ["inventory"]
    assert "".join(m.data for m in messages if m.event == "token") == done["answer"]
    assert done["thread_id"] == messages[0].data["thread_id"]
    # The steps came as the run went: every agent and tool call, in the order they ran.
    assert [m.data["agent"] for m in messages if m.event == "agent"] == done["route"]
    assert [m.data["name"] for m in messages if m.event == "tool_call"] == [
        c["name"] for c in done["tool_calls"]
    ]


@pytest.mark.anyio
async def test_an_operator_asking_for_a_write_is_told_what_it_needs_and_nothing_waits(
    client: httpx.AsyncClient, plant: db.AsyncConn
) -> None:
    operator = await key(plant, "operator")
    with anyio.fail_after(LIMIT_S):
        asked = await client.post("/chat", json={"message": CANCEL}, headers=bearer(operator))
        pending = await client.get("/approvals?status=pending", headers=bearer(operator))

    assert asked.status_code == 200, asked.text
    body = asked.json()
    assert body["approval"] is None and pending.json() == []
    assert "job.release" in body["answer"] and "supervisor" in body["answer"]
    assert await status_of(plant, "ORD-10021") != "CANCELLED"
