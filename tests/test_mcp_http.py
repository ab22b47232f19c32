"""The MCP servers over streamable HTTP, behind API keys and roles, against a running server."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import anyio
import httpx
import pytest
import uvicorn
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from mcp_servers.http import standalone_app
from mcp_servers.runtime import CALLER_META_KEY
from tools.accounts import accounts
from tools.core import db
from tools.core.operations import SYSTEM


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def base_url(plant: db.AsyncConn) -> AsyncIterator[str]:
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            standalone_app(["communications", "governance"]),
            host="127.0.0.1", port=port, log_level="warning", lifespan="on",
        )
    )  # fmt: skip
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(server.serve)
        with anyio.fail_after(30):
            while not server.started:
                await anyio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
        server.should_exit = True


async def key(conn: db.AsyncConn, role: accounts.Role) -> str:
    return (await accounts.create_key(conn, SYSTEM, role=role)).token


async def call(url: str, token: str, tool: str, arguments: dict[str, object], meta=None):  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx.AsyncClient(headers=headers, timeout=30) as http,
        streamable_http_client(url, http_client=http) as (read, write, _),
        ClientSession(read, write) as client,
    ):
        await client.initialize()
        tools = (await client.list_tools()).tools
        return tools, await client.call_tool(tool, arguments, meta=meta)


@pytest.mark.anyio
async def test_a_supervisor_lists_reads_and_writes_over_http(
    base_url: str, plant: db.AsyncConn
) -> None:
    token = await key(plant, "supervisor")

    tools, read = await call(f"{base_url}/mcp/governance", token, "audit_trail", {"limit": 5})
    _, written = await call(
        f"{base_url}/mcp/communications", token, "create_inquiry",
        {"customer_id": "BOEING", "subject": "Cert pack", "body": "Send the 8130-3 tags."},
        meta={CALLER_META_KEY: {"user_id": "someone-else"}},
    )  # fmt: skip

    assert "order_traceability" in {t.name for t in tools}
    assert not read.isError
    assert not written.isError and written.structuredContent is not None
    cur = await plant.execute(
        "select actor_id from audit_log where entity_type = 'inquiry' and entity_id = %s",
        (written.structuredContent["inquiry_id"],),
    )
    # The key's user, whoever the request's _meta claims to be acting for.
    assert await cur.fetchall() == [{"actor_id": "supervisor"}]


@pytest.mark.anyio
async def test_no_key_or_a_bad_key_gets_401_saying_what_is_missing(base_url: str) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        missing = await http.post(f"{base_url}/mcp/governance", json={})
        wrong = await http.post(
            f"{base_url}/mcp/governance", json={}, headers={"Authorization": "Bearer nope"}
        )

    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "unauthenticated"
    assert "Authorization: Bearer" in missing.json()["error"]["message"]
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert wrong.status_code == 401 and "not a Titan API key" in wrong.json()["error"]["message"]


@pytest.mark.anyio
async def test_an_operator_may_read_and_a_write_is_refused_as_a_tool_result_saying_why(
    base_url: str, plant: db.AsyncConn
) -> None:
    token = await key(plant, "operator")
    _, read = await call(f"{base_url}/mcp/communications", token, "list_inquiries", {})
    arguments = {"customer_id": "BOEING", "subject": "x", "body": "y"}
    _, denied = await call(f"{base_url}/mcp/communications", token, "create_inquiry", arguments)

    # The session goes on: the refusal is the tool's result, with the reason and the fields.
    assert not read.isError
    assert denied.isError and denied.structuredContent is not None
    error = denied.structuredContent["error"]
    assert error["code"] == "forbidden" and "create_inquiry" in error["message"]
    [details] = error["details"]
    assert (details["role"], details["permission"]) == ("operator", "message.send")
    assert details["roles"] == "supervisor, production_manager, admin"
    assert "needs the permission message.send" in error["message"]
    cur = await plant.execute("select count(*) as n from customer_inquiries where subject = 'x'")
    assert await cur.fetchone() == {"n": 0}


@pytest.mark.anyio
async def test_a_guarded_write_over_http_waits_for_a_person_as_the_keys_user(
    base_url: str, plant: db.AsyncConn
) -> None:
    token = await key(plant, "supervisor")
    message = {"recipient": "buyer@boeing.example", "channel": "EMAIL",
               "subject": "Your order", "body": "It ships on Friday."}  # fmt: skip
    _, held = await call(f"{base_url}/mcp/communications", token, "send_message", message)

    assert held.isError and held.structuredContent is not None
    error = held.structuredContent["error"]
    assert error["code"] == "approval_required"
    approval_id = error["details"][0]["approval_id"]
    cur = await plant.execute(
        "select count(*) as n from notifications where subject = 'Your order'"
    )
    assert await cur.fetchone() == {"n": 0}
    cur = await plant.execute(
        "select status, requested_by, action from approvals where approval_id = %s",
        (approval_id,),
    )
    assert await cur.fetchone() == {
        "status": "PENDING",
        "requested_by": "supervisor",
        "action": "send_message",
    }
