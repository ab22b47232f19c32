"""A database outage is a 503 `database_unavailable` with Retry-After (REST) and the same error
as a tool result (MCP), after a bounded wait; when the database is back, the service recovers on
its own (a connection the outage broke is replaced, not handed out)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import psycopg
import pytest
from api_helpers import bearer, client_for, key, running_app
from mcp_helpers import session_for
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from mcp_servers.runtime import Plant
from tools.core import db
from tools.core.settings import get_settings

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def outage(db_url: str) -> AsyncIterator[None]:
    """No new connections to the test database, and every one open cut, until the block ends
    (done from the server's maintenance database: a database cannot close itself)."""
    name = conninfo_to_dict(db_url)["dbname"]
    admin = make_conninfo(db_url, dbname="postgres")
    async with await psycopg.AsyncConnection.connect(admin, autocommit=True) as conn:
        try:
            await conn.execute(f'alter database "{name}" allow_connections false')
            await conn.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s",
                (name,),
            )
            yield
        finally:
            await conn.execute(f'alter database "{name}" allow_connections true')


async def test_rest_and_mcp_answer_database_unavailable_and_recover(
    plant: db.AsyncConn, db_url: str, mcp_plant: Plant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TITAN_DB_POOL_WAIT_S", "2")
    get_settings.cache_clear()
    supervisor = await key(plant, "supervisor")
    with anyio.fail_after(120):
        async with running_app(db_url) as app, client_for(app) as http:
            async with session_for("orders", mcp_plant) as client:
                async with outage(db_url):
                    down = await http.get("/orders?limit=1", headers=bearer(supervisor))
                    tool = await client.call_tool("get_order", {"order_id": "ORD-10001"})
                # Back: the pools reconnect on their own backoff (a second or a few); nothing
                # needs restarting, and until then each answer is the same clear 503.
                while (
                    back := await http.get("/orders?limit=1", headers=bearer(supervisor))
                ).status_code == 503:
                    assert back.json()["error"]["code"] == "database_unavailable"
                    await anyio.sleep(0.2)
                while (
                    tool_back := await client.call_tool("get_order", {"order_id": "ORD-10001"})
                ).isError:
                    assert tool_back.structuredContent is not None
                    assert tool_back.structuredContent["error"]["code"] == "database_unavailable"
                    await anyio.sleep(0.2)

    assert down.status_code == 503 and down.headers["retry-after"] == "5"
    assert down.json()["error"]["code"] == "database_unavailable"
    assert "nothing was changed" in down.json()["error"]["message"]
    assert "127.0.0.1" not in down.text and "postgres" not in down.text
    assert tool.isError and tool.structuredContent is not None
    assert tool.structuredContent["error"]["code"] == "database_unavailable"
    assert back.status_code == 200 and back.json()
    assert not tool_back.isError
