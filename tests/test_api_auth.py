"""Who may call what: no key is 401, a role too low is 403, the right role gets through — for
every group of endpoints."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest
from api_helpers import bearer, client_for, key, running_app
from fastapi import FastAPI

from tools.accounts import accounts
from tools.core import db

LIMIT_S = 60

# (group, method, path, body, role needed, status for that role)
ENDPOINTS: list[tuple[str, str, str, dict[str, Any] | None, accounts.Role, int]] = [
    ("chat", "GET", "/threads", None, "operator", 200),
    ("chat", "POST", "/chat", {"message": "Which carriers do we ship with?"}, "operator", 200),
    ("plant", "GET", "/machines?facility_id=PHX", None, "operator", 200),
    ("plant", "GET", "/orders?limit=5", None, "operator", 200),
    ("plant", "GET", "/stock?sku=SKU-TB-1001", None, "operator", 200),
    ("plant", "GET", "/shipments?limit=5", None, "operator", 200),
    ("plant", "GET", "/work-orders", None, "operator", 200),
    ("plant", "GET", "/notifications", None, "operator", 200),
    ("approvals", "GET", "/approvals", None, "operator", 200),
    # deciding needs at least supervisor (each request names its own); the approval does not
    # exist, hence 404 past the check
    ("approvals", "POST", "/approvals/APR-0000/decision", {"decision": "approve"},
     "supervisor", 404),
    ("simulation", "GET", "/sim/status", None, "operator", 200),
    # no engine runs in this app: past the role check the command is refused with 409
    ("simulation", "POST", "/sim/pause", None, "supervisor", 409),
    ("simulation", "POST", "/sim/rates", {"rates": {"orders": 2}}, "supervisor", 409),
    ("keys", "GET", "/keys", None, "admin", 200),
    ("keys", "POST", "/keys", {"role": "operator", "label": "kiosk"}, "admin", 201),
]  # fmt: skip

LOWER: dict[accounts.Role, accounts.Role | None] = {
    "operator": None,
    "supervisor": "operator",
    "production_manager": "supervisor",
    "admin": "production_manager",
}


@pytest.fixture
async def app(plant: db.AsyncConn, db_url: str) -> AsyncIterator[FastAPI]:
    async with running_app(db_url) as opened:
        yield opened


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as opened:
        yield opened


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("group", "method", "path", "body", "role", "expected"),
    ENDPOINTS,
    ids=[f"{e[0]}:{e[1]} {e[2]}" for e in ENDPOINTS],
)
async def test_each_endpoint_wants_a_key_and_its_role(
    client: httpx.AsyncClient,
    plant: db.AsyncConn,
    group: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    role: accounts.Role,
    expected: int,
) -> None:
    right = await key(plant, role)
    lower = LOWER[role]
    with anyio.fail_after(LIMIT_S):
        anonymous = await client.request(method, path, json=body)
        forged = await client.request(
            method, path, json=body, headers=bearer("titan_000000000000_" + "x" * 43)
        )
        low = (
            await client.request(method, path, json=body, headers=bearer(await key(plant, lower)))
            if lower
            else None
        )
        allowed = await client.request(method, path, json=body, headers=bearer(right))

    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert anonymous.json()["error"]["code"] == "unauthenticated"
    assert "Authorization: Bearer" in anonymous.json()["error"]["message"]
    assert forged.status_code == 401 and "unknown or revoked" in forged.json()["error"]["message"]
    if low is not None:
        assert low.status_code == 403
        message = low.json()["error"]["message"]
        assert f"needs the role {role}" in message and lower in message
    assert allowed.status_code == expected, allowed.json()


@pytest.mark.anyio
async def test_a_revoked_key_is_refused_and_a_malformed_header_says_so(
    client: httpx.AsyncClient, plant: db.AsyncConn
) -> None:
    admin = await key(plant, "admin")
    with anyio.fail_after(LIMIT_S):
        made = await client.post("/keys", json={"role": "operator"}, headers=bearer(admin))
        token = made.json()["token"]
        before = await client.get("/threads", headers=bearer(token))
        revoked = await client.delete(
            f"/keys/{made.json()['key']['key_id']}", headers=bearer(admin)
        )
        after = await client.get("/threads", headers=bearer(token))
        basic = await client.get("/threads", headers={"Authorization": "Basic dXNlcjpwdw=="})

    assert before.status_code == 200
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert after.status_code == 401
    assert basic.status_code == 401 and "not a Titan API key" in basic.json()["error"]["message"]


@pytest.mark.anyio
async def test_ops_endpoints_need_no_key_and_mcp_keeps_its_own_gate(
    client: httpx.AsyncClient, plant: db.AsyncConn
) -> None:
    with anyio.fail_after(LIMIT_S):
        health = await client.get("/health")
        ready = await client.get("/ready")
        metrics = await client.get("/metrics")
        mcp = await client.post("/mcp/all", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        docs = await client.get("/openapi.json")

    assert health.json() == {"status": "ok", "process": os.getpid()}
    assert ready.status_code == 200 and ready.json()["ready"] is True
    assert "titan_http_requests_total" in metrics.text
    assert "titan_approvals_pending 0.0" in metrics.text
    assert mcp.status_code == 401
    assert {"/chat", "/approvals/{approval_id}/decision", "/events/stream", "/sim/status"} <= set(
        docs.json()["paths"]
    )


@pytest.mark.anyio
async def test_the_first_start_makes_one_admin_key_that_works_and_later_starts_make_none(
    plant: db.AsyncConn, db_url: str
) -> None:
    shown: list[accounts.IssuedKey] = []
    with anyio.fail_after(LIMIT_S):
        for _ in range(2):
            async with running_app(db_url, on_admin_key=shown.append) as opened:
                async with client_for(opened) as client:
                    keys = await client.get("/keys", headers=bearer(shown[0].token))

    assert len(shown) == 1 and shown[0].key.role == "admin"
    assert keys.status_code == 200
    assert [k["key_id"] for k in keys.json()] == [shown[0].key.key_id]
