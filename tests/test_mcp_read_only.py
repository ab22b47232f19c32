"""Questions answered with reads only, over MCP: anomalies scanned and failure estimated — the
same findings as the writing tools, and no new rows."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import pytest
from mcp.types import CallToolResult, TextContent
from mcp_helpers import session_for

from mcp_servers.runtime import Plant
from mcp_servers.servers import build_server
from tools import db
from tools.clock import FixedClock
from tools.operations import Actor
from tools.sensors import Reading, record_readings

SIM = Actor(type="simulator", id="sensors")
NORMAL = {"vibration": 1.5, "temperature": 40.0, "spindle_speed": 8000.0, "spindle_load": 50.0,
          "coolant_pressure": 6.0, "motor_current": 25.0, "power": 15.0}  # fmt: skip
WRITTEN = ("anomalies", "failure_predictions", "schedules", "schedule_slots", "event_log",
           "audit_log")  # fmt: skip
QUESTIONS = {"maintenance": ("scan_anomalies", "estimate_failure")}


def text(result: CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


def data(result: CallToolResult) -> Any:
    assert not result.isError, text(result)
    assert result.structuredContent is not None
    return result.structuredContent


async def put_bearing_wear(conn: db.AsyncConn, machine_id: str, end: datetime) -> None:
    """Six hours of a reading a minute: vibration growing 10 % an hour to 3.64 mm/s and then
    past the warning level over the last hour; the other sensors steady."""
    batch: list[Reading] = []
    for i in range(360):
        t = -(359 - i) / 60  # hours before `end`
        for sensor, level in NORMAL.items():
            value = level * (1 + 0.02 * math.sin(i * 2.1))
            if sensor == "vibration":
                value = 2.0 * math.exp(0.1 * (t + 6)) * (1 + 0.01 * math.sin(t * 97))
                value += 1.5 * (1 + t) if t > -1 else 0.0
            ts = end + timedelta(hours=t)
            batch.append(Reading(machine_id=machine_id, sensor=sensor, value=value, ts=ts))
    async with conn.transaction():
        await record_readings(conn, SIM, readings=batch)


async def counts(conn: db.AsyncConn) -> dict[str, int]:
    found = {}
    for table in WRITTEN:
        cur = await conn.execute(f"select count(*) as n from {table}")
        row = await cur.fetchone()
        assert row is not None
        found[table] = row["n"]
    return found


# ───────────────────────── listed as reads ─────────────────────────


@pytest.mark.anyio
async def test_the_question_tools_are_listed_read_only_beside_the_writes_they_mirror(
    mcp_plant: Plant,
) -> None:
    mirrors = {"scan_anomalies": "detect_anomalies", "estimate_failure": "predict_failure"}
    for domain in (*QUESTIONS, "all"):
        async with session_for(domain, mcp_plant) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
        built = build_server(domain, plant=mcp_plant)
        asked = QUESTIONS.get(domain, tuple(mirrors))
        for name in asked:
            notes, mirror = tools[name].annotations, tools[mirrors[name]].annotations
            assert notes is not None and notes.readOnlyHint is True, name
            assert name not in built.write_tools
            assert mirror is not None and mirror.readOnlyHint is False, mirrors[name]
            assert mirrors[name] in (tools[name].description or ""), name


# ───────────────────────── anomalies and failure ─────────────────────────


@pytest.mark.anyio
async def test_a_scan_finds_what_detection_records_and_records_nothing(
    mcp_plant: Plant, plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    await put_bearing_wear(plant, "PHX-CNC-007", fixed_clock.now())
    before = await counts(plant)

    async with session_for("maintenance", mcp_plant) as client:
        scan = data(await client.call_tool("scan_anomalies", {"machine_ids": ["PHX-CNC-007"]}))
        after_scan = await counts(plant)
        detected = data(
            await client.call_tool("detect_anomalies", {"machine_ids": ["PHX-CNC-007"]})
        )

    assert after_scan == before
    assert "written" not in scan
    kinds = {(f["sensor"], f["kind"]) for f in scan["findings"]}
    assert {("vibration", "THRESHOLD"), ("vibration", "TREND")} <= kinds
    assert scan["findings"] == detected["findings"]
    assert (scan["window_start"], scan["window_end"]) == (
        detected["window_start"], detected["window_end"]
    )  # fmt: skip
    assert len(detected["written"]) == len(scan["findings"])
    assert (await counts(plant))["anomalies"] == before["anomalies"] + len(scan["findings"])


@pytest.mark.anyio
async def test_an_estimate_is_the_prediction_that_would_be_stored_and_stores_nothing(
    mcp_plant: Plant, plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    await put_bearing_wear(plant, "PHX-CNC-007", fixed_clock.now())
    before = await counts(plant)
    arguments = {"machine_id": "PHX-CNC-007", "horizon_hours": 48}

    async with session_for("maintenance", mcp_plant) as client:
        estimate = data(await client.call_tool("estimate_failure", arguments))
        after_estimate = await counts(plant)
        predicted = data(await client.call_tool("predict_failure", arguments))

    assert after_estimate == before
    assert "prediction_id" not in estimate
    assert estimate == {k: v for k, v in predicted.items() if k != "prediction_id"}
    assert estimate["failure_mode"] == "BEARING_DEGRADATION"
    assert estimate["horizon_hours"] == 48
    assert estimate["rul_low_hours"] <= estimate["rul_hours"] <= estimate["rul_high_hours"]
    assert estimate["fit"]["sensor"] == "vibration" and estimate["evidence"]
    assert (await counts(plant))["failure_predictions"] == before["failure_predictions"] + 1


# ───────────────────────── bad input ─────────────────────────


@pytest.mark.anyio
async def test_unknown_machines_are_tool_errors_naming_the_machines_there_are(
    mcp_plant: Plant,
) -> None:
    async with session_for("maintenance", mcp_plant) as client:
        scan = await client.call_tool("scan_anomalies", {"machine_ids": ["PHX-CNC-999"]})
        estimate = await client.call_tool("estimate_failure", {"machine_id": "PHX-CNC-999"})

    for result in (scan, estimate):
        assert result.isError
        assert "PHX-CNC-999" in text(result) and "PHX-CNC-007" in text(result), text(result)
        assert "Traceback" not in text(result)
