"""Work orders: their lifecycle, their spare parts in stock, and the machine while work runs."""

from __future__ import annotations

import asyncio
import math
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tools.core import db, events
from tools.core.clock import FixedClock
from tools.core.errors import (
    ConflictError,
    InsufficientStockError,
    InvalidTransitionError,
    NotFoundError,
    ValidationError,
)
from tools.core.operations import Actor
from tools.demo import plant as demo_plant
from tools.machine_data.sensors import Reading, record_readings
from tools.maintenance.anomalies import detect_anomalies, list_anomalies
from tools.maintenance.health import get_machine
from tools.maintenance.lifecycle import (
    cancel_work_order,
    complete_work_order,
    schedule_work_order,
    start_work_order,
)
from tools.maintenance.work_orders import (
    PartRequest,
    create_work_order,
    get_work_order,
    list_work_orders,
    open_work_order_for_anomaly,
)

PLANNER = Actor(type="user", id="maint-planner")
TECH = Actor(type="user", id="tech-alvarez")
REACTOR = Actor(type="reactor", id="anomaly-to-work-order")


async def level(conn: db.AsyncConn, sku: str, facility: str) -> dict[str, Any]:
    """On-hand, reserved and the ledger's sum of one stock level."""
    cur = await conn.execute(
        "select s.on_hand, s.reserved, (select sum(quantity) from stock_movements m "
        "where m.sku = s.sku and m.facility_id = s.facility_id)::int as ledger "
        "from stock_levels s where sku = %s and facility_id = %s",
        (sku, facility),
    )
    row = await cur.fetchone()
    assert row is not None
    return row


async def count(conn: db.AsyncConn, query: str, *params: object) -> int:
    cur = await conn.execute(query, params)
    row = await cur.fetchone()
    assert row is not None
    return int(row["n"])


async def spindle_order(conn: db.AsyncConn, machine_id: str = "PHX-CNC-005", **kw: Any) -> Any:
    return await create_work_order(
        conn, PLANNER, machine_id=machine_id, kind="CORRECTIVE", priority="HIGH",
        description="Spindle runout 12 µm: replace the motor spindle", fault_type="SPINDLE_WEAR",
        **kw,
    )  # fmt: skip


@pytest.mark.anyio
async def test_a_new_work_order_reserves_the_parts_that_fix_its_fault_at_the_machines_site(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    before = await level(plant, "SKU-SPN-20K", "PHX")
    after_id = (await events.since(plant, 0))[-1].event_id

    wo = await spindle_order(plant)

    assert (wo.status, wo.machine_id, wo.created_at) == ("OPEN", "PHX-CNC-005", fixed_clock.now())
    assert [(p.sku, p.facility_id, p.quantity, p.reserved, p.status) for p in wo.parts] == [
        ("SKU-SPN-20K", "PHX", 1, 1, "RESERVED")
    ]
    assert wo.shortages == {}
    now = await level(plant, "SKU-SPN-20K", "PHX")
    assert (now["on_hand"], now["reserved"]) == (before["on_hand"], before["reserved"] + 1)
    logged = [e for e in await events.since(plant, after_id) if e.type.startswith("work_order")]
    assert [(e.type, e.entity_id) for e in logged] == [("work_order.created", wo.work_order_id)]
    assert logged[0].payload["reserved"] == {"SKU-SPN-20K": 1}
    assert await count(plant, "select count(*) as n from audit_log where entity_id = %s",
                       wo.work_order_id) == 1  # fmt: skip


@pytest.mark.anyio
async def test_parts_short_at_the_site_are_reserved_as_far_as_they_go_and_reported(
    plant: db.AsyncConn,
) -> None:
    stock = await level(plant, "SKU-SPN-20K", "PHX")
    free = stock["on_hand"] - stock["reserved"]

    wo = await spindle_order(plant, parts=[PartRequest(sku="SKU-SPN-20K", quantity=free + 2)])

    assert wo.shortages == {"SKU-SPN-20K": 2}
    assert (wo.parts[0].reserved, wo.parts[0].status) == (free, "PENDING")
    assert (await level(plant, "SKU-SPN-20K", "PHX"))["reserved"] == stock["on_hand"]
    with pytest.raises(InsufficientStockError, match=r"cannot start: 2 x SKU-SPN-20K not free"):
        await start_work_order(plant, TECH, work_order_id=wo.work_order_id)
    assert (await get_work_order(plant, wo.work_order_id)).status == "OPEN"
    assert (await get_machine(plant, "PHX-CNC-005")).status == "RUNNING"


@pytest.mark.anyio
async def test_a_work_order_runs_from_schedule_to_completion_consuming_its_parts(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    stock = await level(plant, "SKU-SPN-20K", "PHX")
    wo = await spindle_order(plant)
    window = fixed_clock.now() + timedelta(hours=2)

    scheduled = await schedule_work_order(
        plant, PLANNER, work_order_id=wo.work_order_id, starts_at=window,
        ends_at=window + timedelta(hours=4), assigned_to="R. Chen",
    )  # fmt: skip
    fixed_clock.advance(timedelta(hours=2))
    started = await start_work_order(plant, TECH, work_order_id=wo.work_order_id)
    in_maintenance = await get_machine(plant, "PHX-CNC-005")
    fixed_clock.advance(timedelta(hours=3))
    done = await complete_work_order(
        plant, TECH, work_order_id=wo.work_order_id, resolution="Spindle replaced, runout 2 µm"
    )

    assert (scheduled.status, scheduled.assigned_to) == ("SCHEDULED", "R. Chen")
    assert (scheduled.scheduled_start, scheduled.scheduled_end) == (
        window, window + timedelta(hours=4)
    )  # fmt: skip
    assert (started.status, in_maintenance.status) == ("IN_PROGRESS", "MAINTENANCE")
    assert (done.status, done.completed_at, done.resolution) == (
        "COMPLETED", fixed_clock.now(), "Spindle replaced, runout 2 µm"
    )  # fmt: skip
    assert [(p.consumed, p.reserved, p.status) for p in done.parts] == [(1, 0, "CONSUMED")]
    after = await level(plant, "SKU-SPN-20K", "PHX")
    assert (after["on_hand"], after["reserved"]) == (stock["on_hand"] - 1, stock["reserved"])
    assert after["ledger"] == after["on_hand"]
    cur = await plant.execute(
        "select quantity, kind, reference_type, reference_id, actor from stock_movements "
        "where reference_id = %s",
        (wo.work_order_id,),
    )
    assert await cur.fetchall() == [
        {"quantity": -1, "kind": "CONSUMPTION", "reference_type": "work_order",
         "reference_id": wo.work_order_id, "actor": "user:tech-alvarez"}
    ]  # fmt: skip
    machine = await get_machine(plant, "PHX-CNC-005")
    assert (machine.status, machine.last_maintenance_at) == ("IDLE", fixed_clock.now())
    types = [e.type for e in await events.since(plant, 0) if e.entity_id == wo.work_order_id]
    assert types == [
        "work_order.created", "work_order.scheduled", "work_order.started",
        "work_order.completed",
    ]  # fmt: skip


@pytest.mark.anyio
async def test_cancelling_a_work_order_releases_its_parts(plant: db.AsyncConn) -> None:
    stock = await level(plant, "SKU-SPN-20K", "PHX")
    wo = await spindle_order(plant)

    cancelled = await cancel_work_order(
        plant, PLANNER, work_order_id=wo.work_order_id, reason="Duplicate of WO-3002"
    )

    assert (cancelled.status, cancelled.cancel_reason) == ("CANCELLED", "Duplicate of WO-3002")
    assert [(p.reserved, p.status) for p in cancelled.parts] == [(0, "RELEASED")]
    assert await level(plant, "SKU-SPN-20K", "PHX") == stock


@pytest.mark.anyio
async def test_the_seeded_work_in_progress_completes_and_returns_det_cnc_003_to_service(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    [running] = await list_work_orders(plant, status="IN_PROGRESS")

    done = await complete_work_order(
        plant, TECH, work_order_id=running.work_order_id, resolution="Coolant pump replaced"
    )

    assert (done.work_order_id, done.machine_id) == ("WO-3001", "DET-CNC-003")
    machine = await get_machine(plant, "DET-CNC-003")
    assert (machine.status, machine.last_maintenance_at) == ("IDLE", fixed_clock.now())


@pytest.mark.anyio
async def test_a_machine_stays_in_maintenance_until_its_last_work_order_completes(
    plant: db.AsyncConn,
) -> None:
    extra = await create_work_order(
        plant, PLANNER, machine_id="DET-CNC-003", kind="INSPECTION", priority="LOW",
        description="Check the coolant lines while the machine is open", parts=[],
    )  # fmt: skip
    await start_work_order(plant, TECH, work_order_id=extra.work_order_id)

    await complete_work_order(plant, TECH, work_order_id="WO-3001", resolution="Pump replaced")
    still = await get_machine(plant, "DET-CNC-003")
    await complete_work_order(plant, TECH, work_order_id=extra.work_order_id, resolution="OK")

    assert still.status == "MAINTENANCE"
    assert (await get_machine(plant, "DET-CNC-003")).status == "IDLE"


@pytest.mark.anyio
async def test_transitions_the_lifecycle_does_not_allow_are_refused_with_what_is_valid(
    plant: db.AsyncConn,
) -> None:
    wo = await spindle_order(plant)
    wid = wo.work_order_id

    with pytest.raises(InvalidTransitionError, match=f"{wid} is OPEN and cannot be completed; "
                       "from OPEN it can become SCHEDULED, IN_PROGRESS, CANCELLED"):  # fmt: skip
        await complete_work_order(plant, TECH, work_order_id=wid, resolution="done")
    await start_work_order(plant, TECH, work_order_id=wid)
    with pytest.raises(InvalidTransitionError, match="IN_PROGRESS and cannot be cancelled; "
                       "complete it"):  # fmt: skip
        await cancel_work_order(plant, PLANNER, work_order_id=wid, reason="changed our mind")
    with pytest.raises(InvalidTransitionError, match="IN_PROGRESS and cannot be scheduled"):
        await schedule_work_order(
            plant, PLANNER, work_order_id=wid, starts_at=wo.created_at,
            ends_at=wo.created_at + timedelta(hours=1),
        )  # fmt: skip
    await complete_work_order(plant, TECH, work_order_id=wid, resolution="done")
    with pytest.raises(
        InvalidTransitionError, match="COMPLETED, a final status: it cannot be started"
    ):
        await start_work_order(plant, TECH, work_order_id=wid)
    with pytest.raises(NotFoundError, match="work order 'WO-1' does not exist"):
        await start_work_order(plant, TECH, work_order_id="WO-1")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"kind": "URGENT"}, ValidationError, "kind 'URGENT' is invalid"),
        ({"priority": "P1"}, ValidationError, "priority 'P1' is invalid"),
        ({"fault_type": "RUST"}, ValidationError, "fault type 'RUST' is unknown"),
        ({"description": "  "}, ValidationError, "needs a description"),
        ({"description": "x" * 2001}, ValidationError, "description is at most 2000"),
        ({"machine_id": "PHX-CNC-404"}, NotFoundError, "machine 'PHX-CNC-404' does not exist"),
        ({"parts": [PartRequest(sku="SKU-NOPE-1", quantity=1)]}, NotFoundError,
         "spare parts SKU-NOPE-1 are not known"),
        ({"parts": [PartRequest(sku="SKU-BRG-6205", quantity=1)] * 2}, ValidationError,
         "each spare part SKU once"),
        ({"anomaly_id": 42}, NotFoundError, "anomaly 42 does not exist for machine"),
    ],
)  # fmt: skip
async def test_a_bad_work_order_is_refused_and_writes_nothing(
    plant: db.AsyncConn, changes: dict[str, Any], error: type[Exception], message: str
) -> None:
    args: dict[str, Any] = {"machine_id": "PHX-CNC-005", "kind": "CORRECTIVE",
                            "priority": "HIGH", "description": "fix it"} | changes  # fmt: skip
    audit = await count(plant, "select count(*) as n from audit_log")

    with pytest.raises(error, match=message):
        await create_work_order(plant, PLANNER, **args)

    assert await count(plant, "select count(*) as n from audit_log") == audit
    assert await count(plant, "select count(*) as n from work_orders") == 5


@pytest.mark.anyio
async def test_a_bad_or_overlapping_maintenance_window_is_refused(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    wo = await spindle_order(plant, machine_id="PHX-CNC-012")
    now = fixed_clock.now()
    [seeded] = await list_work_orders(plant, machine_id="PHX-CNC-012", status="SCHEDULED")
    assert seeded.scheduled_start is not None and seeded.scheduled_end is not None

    def window(start: Any, hours: float) -> dict[str, Any]:
        return {"work_order_id": wo.work_order_id, "starts_at": start,
                "ends_at": start + timedelta(hours=hours)}  # fmt: skip

    with pytest.raises(ValidationError, match="must end after it starts"):
        await schedule_work_order(plant, PLANNER, **window(now + timedelta(hours=1), -1))
    with pytest.raises(ValidationError, match="ends in the past"):
        await schedule_work_order(plant, PLANNER, **window(now - timedelta(hours=5), 1))
    with pytest.raises(ConflictError, match=f"already has work order {seeded.work_order_id}"):
        await schedule_work_order(plant, PLANNER, **window(seeded.scheduled_start, 1))
    ok = await schedule_work_order(plant, PLANNER, **window(seeded.scheduled_end, 1))
    assert ok.status == "SCHEDULED"


@pytest.mark.anyio
async def test_racing_work_orders_never_reserve_more_spindles_than_are_on_hand(
    plant: db.AsyncConn, db_url: str
) -> None:
    stock = await level(plant, "SKU-SPN-20K", "PHX")
    free = stock["on_hand"] - stock["reserved"]
    await plant.commit()

    async def one(i: int) -> Any:
        async with db.connection(db_url) as conn:
            return await spindle_order(conn, machine_id=f"PHX-CNC-00{3 + (i % 3) * 2}")

    made = await asyncio.gather(*(one(i) for i in range(8)))

    assert sum(wo.parts[0].reserved for wo in made) == free
    after = await level(plant, "SKU-SPN-20K", "PHX")
    assert (after["on_hand"], after["reserved"]) == (stock["on_hand"], stock["on_hand"])
    assert await count(plant, "select count(*) as n from event_log where type = "
                       "'work_order.created'") == 8  # fmt: skip


@pytest.mark.anyio
async def test_a_work_order_created_twice_with_one_key_exists_once(plant: db.AsyncConn) -> None:
    first = await spindle_order(plant, idempotency_key="wo-key")
    again = await spindle_order(plant, idempotency_key="wo-key")

    assert again == first
    assert await count(plant, "select count(*) as n from work_orders") == 6


# ───────────────────────── from an anomaly ─────────────────────────


async def bearing_hour(conn: db.AsyncConn, end: Any) -> None:
    """PHX-CNC-007 with vibration past critical and rising, temperature following."""
    batch = [
        Reading(machine_id="PHX-CNC-007", sensor=s, ts=end - timedelta(minutes=59 - i), value=v)
        for i in range(60)
        for s, v in (("vibration", 5.6 + 0.02 * i + 0.01 * math.sin(i)),
                     ("temperature", 55 + 0.1 * i + 0.05 * math.sin(i * 3)),
                     ("spindle_load", 55 + math.sin(i * 2.1)))
    ]  # fmt: skip
    await record_readings(conn, REACTOR, readings=batch)


@pytest.mark.anyio
async def test_a_high_anomaly_opens_one_corrective_work_order_for_the_bearing_it_points_to(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    await bearing_hour(plant, fixed_clock.now())
    report = await detect_anomalies(plant, REACTOR, machine_ids=["PHX-CNC-007"])
    critical = next(a for a in report.written if a.severity == "CRITICAL")

    opened = await open_work_order_for_anomaly(plant, REACTOR, anomaly_id=critical.anomaly_id)
    events_after = (await events.since(plant, 0))[-1].event_id
    again = await open_work_order_for_anomaly(plant, REACTOR, anomaly_id=critical.anomaly_id)

    wo = opened.work_order
    assert opened.created and not again.created
    assert again.work_order.work_order_id == wo.work_order_id
    assert await events.since(plant, events_after) == []
    assert (wo.kind, wo.priority, wo.fault_type, wo.anomaly_id) == (
        "CORRECTIVE", "CRITICAL", "BEARING_DEGRADATION", critical.anomaly_id
    )  # fmt: skip
    assert "Suspected bearing degradation: vibration is past its warning level" in wo.description
    assert {p.sku: p.quantity for p in wo.parts} == {"SKU-BRG-7014": 2, "SKU-BRG-6205": 1}
    assert wo.shortages == {}  # PHX holds the last two spindle bearings: now low
    low = [e.entity_id for e in await events.since(plant, 0) if e.type == "stock.low"]
    assert "SKU-BRG-7014@PHX" in low
    await start_work_order(plant, TECH, work_order_id=wo.work_order_id)
    await complete_work_order(plant, TECH, work_order_id=wo.work_order_id, resolution="ok")
    assert await list_anomalies(plant, "PHX-CNC-007", status="OPEN") == []
    assert (await level(plant, "SKU-BRG-7014", "PHX"))["on_hand"] == 0


@pytest.mark.anyio
async def test_racing_reactors_open_a_single_work_order_for_one_machine(
    plant: db.AsyncConn, fixed_clock: FixedClock, db_url: str
) -> None:
    await bearing_hour(plant, fixed_clock.now())
    report = await detect_anomalies(plant, REACTOR, machine_ids=["PHX-CNC-007"])
    await plant.commit()

    async def react(anomaly_id: int) -> bool:
        async with db.connection(db_url) as conn:
            done = await open_work_order_for_anomaly(conn, REACTOR, anomaly_id=anomaly_id)
            return done.created

    created = await asyncio.gather(*(react(report.written[i % len(report.written)].anomaly_id)
                                     for i in range(8)))  # fmt: skip

    assert sum(created) == 1
    assert await count(plant, "select count(*) as n from work_orders where machine_id = "
                       "'PHX-CNC-007'") == 1  # fmt: skip


@pytest.mark.anyio
async def test_a_routine_work_order_does_not_stop_a_fault_from_getting_its_own(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    await create_work_order(
        plant, PLANNER, machine_id="PHX-CNC-007", kind="PREVENTIVE", priority="LOW",
        description="Way lube top-up", parts=[],
    )  # fmt: skip
    await bearing_hour(plant, fixed_clock.now())
    [anomaly, *_] = (await detect_anomalies(plant, REACTOR, machine_ids=["PHX-CNC-007"])).written

    opened = await open_work_order_for_anomaly(plant, REACTOR, anomaly_id=anomaly.anomaly_id)

    assert opened.created
    with pytest.raises(NotFoundError, match="anomaly 999 does not exist"):
        await open_work_order_for_anomaly(plant, REACTOR, anomaly_id=999)


# ───────────────────────── any sequence of moves ─────────────────────────

WO_ACTIONS = ("schedule", "start", "complete", "cancel")
WO_MODEL: dict[str, tuple[tuple[str, ...], str]] = {
    "schedule": (("OPEN", "SCHEDULED"), "SCHEDULED"),
    "start": (("OPEN", "SCHEDULED"), "IN_PROGRESS"),
    "complete": (("IN_PROGRESS",), "COMPLETED"),
    "cancel": (("OPEN", "SCHEDULED"), "CANCELLED"),
}
PROPERTY_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture
def plant_url(db_url: str, fixed_clock: FixedClock) -> str:
    """The test database with the demo plant loaded, for examples that open their own orders."""

    async def load() -> None:
        async with db.connection(db_url) as conn, conn.transaction():
            await demo_plant.seed(conn, seed=42)

    asyncio.run(load())
    return db_url


async def snapshot(conn: db.AsyncConn, wo_id: str) -> list[Any]:
    """Everything a refused move must leave as it was."""
    found = []
    for query in (
        "select * from work_orders where work_order_id = %(id)s",
        "select * from work_order_parts where work_order_id = %(id)s",
        "select * from stock_levels where sku = 'SKU-BRG-6205' and facility_id = 'MUC'",
        "select * from equipment where machine_id = 'MUC-CNC-002'",
        "select count(*), max(event_id) from event_log",
        "select count(*), max(audit_id) from audit_log",
        "select count(*) from stock_movements",
    ):
        cur = await conn.execute(query, {"id": wo_id})
        found.append(await cur.fetchall())
    await conn.commit()
    return found


async def move(conn: db.AsyncConn, action: str, wo_id: str, clock: FixedClock) -> Any:
    if action == "schedule":
        start = clock.now() + timedelta(hours=1)
        return await schedule_work_order(conn, PLANNER, work_order_id=wo_id, starts_at=start,
                                         ends_at=start + timedelta(hours=2))  # fmt: skip
    if action == "start":
        return await start_work_order(conn, TECH, work_order_id=wo_id)
    if action == "complete":
        return await complete_work_order(conn, TECH, work_order_id=wo_id, resolution="done")
    return await cancel_work_order(conn, PLANNER, work_order_id=wo_id, reason="not needed")


async def work_order_walk(url: str, clock: FixedClock, actions: list[str]) -> None:
    async with db.connection(url) as conn:
        wo = await create_work_order(
            conn, PLANNER, machine_id="MUC-CNC-002", kind="CORRECTIVE", priority="LOW",
            description="property walk", parts=[PartRequest(sku="SKU-BRG-6205", quantity=1)],
        )  # fmt: skip
        await conn.commit()
        status = wo.status
        for action in [*actions, "cleanup"]:
            if action == "cleanup":  # close it, so that the next example starts afresh
                action = {"IN_PROGRESS": "complete", "OPEN": "cancel", "SCHEDULED": "cancel"}.get(
                    status, "complete"
                )
            sources, target = WO_MODEL[action]
            if status in sources:
                status = (await move(conn, action, wo.work_order_id, clock)).status
                assert status == target
            else:
                before = await snapshot(conn, wo.work_order_id)
                with pytest.raises(InvalidTransitionError, match=f"{wo.work_order_id} is {status}"):
                    await move(conn, action, wo.work_order_id, clock)
                assert await snapshot(conn, wo.work_order_id) == before
            await conn.commit()
            machine = await get_machine(conn, "MUC-CNC-002")
            stock = await level(conn, "SKU-BRG-6205", "MUC")
            await conn.commit()
            assert (machine.status == "MAINTENANCE") == (status == "IN_PROGRESS")
            assert stock["ledger"] == stock["on_hand"] >= stock["reserved"] >= 0
            assert stock["reserved"] == (1 if status in ("OPEN", "SCHEDULED", "IN_PROGRESS") else 0)


@PROPERTY_SETTINGS
@given(st.lists(st.sampled_from(WO_ACTIONS), max_size=8))
def test_any_sequence_of_work_order_moves_leaves_a_valid_state_and_refuses_the_rest_unchanged(
    plant_url: str, fixed_clock: FixedClock, actions: list[str]
) -> None:
    asyncio.run(work_order_walk(plant_url, fixed_clock, actions))
