"""The scenarios of DESIGN.md, each played end to end on a driven clock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from simulation.config import SimConfig
from simulation.context import rows
from simulation.engine import Engine
from simulation.scenarios.run import ScenarioReport, scenario_name
from simulation.scenarios.staging import play, stage
from tools.core import db
from tools.core.clock import FixedClock
from tools.core.errors import ValidationError

# The scenarios' own world; orders, random faults and customers would only add noise here.
WORLD = ("sensors", "monitor", "production", "carriers", "suppliers", "maintenance", "reactors")


async def played(conn: db.AsyncConn, clock: FixedClock, name: str) -> ScenarioReport:
    engine = Engine(conn, clock, SimConfig().only(*WORLD))
    assert await engine.try_acquire()
    report = await play(engine, name, solve_seconds=2.0)
    assert report.finished
    assert report.ok, [s for s in report.steps if not s.ok]
    return report


async def one(conn: db.AsyncConn, query: str, **params: Any) -> dict[str, Any]:
    found = await rows(conn, query, params)
    assert found, query
    return found[0]


@pytest.mark.anyio
async def test_phoenix_incident_runs_from_vibration_to_the_plant_manager(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    report = await played(plant, fixed_clock, "Phoenix Incident")

    assert [s.step for s in report.steps] == [
        "bearing degrades", "machine checked", "work order", "bearing stock checked",
        "plant manager told",
    ]  # fmt: skip
    m = {"m": "PHX-CNC-007"}
    rise = await one(
        plant, "select min(value) filter (where ts < %(t)s) as before, "
        "max(value) filter (where ts > %(t)s) as after from sensor_readings "
        "where machine_id = %(m)s and sensor = 'vibration'", t=report.started_at, **m,
    )  # fmt: skip
    assert rise["after"] > 6.3 > 4.0 > rise["before"]
    anomaly = await one(
        plant, "select anomaly_id from anomalies where machine_id = %(m)s and sensor = "
        "'vibration' and severity = 'CRITICAL'", **m,
    )  # fmt: skip
    wo = await one(
        plant, "select work_order_id, anomaly_id, fault_type from work_orders where machine_id = "
        "%(m)s and status = 'OPEN'", **m,
    )  # fmt: skip
    assert wo["fault_type"] == "BEARING_DEGRADATION" and wo["anomaly_id"] == anomaly["anomaly_id"]
    assert report.facts["work_order_id"] == wo["work_order_id"]
    await one(plant, "select 1 from failure_predictions where machine_id = %(m)s", **m)
    po = await one(
        plant, "select po_id, supplier_id from purchase_orders where sku = 'SKU-BRG-7014' "
        "and facility_id = 'PHX' and status = 'PENDING'",
    )  # fmt: skip
    assert po["po_id"] in (report.facts["purchase_orders"] or [])
    told = await one(
        plant, "select recipient, subject from notifications where entity_id = %(m)s "
        "and subject like %(s)s", s=f"%{wo['work_order_id']}%", **m,
    )  # fmt: skip
    assert "plant_manager" in told["recipient"]
    await one(plant, "select 1 from notifications where event_type = 'work_order.created'")


@pytest.mark.anyio
async def test_boeing_expedite_splits_ships_delivers_and_asks_for_feedback(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    report = await played(plant, fixed_clock, "boeing-expedite")

    order = report.facts["order_id"]
    assert isinstance(order, str)
    header = await one(plant, "select status, is_rush from orders where order_id = %(o)s", o=order)
    assert header == {"status": "COMPLETED", "is_rush": True}
    held = await rows(
        plant, "select distinct facility_id from stock_reservations where order_id = %(o)s "
        "order by 1", {"o": order},
    )  # fmt: skip
    assert [r["facility_id"] for r in held] == ["MUC", "PHX"]
    shipped = await rows(
        plant, "select shipment_id, origin_facility_id, status from shipments where order_id = "
        "%(o)s order by origin_facility_id", {"o": order},
    )  # fmt: skip
    assert [(s["origin_facility_id"], s["status"]) for s in shipped] == [
        ("MUC", "DELIVERED"), ("PHX", "DELIVERED")
    ]  # fmt: skip
    scans = await rows(
        plant, "select distinct status from shipment_events where shipment_id = %(s)s",
        {"s": shipped[0]["shipment_id"]},
    )  # fmt: skip
    assert {r["status"] for r in scans} >= {"PICKED_UP", "IN_TRANSIT", "OUT_FOR_DELIVERY"}
    notes = await rows(
        plant, "select template, subject from notifications where recipient = "
        "'supplier.orders@boeing.example' and created_at >= %(t)s", {"t": report.started_at},
    )  # fmt: skip
    templates = [n["template"] for n in notes]
    assert templates.count("shipment.delivered+feedback") == 2
    assert "order.created" in templates
    assert any("arrival confirmed" in n["subject"] for n in notes)


@pytest.mark.anyio
async def test_supply_crisis_delays_replans_and_tells_the_customers(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    report = await played(plant, fixed_clock, "supply-crisis")

    late = await rows(
        plant, "select status from purchase_orders where supplier_id = 'NIPPONBEARING' "
        "and status <> 'RECEIVED'",
    )  # fmt: skip
    assert late and {r["status"] for r in late} == {"DELAYED"}
    alternatives = next(s for s in report.steps if s.step == "alternatives")
    assert "RHEINTECH" in alternatives.detail
    replanned = report.facts["replanned"]
    assert isinstance(replanned, list) and replanned
    for order_id in replanned:
        status = await one(plant, "select status from orders where order_id = %(o)s", o=order_id)
        assert status["status"] in ("RESERVED", "VALIDATED")
        await one(
            plant, "select 1 from notifications where entity_type = 'order' and entity_id = "
            "%(o)s and subject like '%%supplier delay%%'", o=order_id,
        )  # fmt: skip
    await one(plant, "select 1 from notifications where event_type = 'purchase_order.delayed'")


@pytest.mark.anyio
async def test_faa_audit_traces_aerospace_orders_to_batches_suppliers_and_certificates(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    report = await played(plant, fixed_clock, "faa-audit")

    records = report.facts["records"]
    assert isinstance(records, dict) and len(records) >= 5
    made = [r for r in records.values() if isinstance(r, dict) and r["batches"]]
    assert made and all(r["certificates"] and r["suppliers"] == ["TITANMET"] for r in made)
    await one(plant, "select 1 from notifications where subject like 'FAA audit%%'")


@pytest.mark.anyio
async def test_machine_down_moves_its_work_and_rebalances_when_it_recovers(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    report = await played(plant, fixed_clock, "machine-down")

    down = await one(
        plant, "select count(*) as n from event_log where type = 'machine.down' "
        "and entity_id = 'DET-CNC-001'",
    )  # fmt: skip
    assert down["n"] == 1
    revised = await one(
        plant, "select kind, impact from schedules where schedule_id = %(s)s",
        s=report.facts["reschedule"],
    )  # fmt: skip
    assert revised["kind"] == "RESCHEDULE" and revised["impact"]["operations_moved"] >= 1
    applied = await one(
        plant, "select schedule_id from schedules where status = 'APPLIED' and facility_id = 'DET'"
    )
    assert applied["schedule_id"] == report.facts["rebalanced"]
    status = await one(plant, "select status from equipment where machine_id = 'DET-CNC-001'")
    assert status["status"] in ("IDLE", "RUNNING")


@pytest.mark.anyio
async def test_a_running_engine_stages_a_scenario_and_plays_it_in_plant_time(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    engine = Engine(plant, fixed_clock, SimConfig().only(*WORLD))
    assert await engine.try_acquire()
    run = await stage(engine, "faa-audit")

    assert [label for _, label in engine.agenda][:2] == [
        "FAA Audit: traceability records", "FAA Audit: audit report sent"
    ]  # fmt: skip
    await engine.step(3)
    assert [s.step for s in run.steps] == ["traceability records"]
    await engine.step(60)
    assert run.finished and engine.agenda == []
    kinds = await rows(
        plant, "select type from event_log where entity_type = 'scenario' order by event_id"
    )
    assert [k["type"] for k in kinds] == [
        "simulation.scenario_started", "simulation.scenario_finished"
    ]  # fmt: skip


def test_scenario_names_are_forgiving_and_unknown_ones_are_refused() -> None:
    assert scenario_name("Phoenix Incident") == "phoenix-incident"
    assert scenario_name("full_demo") == "full-demo"
    with pytest.raises(ValidationError, match="scenarios are phoenix-incident"):
        scenario_name("alien invasion")


@pytest.mark.anyio
async def test_the_full_demo_plays_every_scenario_within_the_hour(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    report = await played(plant, fixed_clock, "full-demo")

    assert set(report.facts) >= {
        "phoenix-incident", "boeing-expedite", "supply-crisis", "machine-down", "faa-audit"
    }  # fmt: skip
    assert max(s.at for s in report.steps) <= report.started_at + timedelta(hours=1)
    assert len(report.steps) >= 25
