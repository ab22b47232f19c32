"""The reads the plant console needs, over HTTP: its page and files, who a key is, OEE per
facility, sensor history for sparklines, and the schedule board."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import anyio
import httpx
import pytest
from api_helpers import bearer, client_for, key, running_app
from fastapi import FastAPI

from tools.core import db, events
from tools.core.clock import FixedClock
from tools.core.operations import Actor
from tools.machine_data.sensors import Reading, record_readings
from tools.scheduling.schedules import ScheduleRequest, apply_schedule, propose_schedule

LIMIT_S = 90
SIM = Actor(type="simulator", id="sensors")
PLANNER = Actor(type="user", id="planner")


@pytest.fixture
async def app(plant: db.AsyncConn, db_url: str) -> AsyncIterator[FastAPI]:
    async with running_app(db_url) as opened:
        yield opened


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as opened:
        yield opened


@pytest.mark.anyio
async def test_the_console_page_and_its_files_are_served_and_nothing_outside_them(
    client: httpx.AsyncClient,
) -> None:
    with anyio.fail_after(LIMIT_S):
        page = await client.get("/")
        script = await client.get("/console/js/main.js")
        style = await client.get("/console/console.css")
        missing = await client.get("/console/js/nothing.js")
        outside = await client.get("/console/..%2F..%2Fapi%2Fapp.py")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/console/js/main.js">' in page.text
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
    assert missing.status_code == 404
    assert outside.status_code == 404
    assert "create_app" not in outside.text


@pytest.mark.anyio
async def test_me_names_the_keys_user_and_role_and_what_the_role_may_do(
    client: httpx.AsyncClient, plant: db.AsyncConn
) -> None:
    operator, manager = await key(plant, "operator"), await key(plant, "production_manager")
    with anyio.fail_after(LIMIT_S):
        as_operator = await client.get("/me", headers=bearer(operator))
        as_manager = await client.get("/me", headers=bearer(manager))
        anonymous = await client.get("/me")

    assert as_operator.status_code == 200
    assert as_operator.json()["role"] == "operator"
    assert as_operator.json()["may"] == {
        "read": True,
        "control_simulation": False,
        "decide_approvals": False,
        "manage_keys": False,
    }
    assert as_manager.json()["may"] == {
        "read": True,
        "control_simulation": True,
        "decide_approvals": True,
        "manage_keys": False,
    }
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthenticated"


@pytest.mark.anyio
async def test_oee_is_given_for_every_facility_over_the_recent_shifts(
    client: httpx.AsyncClient, plant: db.AsyncConn
) -> None:
    token = await key(plant, "operator")
    with anyio.fail_after(LIMIT_S):
        answered = await client.get("/facilities/oee?days=7", headers=bearer(token))
        refused = await client.get("/facilities/oee?days=0", headers=bearer(token))

    assert answered.status_code == 200
    facilities = answered.json()
    assert [f["facility_id"] for f in facilities] == ["DET", "MUC", "PHX"]
    assert all(f["end"] == "2026-03-02" and f["start"] == "2026-02-24" for f in facilities)
    for f in facilities:  # the demo plant has yesterday's shift counters everywhere
        assert f["figures"]["parts_produced"] > 0
        assert 0 < f["figures"]["oee"] <= 1
    assert refused.status_code == 422
    assert refused.json()["error"]["details"][0]["field"] == "query.days"


@pytest.mark.anyio
async def test_sensor_history_gives_each_sensors_newest_readings_oldest_first(
    client: httpx.AsyncClient, plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    token = await key(plant, "operator")
    now = fixed_clock.now()
    readings = [
        Reading(machine_id=m, sensor="vibration", ts=now - timedelta(minutes=n), value=float(n))
        for m in ("PHX-CNC-007", "MUC-CNC-001")
        for n in (5, 4, 3, 2, 1)
    ]
    await record_readings(plant, SIM, readings=readings)
    with anyio.fail_after(LIMIT_S):
        answered = await client.get(
            "/sensors/history?machine=PHX-CNC-007&points=3", headers=bearer(token)
        )
        everyone = await client.get("/sensors/history", headers=bearer(token))

    assert answered.status_code == 200
    [series] = answered.json()
    assert (series["machine_id"], series["sensor"], series["unit"]) == (
        "PHX-CNC-007",
        "vibration",
        "mm/s",
    )
    assert [p["value"] for p in series["points"]] == [3.0, 2.0, 1.0]
    assert [(s["machine_id"], len(s["points"])) for s in everyone.json()] == [
        ("MUC-CNC-001", 5),
        ("PHX-CNC-007", 5),
    ]


@pytest.mark.anyio
async def test_the_schedule_board_shows_the_applied_schedule_and_the_proposal_waiting(
    client: httpx.AsyncClient, plant: db.AsyncConn
) -> None:
    token = await key(plant, "operator")
    request = ScheduleRequest(facility_id="DET", time_limit_s=5, objective="makespan")
    with anyio.fail_after(LIMIT_S):
        empty = await client.get("/schedules/board", headers=bearer(token))
        first = await propose_schedule(plant, PLANNER, request=request)
        assert first.schedule is not None
        await apply_schedule(plant, PLANNER, schedule_id=first.schedule.schedule_id)
        second = await propose_schedule(plant, PLANNER, request=request)
        assert second.schedule is not None
        await plant.commit()
        board = await client.get("/schedules/board", headers=bearer(token))

    assert empty.json() == {"applied": [], "proposed": []}
    assert board.status_code == 200
    [applied] = board.json()["applied"]
    [proposed] = board.json()["proposed"]
    assert (applied["schedule_id"], applied["status"]) == (first.schedule.schedule_id, "APPLIED")
    assert applied["facility_id"] == "DET" and applied["slots"]
    assert proposed["schedule"]["schedule_id"] == second.schedule.schedule_id
    assert proposed["schedule"]["status"] == "PROPOSED"
    assert proposed["approval_id"] is None


@pytest.mark.anyio
async def test_recent_events_open_the_log_oldest_first_without_sensor_batches(
    client: httpx.AsyncClient, plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    token = await key(plant, "operator")
    async with plant.transaction():
        for n in (1, 2, 3):
            await events.emit(
                plant, "order.noted", source="system", entity_type="order", entity_id=f"ORD-{n}"
            )
    reading = Reading(machine_id="PHX-CNC-007", sensor="vibration", ts=fixed_clock.now(), value=1)
    await record_readings(plant, SIM, readings=[reading])
    with anyio.fail_after(LIMIT_S):
        answered = await client.get("/events/recent?limit=2", headers=bearer(token))
        with_readings = await client.get(
            "/events/recent?limit=1&readings=true", headers=bearer(token)
        )
        refused = await client.get("/events/recent?limit=0", headers=bearer(token))

    assert answered.status_code == 200
    body = answered.json()
    assert [e["entity_id"] for e in body["events"]] == ["ORD-2", "ORD-3"]
    [batch] = with_readings.json()["events"]
    assert batch["type"] == "sensor.readings_recorded"
    assert body["newest_event_id"] == batch["event_id"]
    assert refused.status_code == 422
