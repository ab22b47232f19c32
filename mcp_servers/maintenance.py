"""MCP tools of the maintenance domain: machines, health, anomalies, predictions, work orders,
thresholds and OEE."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from mcp.server.fastmcp import Context
from pydantic import BaseModel, Field

from mcp_servers.runtime import ToolBox, actor_of, domain_tool, plant_of
from tools.accounts.permissions import Permission as P
from tools.core.settings import get_settings
from tools.machine_data import heartbeats, production, thresholds
from tools.machine_data.sensors import Sensor
from tools.maintenance import anomalies, health, prediction, work_orders
from tools.maintenance import faults as fault_classification
from tools.maintenance import lifecycle as work_order_lifecycle
from tools.maintenance.fault_types import FaultType
from tools.maintenance.health import MachineStatus
from tools.maintenance.work_orders import WorkOrderStatus

MachineId = Annotated[
    str,
    Field(pattern=r"^[A-Z]{3}-[A-Z]{2,5}-[0-9]{3}$", description="A machine ID, e.g. PHX-CNC-007."),
]
FacilityId = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="PHX, MUC or DET.")]
WorkOrderId = Annotated[str, Field(pattern=r"^WO-\d+$", description="e.g. WO-3001")]
WindowMinutes = Annotated[
    float, Field(gt=0, le=10_080, description="How far back to look, in minutes (max a week).")
]
WcType = Literal["CNC_MILL", "CNC_LATHE", "GRINDING", "HEAT_TREAT", "ASSEMBLY", "INSPECTION"]
Kind = Literal["CORRECTIVE", "PREVENTIVE", "PREDICTIVE", "INSPECTION"]
Priority = Literal["LOW", "MEDIUM", "HIGH", "CRITICAL"]
IdempotencyKey = Annotated[
    str | None, Field(max_length=200, description="Repeat a call with the same key: no repeat.")
]


class HeartbeatRisk(BaseModel):
    machines: list[heartbeats.HeartbeatRecord]
    facilities: list[heartbeats.FacilityRisk]


def register(box: ToolBox) -> None:
    _register_condition(box)
    _register_work_orders(box)


def _register_condition(box: ToolBox) -> None:
    tool = domain_tool

    @tool(box, P.MACHINE_VIEW, title="List machines")
    async def list_machines(
        ctx: Context,  # type: ignore[type-arg]
        facility_id: FacilityId | None = None,
        wc_type: WcType | None = None,
        status: MachineStatus | None = None,
    ) -> list[health.Machine]:
        """The plant's machines (equipment) with status, model, work center and heartbeat,
        filtered by facility, work-center type and status."""
        async with plant_of(ctx).pool.connection() as conn:
            return await health.list_machines(
                conn, facility_id=facility_id, wc_type=wc_type, status=status
            )

    @tool(box, P.MACHINE_VIEW, title="Health of one machine")
    async def machine_health(
        ctx: Context,  # type: ignore[type-arg]
        machine_id: MachineId,
        window_minutes: WindowMinutes = 60,
    ) -> health.MachineHealth:
        """A machine's health over a recent window: per-sensor statistics (mean, min, max, std,
        last, trend per hour) against its thresholds, a health index 0-100 and UP / DEGRADED /
        DOWN / MAINTENANCE. Start here for "why is PHX-CNC-007 vibrating?"."""
        async with plant_of(ctx).pool.connection() as conn:
            return await health.machine_health(conn, machine_id, window_minutes=window_minutes)

    @tool(box, P.MACHINE_VIEW, title="Health of the plant's machines")
    async def plant_health(
        ctx: Context,  # type: ignore[type-arg]
        facility_id: FacilityId | None = None,
        window_minutes: WindowMinutes = 60,
    ) -> list[health.MachineHealth]:
        """Health of every machine (or one facility's), worst first is up to you: each with its
        index 0-100 and status. Use for a plant overview or a daily briefing."""
        async with plant_of(ctx).pool.connection() as conn:
            return await health.equipment_health(
                conn, facility_id=facility_id, window_minutes=window_minutes
            )

    @tool(box, P.MACHINE_VIEW, title="Heartbeat reliability and risk")
    async def get_heartbeat_risk(
        ctx: Context,  # type: ignore[type-arg]
        machine_id: MachineId | None = None,
        facility_id: FacilityId | None = None,
    ) -> HeartbeatRisk:
        """How reliably machines are heard: per machine the heartbeats missed over the last
        half hour (error rate), the trend of their delay, connectivity OK / DEGRADED
        (intermittent) and risk HIGH / MEDIUM / LOW, with where a HIGH-risk machine's queued
        work could go; and each facility's risk. Use for "is PHX-CNC-007 dropping out?"."""
        settings = get_settings()
        async with plant_of(ctx).pool.connection() as conn, conn.transaction():
            machines = await heartbeats.heartbeat_records(
                conn, settings, machine_ids=[machine_id] if machine_id else None,
                facility_id=facility_id,
            )  # fmt: skip
            facilities = await heartbeats.facility_risks(conn, settings)
        wanted = {m.facility_id for m in machines}
        return HeartbeatRisk(
            machines=machines, facilities=[f for f in facilities if f.facility_id in wanted]
        )

    @tool(box, P.MACHINE_MAINTAIN, title="Detect anomalies", write=True, idempotent=True)
    async def detect_anomalies(
        ctx: Context,  # type: ignore[type-arg]
        machine_ids: Annotated[
            list[str] | None, Field(max_length=100, description="Machines to scan; all if empty.")
        ] = None,
        window_minutes: WindowMinutes = 60,
    ) -> anomalies.DetectionReport:
        """Scan recent sensor readings for anomalies (threshold breaches with ISO 10816 vibration
        zones, rising trends, spikes, stuck sensors) and record new ones; re-running over the
        same data records nothing twice. To answer a question, scan_anomalies finds the same
        without recording."""
        async with plant_of(ctx).pool.connection() as conn:
            return await anomalies.detect_anomalies(
                conn, actor_of(ctx), machine_ids=machine_ids or None,
                window_minutes=window_minutes,
            )  # fmt: skip

    @tool(box, P.MACHINE_VIEW, title="Scan for anomalies without recording")
    async def scan_anomalies(
        ctx: Context,  # type: ignore[type-arg]
        machine_ids: Annotated[
            list[str] | None, Field(max_length=100, description="Machines to scan; all if empty.")
        ] = None,
        window_minutes: WindowMinutes = 60,
    ) -> anomalies.ScanReport:
        """What detect_anomalies would find in recent sensor readings (threshold breaches with
        ISO 10816 vibration zones, rising trends, spikes, stuck sensors), recording nothing:
        use it to answer "why is PHX-CNC-007 vibrating?"."""
        async with plant_of(ctx).pool.connection() as conn:
            return await anomalies.scan_anomalies(
                conn, machine_ids=machine_ids or None, window_minutes=window_minutes
            )

    @tool(box, P.MACHINE_VIEW, title="List anomalies")
    async def list_anomalies(
        ctx: Context,  # type: ignore[type-arg]
        machine_id: MachineId | None = None,
        status: Literal["OPEN", "ACKNOWLEDGED", "RESOLVED"] | None = None,
        since: datetime | None = None,
        limit: Annotated[int, Field(ge=1, le=500)] = 50,
    ) -> list[anomalies.Anomaly]:
        """Recorded anomalies, newest first, by machine and status."""
        async with plant_of(ctx).pool.connection() as conn:
            return await anomalies.list_anomalies(
                conn, machine_id=machine_id, status=status, since=since, limit=limit
            )

    @tool(box, P.MACHINE_VIEW, title="Classify a machine's fault")
    async def classify_fault(
        ctx: Context,  # type: ignore[type-arg]
        machine_id: MachineId,
        window_minutes: WindowMinutes = 60,
    ) -> fault_classification.FaultDiagnosis:
        """Which fault a machine's sensor signature points to (bearing, spindle, motor, coolant,
        electrical, sensor drift), with the scored evidence for each."""
        async with plant_of(ctx).pool.connection() as conn:
            return await fault_classification.classify_fault(
                conn, machine_id, window_minutes=window_minutes
            )

    @tool(box, P.MACHINE_MAINTAIN, title="Predict a machine's failure", write=True)
    async def predict_failure(
        ctx: Context,  # type: ignore[type-arg]
        machine_id: MachineId,
        failure_mode: FaultType | None = None,
        horizon_hours: Annotated[float, Field(gt=0, le=720)] = 72,
    ) -> prediction.FailurePrediction:
        """Fit the degradation trend and estimate remaining useful life (hours, with a 90%
        interval) and the probability of failure within the horizon; the prediction is stored
        with its inputs. To answer a question, estimate_failure computes the same without
        storing it."""
        async with plant_of(ctx).pool.connection() as conn:
            return await prediction.predict_failure(
                conn, actor_of(ctx), machine_id=machine_id, failure_mode=failure_mode,
                horizon_hours=horizon_hours,
            )  # fmt: skip

    @tool(box, P.MACHINE_VIEW, title="Estimate a machine's failure without storing it")
    async def estimate_failure(
        ctx: Context,  # type: ignore[type-arg]
        machine_id: MachineId,
        failure_mode: FaultType | None = None,
        horizon_hours: Annotated[float, Field(gt=0, le=720)] = 72,
    ) -> prediction.FailureEstimate:
        """What predict_failure would predict, storing nothing: remaining useful life (hours,
        with a 90% interval), the probability of failure within the horizon, the predicted
        failure time, confidence, evidence and the fit. Use it to answer "when will
        PHX-CNC-007 fail?"."""
        async with plant_of(ctx).pool.connection() as conn:
            return await prediction.estimate_failure(
                conn, machine_id=machine_id, failure_mode=failure_mode,
                horizon_hours=horizon_hours,
            )  # fmt: skip


def _register_work_orders(box: ToolBox) -> None:
    tool = domain_tool

    @tool(box, P.JOB_VIEW, title="List work orders")
    async def list_work_orders(
        ctx: Context,  # type: ignore[type-arg]
        machine_id: MachineId | None = None,
        status: WorkOrderStatus | None = None,
        facility_id: FacilityId | None = None,
        limit: Annotated[int, Field(ge=1, le=500)] = 50,
    ) -> list[work_orders.WorkOrder]:
        """Maintenance work orders with their parts, by machine, status and facility."""
        async with plant_of(ctx).pool.connection() as conn:
            return await work_orders.list_work_orders(
                conn, machine_id=machine_id, status=status, facility_id=facility_id, limit=limit
            )

    @tool(box, P.JOB_VIEW, title="Get a work order")
    async def get_work_order(ctx: Context, work_order_id: WorkOrderId) -> work_orders.WorkOrder:  # type: ignore[type-arg]
        """One work order with its parts (reserved, consumed) and history."""
        async with plant_of(ctx).pool.connection() as conn:
            return await work_orders.get_work_order(conn, work_order_id)

    @tool(box, P.MACHINE_MAINTAIN, title="Open a work order", write=True)
    async def create_work_order(
        ctx: Context,  # type: ignore[type-arg]
        machine_id: MachineId,
        kind: Kind,
        priority: Priority,
        description: Annotated[str, Field(min_length=1, max_length=2000)],
        fault_type: FaultType | None = None,
        anomaly_id: Annotated[int | None, Field(ge=1)] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> work_orders.WorkOrder:
        """Open a maintenance work order for a machine; spare parts for the fault type are
        reserved from stock (shortages are reported in the result)."""
        async with plant_of(ctx).pool.connection() as conn:
            return await work_orders.create_work_order(
                conn, actor_of(ctx), machine_id=machine_id, kind=kind, priority=priority,
                description=description, fault_type=fault_type, anomaly_id=anomaly_id,
                idempotency_key=idempotency_key,
            )  # fmt: skip

    @tool(box, P.JOB_RELEASE, title="Schedule a work order", write=True, idempotent=True)
    async def schedule_work_order(
        ctx: Context,  # type: ignore[type-arg]
        work_order_id: WorkOrderId,
        starts_at: datetime,
        ends_at: datetime,
        assigned_to: Annotated[str | None, Field(max_length=100)] = None,
    ) -> work_orders.WorkOrder:
        """Give a work order its maintenance window (ISO 8601 times with timezone)."""
        async with plant_of(ctx).pool.connection() as conn:
            return await work_order_lifecycle.schedule_work_order(
                conn, actor_of(ctx), work_order_id=work_order_id, starts_at=starts_at,
                ends_at=ends_at, assigned_to=assigned_to,
            )  # fmt: skip

    @tool(box, P.JOB_RELEASE, title="Start a work order", write=True, idempotent=True)
    async def start_work_order(ctx: Context, work_order_id: WorkOrderId) -> work_orders.WorkOrder:  # type: ignore[type-arg]
        """Start the work: the machine goes into MAINTENANCE (all parts must be reserved)."""
        async with plant_of(ctx).pool.connection() as conn:
            return await work_order_lifecycle.start_work_order(
                conn, actor_of(ctx), work_order_id=work_order_id
            )

    @tool(box, P.JOB_RELEASE, title="Complete a work order", write=True)
    async def complete_work_order(
        ctx: Context,  # type: ignore[type-arg]
        work_order_id: WorkOrderId,
        resolution: Annotated[str, Field(min_length=1, max_length=2000)],
    ) -> work_orders.WorkOrder:
        """Finish the work: parts are consumed from stock and the machine returns to IDLE."""
        async with plant_of(ctx).pool.connection() as conn:
            return await work_order_lifecycle.complete_work_order(
                conn, actor_of(ctx), work_order_id=work_order_id, resolution=resolution
            )

    @tool(box, P.JOB_RELEASE, title="Cancel a work order", write=True, destructive=True)
    async def cancel_work_order(
        ctx: Context,  # type: ignore[type-arg]
        work_order_id: WorkOrderId,
        reason: Annotated[str, Field(min_length=1, max_length=500)],
    ) -> work_orders.WorkOrder:
        """Cancel a work order that has not started; its reserved parts go back to stock."""
        async with plant_of(ctx).pool.connection() as conn:
            return await work_order_lifecycle.cancel_work_order(
                conn, actor_of(ctx), work_order_id=work_order_id, reason=reason
            )

    @tool(box, P.MACHINE_VIEW, title="Sensor thresholds of machines")
    async def sensor_thresholds(
        ctx: Context,  # type: ignore[type-arg]
        machine_ids: Annotated[list[str], Field(min_length=1, max_length=50)],
    ) -> dict[str, dict[str, thresholds.Threshold]]:
        """The warning and critical levels in force per machine and sensor (the machine's own,
        else the global one tightened by its ISO 10816 class)."""
        async with plant_of(ctx).pool.connection() as conn:
            return await thresholds.effective_thresholds(conn, machine_ids)

    @tool(box, P.MACHINE_CONFIG, title="Set a sensor threshold", write=True, idempotent=True)
    async def set_sensor_threshold(
        ctx: Context,  # type: ignore[type-arg]
        sensor: Sensor,
        warning: float,
        critical: float,
        machine_id: Annotated[
            MachineId | None, Field(description="Leave empty to set the global threshold.")
        ] = None,
    ) -> thresholds.Threshold:
        """Set the warning and critical levels for a sensor on one machine (or globally).
        Units: vibration mm/s, temperature °C, spindle_speed rpm, spindle_load %,
        coolant_pressure bar, motor_current A, power kW."""
        async with plant_of(ctx).pool.connection() as conn:
            return await thresholds.set_threshold(
                conn, actor_of(ctx), sensor=sensor, warning=warning, critical=critical,
                machine_id=machine_id,
            )  # fmt: skip

    @tool(box, P.MACHINE_VIEW, title="OEE")
    async def oee(
        ctx: Context,  # type: ignore[type-arg]
        start: date,
        end: date,
        facility_id: FacilityId | None = None,
        work_center_id: Annotated[str | None, Field(max_length=40)] = None,
        machine_id: MachineId | None = None,
    ) -> production.OeeReport:
        """Overall equipment effectiveness (availability × performance × quality) over the
        shifts from start to end (dates, inclusive) for a machine, a work center, a facility,
        or the whole plant, broken down per work center and machine."""
        async with plant_of(ctx).pool.connection() as conn:
            return await production.oee(
                conn, start=start, end=end, facility_id=facility_id,
                work_center_id=work_center_id, machine_id=machine_id,
            )  # fmt: skip
