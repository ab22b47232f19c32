"""Questions answered with reads only, over MCP: anomalies scanned, failure estimated, due dates
checked, and the plant's directory — the same findings as the writing tools, and no new rows."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from typing import Any

import pytest
from mcp.types import CallToolResult, TextContent, TextResourceContents
from mcp_helpers import session_for
from pydantic import AnyUrl

from mcp_servers.runtime import Plant
from mcp_servers.servers import DOMAINS, build_server
from tools.core import db
from tools.core.clock import FixedClock
from tools.core.operations import Actor
from tools.machine_data.sensors import Reading, record_readings
from tools.scheduling import schedules
from tools.scheduling.due_dates import what_if_request

SIM = Actor(type="simulator", id="sensors")
PLANNER = Actor(type="user", id="planner")
NORMAL = {"vibration": 1.5, "temperature": 40.0, "spindle_speed": 8000.0, "spindle_load": 50.0,
          "coolant_pressure": 6.0, "motor_current": 25.0, "power": 15.0}  # fmt: skip
WRITTEN = ("anomalies", "failure_predictions", "schedules", "schedule_slots", "event_log",
           "audit_log")  # fmt: skip
QUESTIONS = {"maintenance": ("scan_anomalies", "estimate_failure"),
             "scheduling": ("check_due_dates",)}  # fmt: skip


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
    mirrors = {"scan_anomalies": "detect_anomalies", "estimate_failure": "predict_failure",
               "check_due_dates": "propose_schedule"}  # fmt: skip
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


# ───────────────────────── due dates ─────────────────────────


def consistent(check: dict[str, Any]) -> None:
    """What any planned answer must satisfy: minutes late from finish and due, 0 when on time."""
    finish = datetime.fromisoformat(check["planned_finish"])
    due = datetime.fromisoformat(check["due_at"])
    assert check["minutes_late"] == max(0, math.ceil((finish - due).total_seconds() / 60))
    assert check["makes_due_date"] is (check["minutes_late"] == 0)
    assert check["finishes_on"] and check["note"]


@pytest.mark.anyio
async def test_a_due_date_check_without_an_applied_schedule_plans_a_what_if_and_writes_nothing(
    mcp_plant: Plant, plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    before = await counts(plant)
    asked = ["ORD-10013", "ORD-10010", "ORD-10003", "ORD-10023", "ORD-10007"]

    async with session_for("scheduling", mcp_plant) as client:
        report = data(await client.call_tool("check_due_dates", {"order_ids": asked}))
        again = data(await client.call_tool("check_due_dates", {"order_ids": asked}))

    assert await counts(plant) == before
    checks = {c["order_id"]: c for c in report["orders"]}
    assert [c["order_id"] for c in report["orders"]] == asked
    for order_id in ("ORD-10013", "ORD-10010"):  # RESERVED, IN_PRODUCTION
        check = checks[order_id]
        assert check["source"] == "WHAT_IF" and check["schedule_id"] is None, check
        assert datetime.fromisoformat(check["planned_finish"]) > fixed_clock.now()
        consistent(check)
    for order_id, status in (("ORD-10003", "SHIPPED"), ("ORD-10023", "ON_HOLD"),
                             ("ORD-10007", "READY")):  # fmt: skip
        check = checks[order_id]
        assert (check["status"], check["source"]) == (status, "ORDER_STATUS")
        assert (check["planned_finish"], check["minutes_late"]) == (None, None)
        assert status in check["note"]
    assert {w["facility_id"] for w in report["what_ifs"]} == {"MUC", "PHX"}
    assert {w["solver_status"] for w in report["what_ifs"]} <= {"OPTIMAL", "FEASIBLE"}
    assert again["orders"] == report["orders"]  # one worker, a seed, a deterministic limit

    # the same plan a proposal of PHX's open work would store
    proposed = await schedules.propose_schedule(plant, PLANNER, request=what_if_request("PHX"))
    assert proposed.schedule is not None
    ends = [s.ends_at for s in proposed.schedule.slots if s.order_id == "ORD-10013"]
    assert datetime.fromisoformat(checks["ORD-10013"]["planned_finish"]) == max(ends)


@pytest.mark.anyio
async def test_an_order_the_applied_schedule_holds_is_answered_from_its_slots(
    mcp_plant: Plant, plant: db.AsyncConn
) -> None:
    request = schedules.ScheduleRequest(facility_id="MUC", time_limit_s=5)
    proposed = await schedules.propose_schedule(plant, PLANNER, request=request)
    assert proposed.schedule is not None
    applied = await schedules.apply_schedule(
        plant, PLANNER, schedule_id=proposed.schedule.schedule_id
    )
    await plant.commit()
    before = await counts(plant)

    async with session_for("scheduling", mcp_plant) as client:
        report = data(
            await client.call_tool("check_due_dates", {"order_ids": ["ORD-10010", "ORD-10013"]})
        )

    assert await counts(plant) == before
    muc, phx = report["orders"]
    assert (muc["source"], muc["schedule_id"]) == ("APPLIED_SCHEDULE", applied.schedule_id)
    ends = [s.ends_at for s in applied.slots if s.order_id == "ORD-10010"]
    assert datetime.fromisoformat(muc["planned_finish"]) == max(ends)
    late = {o.order_id: o.minutes_late for o in applied.late_orders}
    assert muc["minutes_late"] == late.get("ORD-10010", 0)
    consistent(muc)
    assert phx["source"] == "WHAT_IF"  # the MUC schedule does not hold a Phoenix order
    assert [w["facility_id"] for w in report["what_ifs"]] == ["PHX"]


@pytest.mark.anyio
async def test_a_facilitys_open_orders_are_checked_soonest_due_first_up_to_the_limit(
    mcp_plant: Plant, plant: db.AsyncConn
) -> None:
    cur = await plant.execute(
        "select order_id from orders where facility_id = 'PHX' "
        "and status not in ('SHIPPED', 'DELIVERED', 'COMPLETED', 'CANCELLED') "
        "order by due_at, order_id"
    )
    open_orders = [r["order_id"] for r in await cur.fetchall()]

    async with session_for("scheduling", mcp_plant) as client:
        report = data(await client.call_tool("check_due_dates", {"facility_id": "PHX", "limit": 3}))

    assert [c["order_id"] for c in report["orders"]] == open_orders[:3]
    assert report["more_orders"] == len(open_orders) - 3
    for check in report["orders"]:
        if check["source"] == "WHAT_IF":
            consistent(check)


# ───────────────────────── bad input ─────────────────────────


@pytest.mark.anyio
async def test_unknown_machines_orders_and_facilities_are_tool_errors_naming_what_is_valid(
    mcp_plant: Plant,
) -> None:
    async with session_for("all", mcp_plant) as client:
        scan = await client.call_tool("scan_anomalies", {"machine_ids": ["PHX-CNC-999"]})
        estimate = await client.call_tool("estimate_failure", {"machine_id": "PHX-CNC-999"})
        order = await client.call_tool("check_due_dates", {"order_ids": ["ORD-99999"]})
        facility = await client.call_tool("check_due_dates", {"facility_id": "XYZ"})
        elsewhere = await client.call_tool(
            "check_due_dates", {"order_ids": ["ORD-10010"], "facility_id": "PHX"}
        )

    for result in (scan, estimate):
        assert result.isError
        assert "PHX-CNC-999" in text(result) and "PHX-CNC-007" in text(result), text(result)
    assert order.isError and "ORD-99999" in text(order) and "ORD-10013" in text(order)
    assert facility.isError and "DET, MUC, PHX" in text(facility)
    assert elsewhere.isError and "ORD-10010 (MUC)" in text(elsewhere)
    for result in (scan, estimate, order, facility, elsewhere):
        assert "Traceback" not in text(result)


# ───────────────────────── the directory ─────────────────────────


def _json(contents: list[Any]) -> Any:
    (content,) = contents
    assert isinstance(content, TextResourceContents)
    assert content.mimeType == "application/json"
    return json.loads(content.text)


@pytest.mark.anyio
async def test_every_server_offers_the_directory_of_the_plants_names(
    mcp_plant: Plant, plant: db.AsyncConn
) -> None:
    for domain in DOMAINS:
        async with session_for(domain, mcp_plant) as client:
            listed = {str(r.uri) for r in (await client.list_resources()).resources}
        assert "titan://directory" in listed, domain

    async with session_for("communications", mcp_plant) as client:
        found = _json((await client.read_resource(AnyUrl("titan://directory"))).contents)
        same = _json((await client.read_resource(AnyUrl("titan://directory"))).contents)
        await plant.execute("update equipment set status = 'DOWN' where machine_id = 'PHX-CNC-007'")
        await plant.commit()
        changed = _json((await client.read_resource(AnyUrl("titan://directory"))).contents)

    machines = {m["machine_id"]: m for m in found["machines"]}
    assert machines["PHX-CNC-007"] == {
        "machine_id": "PHX-CNC-007", "name": "5-axis mill 7", "facility_id": "PHX",
        "work_center_id": "PHX-MILL", "model": "DMG MORI DMU 50", "wc_type": "CNC_MILL",
        "status": "RUNNING",
    }  # fmt: skip
    assert {"PHX-CNC-012", "MUC-CNC-001"} <= set(machines)
    assert {f["facility_id"]: f["city"] for f in found["facilities"]} == {
        "DET": "Detroit", "MUC": "Munich", "PHX": "Phoenix"
    }  # fmt: skip
    assert {"BOEING", "TESLA"} <= {c["customer_id"] for c in found["customers"]}
    assert all("@" in c["contact_email"] for c in found["customers"])
    assert {"supplier_id": "NIPPONBEARING", "name": "NipponBearing"} in found["suppliers"]
    products = {p["sku"]: p for p in found["products"]}
    assert products["SKU-BRG-7014"]["category"] == "BEARING"
    assert {p["division_id"] for p in found["products"]} >= {"AERO", "MOBILITY"}
    assert "DHL" in {c["carrier_id"] for c in found["carriers"]}
    assert any(w["facility_id"] == "MUC" for w in found["work_centers"])
    assert {"plant_manager", "maintenance_lead"} <= set(found["staff_roles"])
    assert len(found["fingerprint"]) == 16
    assert same["fingerprint"] == found["fingerprint"]
    assert changed["fingerprint"] != found["fingerprint"]
