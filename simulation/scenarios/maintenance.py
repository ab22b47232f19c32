"""The maintenance scenarios: the Phoenix incident and a machine down
(`simulation.scenarios.run`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from simulation.backfill import recent_history
from simulation.context import rows
from simulation.scenarios.run import (
    Plan,
    ScenarioRun,
    open_purchase_orders,
    raise_purchase,
    tell_role,
)
from simulation.world.faults import end_faults, start_fault
from simulation.world.machines import machines
from simulation.world.monitor import detect
from tools.communications.notifications import notify_for_event
from tools.core import clock, events
from tools.core.db import AsyncConn
from tools.inventory.planning import spare_parts_for
from tools.inventory.stock import stock_level
from tools.machine_data.status import set_machine_status
from tools.maintenance.anomalies import list_anomalies
from tools.maintenance.prediction import predict_failure
from tools.maintenance.work_orders import (
    WorkOrder,
    create_work_order,
    list_work_orders,
    open_work_order_for_anomaly,
)
from tools.reactors.rules import process_pending
from tools.scheduling.reschedule import RescheduleRequest, reschedule_machine
from tools.scheduling.schedules import (
    ScheduleRequest,
    applied_schedule,
    apply_schedule,
    propose_schedule,
)

PHOENIX = "PHX-CNC-007"
BEARING = "BEARING_DEGRADATION"
DOWN_MACHINE = "DET-CNC-001"


def phoenix_incident(run: ScenarioRun) -> Plan:
    conn, actor, m = run.conn, run.ctx.actor, PHOENIX
    anomalies: list[int] = []
    ordered: list[str] = []

    async def bearing_fails() -> None:
        run.hold(m)
        [machine] = await machines(conn, [m])
        if machine.status == "IDLE":
            await set_machine_status(
                conn, actor, machine_id=m, status="RUNNING", reason="job loaded"
            )
        now = clock.now()
        truth = await start_fault(
            conn,
            machine_id=m,
            pattern=BEARING,
            started_at=now - timedelta(hours=10.5),
            failure_at=now + timedelta(hours=1.5),
            source="scenario",
            replace=True,
        )
        history = await recent_history(
            conn,
            m,
            since=now - timedelta(hours=3),
            until=now - timedelta(minutes=1),
            faults=[truth.fault()],
            seed=run.engine.world.seed,
        )
        run.facts |= {"fault_id": truth.fault_id, "failure_at": truth.failure_at.isoformat()}
        run.note(
            "bearing degrades",
            f"{m}: spindle bearing wearing, {history} readings of the last 3 hours on record",
        )

    async def machine_checked() -> None:
        new = await detect(run.ctx, clock.now(), [m])
        async with conn.transaction():
            found = await list_anomalies(conn, m, status="OPEN", limit=10)
        prediction = await predict_failure(
            conn, actor, machine_id=m, failure_mode=BEARING, window_hours=4.0
        )
        rul = f"{prediction.rul_hours:.1f} h" if prediction.rul_hours is not None else "unknown"
        anomalies.extend(a.anomaly_id for a in found)
        run.facts |= {"anomalies": list(anomalies), "prediction_id": prediction.prediction_id}
        run.note(
            "machine checked",
            f"{new} new anomalies ({'; '.join(a.description for a in found[:2])}); failure "
            f"probability {prediction.probability:.0%} within {prediction.horizon_hours:g} h, "
            f"remaining life {rul}",
            ok=bool(found),
        )

    async def work_order() -> None:
        await process_pending(conn)  # the anomaly reactor answers first
        wo = await _fault_work_order(run)
        if wo is None:
            if anomalies:
                opened = await open_work_order_for_anomaly(conn, actor, anomaly_id=anomalies[0])
                wo = opened.work_order
            else:
                wo = await create_work_order(
                    conn,
                    actor,
                    machine_id=m,
                    kind="PREDICTIVE",
                    priority="HIGH",
                    fault_type=BEARING,
                    description="Spindle bearing failure predicted",
                )
        run.facts["work_order_id"] = wo.work_order_id
        await _tell_maintenance(run, wo.work_order_id)
        run.note("work order", f"{wo.work_order_id} ({wo.kind}, {wo.priority}): {wo.fault_type}")

    async def bearing_stock() -> None:
        parts = await spare_parts_for(conn, m, BEARING)
        wo = await _fault_work_order(run)
        short = wo.shortages if wo else {}
        said = []
        for part in parts.parts:
            level = await stock_level(conn, part.sku, parts.facility_id)
            low = level.available <= level.reorder_point or part.sku in short
            said.append(f"{part.sku} {level.available} free (reorder point {level.reorder_point})")
            if not low or await open_purchase_orders(run, part.sku, parts.facility_id):
                continue
            needed = max(level.reorder_quantity, short.get(part.sku, 0))
            po = await raise_purchase(run, part.sku, parts.facility_id, needed)
            if po is not None:
                ordered.append(po.po_id)
        run.facts["purchase_orders"] = list(ordered)
        done = f"; raised {', '.join(ordered)}" if ordered else "; enough stock, or on order"
        run.note("bearing stock checked", "; ".join(said) + done)

    async def manager_told() -> None:
        wo = run.facts.get("work_order_id")
        sent = await tell_role(
            run,
            "plant_manager",
            facility_id="PHX",
            severity="WARNING",
            subject=f"{m}: spindle bearing failing, work order {wo}",
            body=(
                f"{m} shows a spindle bearing degrading: vibration trends toward its critical "
                f"level. Work order {wo} is open; bearings on order: "
                f"{', '.join(ordered) or 'none needed'}."
            ),
            entity=("equipment", m),
        )
        run.facts["notifications"] = list(sent)
        run.note("plant manager told", f"{len(sent)} message(s)", ok=bool(sent))
        run.let_go(m)

    return [
        (0, "bearing degrades", bearing_fails),
        (15, "machine checked", machine_checked),
        (20, "work order", work_order),
        (25, "bearing stock", bearing_stock),
        (30, "plant manager told", manager_told),
    ]


async def _tell_maintenance(run: ScenarioRun, work_order_id: str) -> None:
    """The work order's notice to maintenance, keyed as a reactor keys it (sent once)."""
    found = await rows(
        run.conn,
        "select event_id from event_log where type = 'work_order.created' "
        "and entity_id = %(wo)s order by event_id",
        {"wo": work_order_id},
    )
    async with run.conn.transaction():
        created = await events.fetch(run.conn, [r["event_id"] for r in found])
    for event in created:
        await notify_for_event(run.conn, run.ctx.actor, event)


async def _fault_work_order(run: ScenarioRun) -> WorkOrder | None:
    async with run.conn.transaction():
        found = await list_work_orders(run.conn, machine_id=PHOENIX, limit=20)
    open_ = [
        w
        for w in found
        if w.status in ("OPEN", "SCHEDULED", "IN_PROGRESS")
        and w.kind in ("CORRECTIVE", "PREDICTIVE")
    ]
    return open_[-1] if open_ else None


async def _failover_schedule(
    conn: AsyncConn, machine_id: str, which: Literal["reschedule_id", "rebalance_id"]
) -> int | None:
    """The schedule the failover rule proposed for the machine's latest outage, if still
    PROPOSED."""
    cur = await conn.execute(
        f"select f.{which} as schedule_id from failovers f "
        f"join schedules s on s.schedule_id = f.{which} "
        "where f.machine_id = %s and s.status = 'PROPOSED' "
        "order by f.failover_id desc limit 1",
        (machine_id,),
    )
    row = await cur.fetchone()
    return int(row["schedule_id"]) if row else None


async def _apply_failover(run: ScenarioRun, m: str) -> None:
    """The plant's failover rule proposed moving the work off the machine as it went down; the
    planner (played here) applies that proposal, or asks for one if there is none."""
    conn, actor = run.conn, run.ctx.actor
    proposed = await _failover_schedule(conn, m, "reschedule_id")
    by = "the failover rule's"
    if proposed is None:
        result = await reschedule_machine(
            conn, actor, request=RescheduleRequest(machine_id=m, **run.solving())
        )
        if result.schedule is None:
            run.note("rescheduled", f"no schedule: {result.reason}", ok=False)
            return
        proposed, by = result.schedule.schedule_id, "a new"
    applied = await apply_schedule(conn, actor, schedule_id=proposed)
    moved = applied.impact.operations_moved if applied.impact else 0
    run.facts["reschedule"] = applied.schedule_id
    run.note(
        "rescheduled",
        f"{by} schedule {applied.schedule_id} applied: {moved} operations moved off {m}",
    )


async def _apply_rebalance(run: ScenarioRun, m: str, fresh: ScheduleRequest) -> None:
    """Once the machine has beaten steadily for a few minutes, the failover rule proposes moving
    work back; the planner applies it (or plans afresh with `fresh` if there is none)."""
    conn, actor = run.conn, run.ctx.actor
    proposed = await _failover_schedule(conn, m, "rebalance_id")
    by = "the failover rule's rebalance"
    if proposed is None:
        made = await propose_schedule(conn, actor, request=fresh)
        if made.schedule is None:
            run.note("load rebalanced", f"no schedule: {made.reason}", ok=False)
            return
        proposed, by = made.schedule.schedule_id, "a new plan"
    applied = await apply_schedule(conn, actor, schedule_id=proposed)
    on_it = sum(1 for s in applied.slots if s.machine_id == m)
    run.facts["rebalanced"] = applied.schedule_id
    run.note("load rebalanced", f"{by}, schedule {applied.schedule_id}: {on_it} operations on {m}")
    run.let_go(m)


def machine_down(run: ScenarioRun) -> Plan:
    conn, actor, m = run.conn, run.ctx.actor, DOWN_MACHINE

    def plan_request() -> ScheduleRequest:
        return ScheduleRequest(facility_id="DET", **run.solving())

    async def planned() -> None:
        run.hold(m)
        async with conn.transaction():
            base = await applied_schedule(conn, "DET")
        if base is None:
            made = await propose_schedule(conn, actor, request=plan_request())
            if made.schedule is not None:
                base = await apply_schedule(conn, actor, schedule_id=made.schedule.schedule_id)
        now = clock.now()
        await start_fault(
            conn,
            machine_id=m,
            pattern="ELECTRICAL_FAULT",
            started_at=now - timedelta(hours=2),
            failure_at=now + timedelta(minutes=8),
            source="scenario",
            replace=True,
        )
        slots = [s for s in base.slots if s.machine_id == m] if base else []
        run.facts["baseline_schedule"] = base.schedule_id if base else None
        run.note(
            "drive failing",
            f"{m}'s drive is failing; {len(slots)} operations queued on it",
            ok=base is not None,
        )

    async def went_down() -> None:
        [machine] = await machines(conn, [m])
        if machine.status != "DOWN":
            await set_machine_status(
                conn, actor, machine_id=m, status="DOWN", reason="drive tripped: electrical fault"
            )
        run.note("machine down", f"{m} DOWN (it was {machine.status})")

    async def rescheduled() -> None:
        await _apply_failover(run, m)

    async def recovered() -> None:
        await end_faults(conn, m, at=clock.now())
        await set_machine_status(
            conn,
            actor,
            machine_id=m,
            status="IDLE",
            reason="drive module replaced; back in service",
        )
        run.note("machine repaired", f"{m} back in service")

    async def rebalanced() -> None:
        await _apply_rebalance(run, m, plan_request())

    return [
        (0, "drive failing", planned),
        (20, "machine down", went_down),
        (22, "rescheduled", rescheduled),
        (50, "machine repaired", recovered),
        (56, "load rebalanced", rebalanced),
    ]
