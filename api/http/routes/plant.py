"""Plant reads: machines with their health, orders, stock, shipments, work orders and
notifications. Every route reads through `tools/`; filters left out match everything."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from api.http.auth import needs
from api.http.service import service_of
from tools.accounts.accounts import Principal
from tools.accounts.permissions import Permission as P
from tools.communications import notifications as communications
from tools.communications.notifications import Notification, NotificationQuery
from tools.core.limits import MAX_OFFSET
from tools.core.settings import get_settings
from tools.inventory import stock as inventory
from tools.inventory.ledger import StockLevel
from tools.logistics import shipments as logistics
from tools.logistics.shipments import Shipment, ShipmentStatus
from tools.machine_data import heartbeats
from tools.machine_data.heartbeats import FacilityRisk, HeartbeatRecord
from tools.maintenance import health, work_orders
from tools.maintenance.health import MachineHealth
from tools.maintenance.work_orders import WorkOrder, WorkOrderStatus
from tools.orders import orders
from tools.orders.lifecycle import Order, OrderStatus
from tools.orders.orders import OrderSummary

router = APIRouter(tags=["plant"])


Limit = Annotated[int, Query(ge=1, le=500)]
Filter = Annotated[str | None, Query(max_length=100)]
Id = Annotated[str, Path(max_length=100)]


@router.get("/machines", response_model=list[MachineHealth], summary="Machines with health")
async def machines(
    request: Request,
    _: Annotated[Principal, needs(P.MACHINE_VIEW)],
    facility_id: Filter = None,
    window_minutes: Annotated[float, Query(gt=0, le=10080)] = 60,
) -> list[MachineHealth]:
    """Every machine (or a facility's) with its health over the last `window_minutes`."""
    async with service_of(request).pool.connection() as conn, conn.transaction():
        return await health.equipment_health(
            conn, facility_id=facility_id, window_minutes=window_minutes
        )


@router.get(
    "/heartbeats", response_model=list[HeartbeatRecord], summary="Heartbeat reliability and risk"
)
async def heartbeat_records(
    request: Request,
    _: Annotated[Principal, needs(P.MACHINE_VIEW)],
    facility_id: Filter = None,
    machine_id: Filter = None,
) -> list[HeartbeatRecord]:
    """Per machine: heartbeats missed over the window (error rate), the trend of their delay,
    connectivity OK / DEGRADED and risk HIGH / MEDIUM / LOW, with where a HIGH-risk machine's
    queued work could go."""
    async with service_of(request).pool.connection() as conn, conn.transaction():
        return await heartbeats.heartbeat_records(
            conn, get_settings(), facility_id=facility_id,
            machine_ids=None if machine_id is None else [machine_id],
        )  # fmt: skip


@router.get(
    "/heartbeats/facilities", response_model=list[FacilityRisk], summary="Each facility's risk"
)
async def facility_risks(
    request: Request, _: Annotated[Principal, needs(P.MACHINE_VIEW)]
) -> list[FacilityRisk]:
    """Each facility's heartbeat risk over the beats of its running and idle machines."""
    async with service_of(request).pool.connection() as conn, conn.transaction():
        return await heartbeats.facility_risks(conn, get_settings())


@router.get("/machines/{machine_id}", response_model=MachineHealth, summary="A machine's health")
async def machine(
    request: Request, machine_id: Id, _: Annotated[Principal, needs(P.MACHINE_VIEW)]
) -> MachineHealth:
    async with service_of(request).pool.connection() as conn, conn.transaction():
        await health.get_machine(conn, machine_id)  # 404 for an unknown machine
        return await health.machine_health(conn, machine_id)


@router.get("/orders", response_model=list[OrderSummary], summary="Orders")
async def list_orders(
    request: Request,
    _: Annotated[Principal, needs(P.JOB_VIEW)],
    customer_id: Filter = None,
    status: OrderStatus | None = None,
    sku: Filter = None,
    limit: Limit = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[OrderSummary]:
    async with service_of(request).pool.connection() as conn:
        return await orders.list_orders(
            conn, customer_id=customer_id, status=status, sku=sku, limit=limit, offset=offset
        )


@router.get("/orders/{order_id}", response_model=Order, summary="An order")
async def get_order(
    request: Request, order_id: Id, _: Annotated[Principal, needs(P.JOB_VIEW)]
) -> Order:
    async with service_of(request).pool.connection() as conn, conn.transaction():
        return await orders.get_order(conn, order_id)


@router.get("/stock", response_model=list[StockLevel], summary="Stock levels")
async def stock(
    request: Request,
    _: Annotated[Principal, needs(P.MATERIAL_VIEW)],
    sku: Filter = None,
    facility_id: Filter = None,
) -> list[StockLevel]:
    async with service_of(request).pool.connection() as conn:
        return await inventory.stock_levels(conn, sku=sku, facility_id=facility_id)


@router.get("/shipments", response_model=list[Shipment], summary="Shipments")
async def shipments(
    request: Request,
    _: Annotated[Principal, needs(P.MATERIAL_VIEW)],
    order_id: Filter = None,
    status: ShipmentStatus | None = None,
    carrier_id: Filter = None,
    limit: Limit = 50,
) -> list[Shipment]:
    async with service_of(request).pool.connection() as conn:
        return await logistics.list_shipments(
            conn, order_id=order_id, status=status, carrier_id=carrier_id, limit=limit
        )


@router.get("/work-orders", response_model=list[WorkOrder], summary="Work orders")
async def list_work_orders(
    request: Request,
    _: Annotated[Principal, needs(P.JOB_VIEW)],
    machine_id: Filter = None,
    status: WorkOrderStatus | None = None,
    facility_id: Filter = None,
    limit: Limit = 100,
) -> list[WorkOrder]:
    async with service_of(request).pool.connection() as conn, conn.transaction():
        return await work_orders.list_work_orders(
            conn, machine_id=machine_id, status=status, facility_id=facility_id, limit=limit
        )


@router.get("/notifications", response_model=list[Notification], summary="Notifications")
async def notifications(
    request: Request,
    _: Annotated[Principal, needs(P.MESSAGE_VIEW)],
    recipient: Filter = None,
    entity_type: Filter = None,
    entity_id: Filter = None,
    event_type: Filter = None,
    limit: Limit = 100,
) -> list[Notification]:
    query = NotificationQuery(
        recipient=recipient,
        entity_type=entity_type,
        entity_id=entity_id,
        event_type=event_type,
        limit=limit,
    )
    async with service_of(request).pool.connection() as conn, conn.transaction():
        return await communications.list_notifications(conn, query)
