"""Bad input gets a clear 4xx and changes nothing, over a real server's kept-alive connection:
NUL characters and bytes that are not UTF-8 in paths, queries and bodies, JSON nested past any
reason, offsets past any page, a method a route does not take (405 with Allow), a body value of
another type or a field no route knows, and, through the tools every caller passes, a due date
centuries away, a quantity past any order, a message to no one Titan knows, a fault pattern
ended on a machine that does not exist."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest
from api_helpers import bearer, key, served
from mcp_helpers import session_for

from mcp_servers.runtime import Plant
from tools.core import db

pytestmark = pytest.mark.anyio

# (method, path, JSON body or raw bytes, what the message says)
HTTP_CASES: list[tuple[str, str, Any, str]] = [
    ("GET", "/orders?status=%00", None, "query holds a NUL character"),
    ("GET", "/orders/ORD-1%00", None, "path holds a NUL character"),
    ("GET", "/orders?customer=%FF%FE", None, "query is not valid UTF-8"),
    ("POST", "/chat", {"message": "hold ORD-10017\u0000 now"}, "body holds a NUL character"),
    ("POST", "/chat", b'{"message": "\xff\xfe"}', "body is not valid UTF-8"),
    ("POST", "/chat", b"[" * 100_000 + b"]" * 100_000, "nests deeper than 64 levels"),
    ("GET", "/orders?offset=99999999999999999999", None, "offset"),
    ("POST", "/sim/equipment/PHX-CNC-999/pattern", {"pattern": None}, "PHX-CNC-999 does not"),
    # JSON bodies take the declared types only, and no fields the route does not know.
    ("POST", "/sim/equipment/PHX-CNC-007/pattern", {"pattern": None, "replace": 0}, "replace"),
    ("POST", "/sim/rates", {"speed": "60"}, "body.speed"),
    ("POST", "/chat", {"message": "hello", "priority": "urgent"}, "body.priority"),
    # What the schema allows is accepted, and what it does not is refused: statuses are named,
    # a key's user ID keeps to its pattern (empty is not "missing"), a rate change changes one.
    ("GET", "/shipments?status=LOST", None, "query.status"),
    ("POST", "/keys", {"user_id": ""}, "user ID '' must be 2-64 characters"),
    ("POST", "/sim/rates", {"rates": {}}, "give at least one of rates, enabled or speed"),
    ("POST", "/sim/scenarios/moon-landing", None, "path.name"),
]


async def test_bad_requests_get_a_clear_4xx_and_the_connection_goes_on(
    plant: db.AsyncConn, db_url: str
) -> None:
    admin = await key(plant, "admin")
    answers: list[httpx.Response] = []
    with anyio.fail_after(90):
        async with (
            served(db_url) as base,
            httpx.AsyncClient(base_url=base, headers=bearer(admin), timeout=30) as http,
        ):
            for method, path, body, _ in HTTP_CASES:
                raw = body if isinstance(body, bytes) else None
                answers.append(
                    await http.request(
                        method,
                        path,
                        json=None if raw is not None else body,
                        content=raw,
                        headers={"content-type": "application/json"} if raw else None,
                    )  # fmt: skip
                )
            wrong = await http.delete("/orders")
            after = await http.get("/orders/ORD-10017")  # the same kept-alive connection

    for (method, path, _, said), answer in zip(HTTP_CASES, answers, strict=True):
        assert 400 <= answer.status_code < 500, (method, path, answer.status_code, answer.text)
        assert said in answer.json()["error"]["message"], (path, answer.text)
    assert wrong.status_code == 405 and "GET" in wrong.headers["allow"]
    assert after.status_code == 200 and after.json()["status"] != "ON_HOLD"


async def test_the_tools_refuse_impossible_values_whoever_calls(
    mcp_plant: Plant, plant: db.AsyncConn
) -> None:
    order = {"customer_id": "TESLA", "lines": [{"sku": "SKU-MH-4001", "quantity": 2}]}
    async with session_for("inventory", mcp_plant) as inventory:
        late = await inventory.call_tool(
            "create_order", {**order, "due_at": "9999-12-31T17:00:00Z"}
        )
        huge = await inventory.call_tool(
            "create_order",
            {**order, "due_at": "2026-04-15T17:00:00Z",
             "lines": [{"sku": "SKU-MH-4001", "quantity": 10**12}]},
        )  # fmt: skip
    async with session_for("communications", mcp_plant) as communications:
        nowhere = await communications.call_tool(
            "send_message",
            {"recipient": "../../etc/passwd", "channel": "EMAIL", "subject": "x", "body": "y"},
        )

    def message(result: Any) -> str:
        assert result.isError and result.structuredContent is not None, result.content
        error = result.structuredContent["error"]
        assert error["code"] == "validation_error", error
        return str(error["message"])

    assert "more than 2 years ahead" in message(late)
    assert "1,000,000,000,000" in message(huge) or "quantity" in message(huge)
    assert "is not a recipient Titan knows" in message(nowhere)
    cur = await plant.execute(
        "select (select count(*) from notifications where subject = 'x') as sent, "
        "(select count(*) from approvals) as requests, "
        "(select count(*) from orders where due_at > now() + interval '3 years') as far"
    )
    assert await cur.fetchone() == {"sent": 0, "requests": 0, "far": 0}
