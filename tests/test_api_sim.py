"""Simulation control over HTTP, with the engine running inside the service."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import httpx
import pytest
from api_helpers import bearer, client_for, key, running_app
from fastapi import FastAPI

from tools.core import db

LIMIT_S = 90


@pytest.fixture
async def app(plant: db.AsyncConn, db_url: str) -> AsyncIterator[FastAPI]:
    async with running_app(db_url, simulate=True) as opened:
        yield opened


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as opened:
        yield opened


async def status_when(
    client: httpx.AsyncClient, token: str, ready: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The status once `ready` holds for it (the engine saves its state at each tick)."""
    while True:
        status: dict[str, Any] = (await client.get("/sim/status", headers=bearer(token))).json()
        if status["engine_lock"] is not None and status["state"] is not None and ready(status):
            return status
        await anyio.sleep(0.1)


def rate(status: dict[str, Any], name: str) -> float:
    return float({g["name"]: g["rate"] for g in status["generators"]}[name])


@pytest.mark.anyio
async def test_a_supervisor_pauses_steers_and_resumes_the_running_engine(
    client: httpx.AsyncClient, plant: db.AsyncConn
) -> None:
    operator, supervisor = await key(plant, "operator"), await key(plant, "supervisor")
    with anyio.fail_after(LIMIT_S):
        started = await status_when(client, operator, lambda s: True)
        refused = await client.post("/sim/pause", headers=bearer(operator))
        rated = await client.post(
            "/sim/rates", json={"rates": {"orders": 2.5}}, headers=bearer(supervisor)
        )
        await status_when(client, operator, lambda s: rate(s, "orders") == 2.5)
        paused = await client.post("/sim/pause", headers=bearer(supervisor))
        # No tick runs while paused: the status still shows the pause and what changed since.
        at_once = (await client.get("/sim/status", headers=bearer(operator))).json()
        await client.post("/sim/rates", json={"rates": {"orders": 4.0}}, headers=bearer(supervisor))
        steered = (await client.get("/sim/status", headers=bearer(operator))).json()
        pattern = await client.post(
            "/sim/equipment/PHX-CNC-007/pattern",
            json={"pattern": "BEARING_DEGRADATION", "fails_in_hours": 12},
            headers=bearer(supervisor),
        )
        status = await status_when(client, operator, lambda s: bool(s["faults_in_play"]))
        resumed = await client.post("/sim/resume", headers=bearer(supervisor))
        after = await status_when(client, operator, lambda s: not s["state"]["paused"])

    assert started["engine_lock"] is not None
    assert refused.status_code == 403
    assert paused.status_code == 200 and paused.json()["result"] == {"ok": True}
    assert at_once["state"]["paused"] is True and rate(steered, "orders") == 4.0
    assert rated.status_code == 200 and rated.json()[0]["done"] is True
    assert pattern.status_code == 200
    assert pattern.json()["fault"]["pattern"] == "BEARING_DEGRADATION"
    assert [f["machine_id"] for f in status["faults_in_play"]] == ["PHX-CNC-007"]
    assert resumed.status_code == 200
    assert after["state"]["paused"] is False


@pytest.mark.anyio
async def test_bad_simulation_requests_are_refused_with_the_reason(
    client: httpx.AsyncClient, plant: db.AsyncConn
) -> None:
    supervisor = await key(plant, "supervisor")
    with anyio.fail_after(LIMIT_S):
        scenario = await client.post("/sim/scenarios/moon-landing", headers=bearer(supervisor))
        machine = await client.post(
            "/sim/equipment/PHX-CNC-999/pattern",
            json={"pattern": "BEARING_DEGRADATION"},
            headers=bearer(supervisor),
        )
        pattern = await client.post(
            "/sim/equipment/PHX-CNC-007/pattern",
            json={"pattern": "GREMLINS"},
            headers=bearer(supervisor),
        )
        rates = await client.post(
            "/sim/rates", json={"rates": {"unicorns": 1}}, headers=bearer(supervisor)
        )

    assert scenario.status_code == 422
    assert "'phoenix-incident'" in scenario.json()["error"]["details"][0]["reason"]
    assert machine.status_code == 404
    assert pattern.status_code == 422
    assert "'BEARING_DEGRADATION'" in pattern.json()["error"]["details"][0]["reason"]
    assert rates.status_code == 422
    assert rates.json()["error"]["details"][0]["field"].startswith("body.rates")
