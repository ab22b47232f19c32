"""Who may call what, for every group of endpoints and every role: no key or a forged key is
401, a role without the route's permission is 403 naming it, a role holding it gets through;
the permission each route needs is read from the app, and the docs' table is the code's."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from api_helpers import bearer, client_for, key, running_app
from fastapi import FastAPI

from api.cli.keys import permissions_markdown
from api.http.app import create_app
from api.http.auth import route_permissions
from tools.accounts import accounts
from tools.accounts.permissions import MATRIX, deciders
from tools.core import db
from tools.core.operations import SYSTEM
from tools.core.settings import get_settings

LIMIT_S = 60
DOCS = Path(__file__).parents[1] / "docs" / "permissions.md"

# (group, method, route as declared, request path, body, status once past the check)
ENDPOINTS: list[tuple[str, str, str, str, dict[str, Any] | None, int]] = [
    ("chat", "GET", "/threads", "/threads", None, 200),
    ("chat", "POST", "/chat", "/chat", {"message": "Which carriers do we ship with?"}, 200),
    ("plant", "GET", "/machines", "/machines?facility_id=PHX", None, 200),
    ("plant", "GET", "/orders", "/orders?limit=5", None, 200),
    ("plant", "GET", "/stock", "/stock?sku=SKU-TB-1001", None, 200),
    ("plant", "GET", "/shipments", "/shipments?limit=5", None, 200),
    ("plant", "GET", "/work-orders", "/work-orders", None, 200),
    ("plant", "GET", "/notifications", "/notifications", None, 200),
    ("board", "GET", "/schedules/board", "/schedules/board", None, 200),
    ("approvals", "GET", "/approvals", "/approvals", None, 200),
    # the approval does not exist: 404 past the check (each request names its own permission)
    ("approvals", "POST", "/approvals/{approval_id}/decision", "/approvals/APR-0000/decision",
     {"decision": "approve"}, 404),
    ("audit", "GET", "/audit", "/audit?limit=5", None, 200),
    ("audit", "GET", "/audit/export", "/audit/export?since=2020-01-01T00:00:00Z"
     "&until=2100-01-01T00:00:00Z", None, 200),
    ("simulation", "GET", "/sim/status", "/sim/status", None, 200),
    # no engine runs in this app: past the check the command is refused with 409
    ("simulation", "POST", "/sim/pause", "/sim/pause", None, 409),
    ("simulation", "POST", "/sim/rates", "/sim/rates", {"rates": {"orders": 2}}, 409),
    ("simulation", "POST", "/sim/reset", "/sim/reset", None, 409),
    ("keys", "GET", "/keys", "/keys", None, 200),
    ("keys", "POST", "/keys", "/keys", {"role": "operator", "label": "kiosk"}, 201),
]  # fmt: skip

NEEDED = {(m, p): needed for m, p, needed in route_permissions(create_app())}


@pytest.fixture
async def app(plant: db.AsyncConn, db_url: str) -> AsyncIterator[FastAPI]:
    async with running_app(db_url) as opened:
        yield opened


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as opened:
        yield opened


def test_every_route_names_its_permission_and_the_docs_table_is_the_codes() -> None:
    unnamed = [(m, p) for (m, p), needed in NEEDED.items() if needed is None]

    assert unnamed == [("GET", "/me")]  # any valid key may ask who it is
    assert DOCS.read_text() == permissions_markdown(), (
        "docs/permissions.md is stale: titan keys permissions > docs/permissions.md"
    )


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("group", "method", "route", "path", "body", "expected"),
    ENDPOINTS,
    ids=[f"{e[0]}:{e[1]} {e[2]}" for e in ENDPOINTS],
)
async def test_each_endpoint_admits_exactly_the_roles_holding_its_permission(
    client: httpx.AsyncClient,
    plant: db.AsyncConn,
    group: str,
    method: str,
    route: str,
    path: str,
    body: dict[str, Any] | None,
    expected: int,
) -> None:
    needed = NEEDED[(method, route)]
    assert needed is not None
    with anyio.fail_after(LIMIT_S):
        anonymous = await client.request(method, path, json=body)
        forged = await client.request(
            method, path, json=body, headers=bearer("titan_000000000000_" + "x" * 43)
        )
        answers = {
            role: await client.request(
                method, path, json=body, headers=bearer(await key(plant, role))
            )
            for role in accounts.ROLES
        }  # fmt: skip

    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert anonymous.json()["error"]["code"] == "unauthenticated"
    assert "Authorization: Bearer" in anonymous.json()["error"]["message"]
    assert forged.status_code == 401 and "unknown or revoked" in forged.json()["error"]["message"]
    for role, answer in answers.items():
        if needed in MATRIX[role]:
            assert answer.status_code == expected, (role, answer.text)
        else:
            assert answer.status_code == 403, (role, answer.text)
            message = answer.json()["error"]["message"]
            assert f"needs the permission {needed}" in message and f"is {role}" in message
            assert ", ".join(deciders(needed)) in message


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
async def test_probes_need_no_key_metrics_need_one_and_mcp_keeps_its_own_gate(
    client: httpx.AsyncClient, plant: db.AsyncConn, monkeypatch: pytest.MonkeyPatch
) -> None:
    operator = await key(plant, "operator")
    with anyio.fail_after(LIMIT_S):
        health = await client.get("/health")
        ready = await client.get("/ready")
        refused = await client.get("/metrics")
        metrics = await client.get("/metrics", headers=bearer(operator))
        monkeypatch.setenv("TITAN_METRICS_PUBLIC", "true")
        get_settings.cache_clear()
        opened = await client.get("/metrics")
        mcp = await client.post("/mcp/all", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        docs = await client.get("/openapi.json")

    assert health.json() == {"status": "ok", "process": os.getpid()}
    assert ready.status_code == 200 and ready.json()["ready"] is True
    assert "titan_http_requests_total" in metrics.text
    assert "titan_approvals_pending 0.0" in metrics.text
    assert refused.status_code == 401 and "titan_http_requests_total" not in refused.text
    assert opened.status_code == 200 and "titan_http_requests_total" in opened.text
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


@pytest.mark.anyio
async def test_a_thread_belongs_to_who_started_it_and_system_thread_ids_cannot_be_taken(
    client: httpx.AsyncClient, plant: db.AsyncConn
) -> None:
    alice = (await accounts.create_key(plant, SYSTEM, role="operator", user_id="alice")).token
    bob = (await accounts.create_key(plant, SYSTEM, role="operator", user_id="bob")).token
    manager = await key(plant, "production_manager")
    question = {"message": "Which carriers do we ship with?"}
    with anyio.fail_after(LIMIT_S):
        started = await client.post("/chat", json=question, headers=bearer(alice))
        thread_id = started.json()["thread_id"]
        read_by_bob = await client.get(f"/threads/{thread_id}", headers=bearer(bob))
        continued_by_bob = await client.post(
            "/chat", json={**question, "thread_id": thread_id}, headers=bearer(bob)
        )
        listed_by_bob = await client.get("/threads", headers=bearer(bob))
        read_by_manager = await client.get(f"/threads/{thread_id}", headers=bearer(manager))
        taken = await client.post(
            "/chat", json={**question, "thread_id": "incident-999999"}, headers=bearer(bob)
        )

    assert started.status_code == 200
    assert read_by_bob.status_code == 403 and continued_by_bob.status_code == 403
    message = read_by_bob.json()["error"]["message"]
    assert "alice started" in message and "thread.view_all" in message
    assert thread_id not in [t["thread_id"] for t in listed_by_bob.json()]
    assert read_by_manager.status_code == 200
    assert taken.status_code == 422 and "Titan's own" in taken.json()["error"]["message"]
