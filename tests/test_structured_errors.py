"""A refusal is the same object wherever it is read: a stable code, the message, and the fields
naming what went wrong — in a REST error body and in an MCP tool error's structured content."""

from __future__ import annotations

import anyio
import pytest
from api_helpers import bearer, client_for, key, running_app
from mcp_helpers import session_for

from mcp_servers.runtime import Plant
from tools.core import db


@pytest.mark.anyio
async def test_an_mcp_tool_error_carries_the_code_and_the_fields_of_the_refusal(
    mcp_plant: Plant, plant: db.AsyncConn
) -> None:
    async with session_for("inventory", mcp_plant) as client:
        # ORD-10001 is COMPLETED in the demo plant: a final status.
        refused = await client.call_tool("validate_order", {"order_id": "ORD-10001"})
        unknown = await client.call_tool("get_order", {"order_id": "ORD-99999"})
        malformed = await client.call_tool("stock_levels", {"sku": 7})

    assert refused.isError and refused.structuredContent is not None
    error = refused.structuredContent["error"]
    assert error["code"] == "invalid_transition"
    assert error["details"] == [
        {"entity": "order", "id": "ORD-10001", "status": "COMPLETED", "target": "VALIDATED",
         "allowed": []},
    ]  # fmt: skip
    assert "ORD-10001 is COMPLETED" in error["message"] in refused.content[0].text  # type: ignore[union-attr]
    assert unknown.structuredContent == {
        "error": {
            "code": "not_found",
            "message": "order 'ORD-99999' does not exist; order IDs look like ORD-10001",
            "details": [{"entity": "order", "id": "ORD-99999"}],
        }
    }
    assert malformed.isError and malformed.structuredContent is not None
    fields = {d["field"] for d in malformed.structuredContent["error"]["details"]}
    assert malformed.structuredContent["error"]["code"] == "validation_error"
    assert fields == {"sku"}
    cur = await plant.execute("select status from orders where order_id = 'ORD-10001'")
    assert await cur.fetchone() == {"status": "COMPLETED"}


@pytest.mark.anyio
async def test_a_rest_error_carries_the_same_code_and_fields(
    plant: db.AsyncConn, db_url: str
) -> None:
    admin = await key(plant, "admin")
    operator = await key(plant, "operator")
    async with running_app(db_url) as app, client_for(app) as client:
        with anyio.fail_after(60):
            unknown = await client.delete("/keys/0123456789ab", headers=bearer(admin))
            denied = await client.get("/keys", headers=bearer(operator))

    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"
    assert unknown.json()["error"]["details"] == [{"entity": "api_key", "id": "0123456789ab"}]
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "forbidden"
    [fields] = denied.json()["error"]["details"]
    assert (fields["role"], fields["permission"]) == ("operator", "keys.manage")
