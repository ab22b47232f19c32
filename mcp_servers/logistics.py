"""MCP tools of the logistics domain: carriers, shipping estimates, shipments and tracking.

The logistics server also serves the order reads (`mcp_servers.orders`).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from mcp.server.fastmcp import Context
from pydantic import Field

from mcp_servers.orders import FacilityId, IdempotencyKey, Limit, Offset, OrderId, Reason, Region
from mcp_servers.runtime import ToolBox, actor_of, domain_tool, plant_of
from tools.accounts.permissions import Permission as P
from tools.logistics import rates as shipping_rates
from tools.logistics import shipments as logistics
from tools.logistics import tracking as shipment_tracking
from tools.logistics.rates import ServiceLevel
from tools.logistics.shipments import Shipment, ShipmentStatus

ShipmentId = Annotated[
    str, Field(pattern=r"^SHP-\d+$", description="A shipment ID, e.g. SHP-7001.")
]
CarrierId = Annotated[
    str, Field(pattern=r"^[A-Z][A-Z0-9_]{1,19}$", description="A carrier: DHL, FEDEX or UPS.")
]
Location = Annotated[
    str | None,
    Field(
        min_length=1, max_length=200, description="Where the scan happened, e.g. 'Memphis hub, "
        "US'; the last known place if empty.",
    ),
]  # fmt: skip
FutureTime = Annotated[
    datetime, Field(description="The carrier's new ETA (ISO 8601 with timezone, in the future).")
]
# The carrier's scans on the road; the other moves have tools of their own.
RoadStatus = Literal["IN_TRANSIT", "OUT_FOR_DELIVERY", "EXCEPTION"]


def register(box: ToolBox) -> None:
    _register_reads(box)
    _register_dock(box)
    _register_road(box)


def _register_reads(box: ToolBox) -> None:
    tool = domain_tool

    @tool(box, P.MATERIAL_VIEW, title="List carriers")
    async def list_carriers(ctx: Context) -> list[shipping_rates.Carrier]:  # type: ignore[type-arg]
        """The carriers Titan ships with: reliability (share of on-time deliveries), the
        service levels they offer and the regions they deliver to."""
        async with plant_of(ctx).pool.connection() as conn:
            return await shipping_rates.list_carriers(conn)

    @tool(box, P.MATERIAL_VIEW, title="Shipping estimates")
    async def shipping_estimates(
        ctx: Context,  # type: ignore[type-arg]
        origin_facility_id: Annotated[FacilityId, Field(description="Where it leaves from.")],
        destination_region: Region,
        weight_kg: Annotated[Decimal, Field(gt=0, le=30_000, description="Weight in kg.")],
        carrier_id: CarrierId | None = None,
        service_level: ServiceLevel | None = None,
    ) -> list[shipping_rates.Quote]:
        """What shipping would cost (USD) and take (transit days, ETA) per carrier and service
        level (GROUND, EXPRESS, OVERNIGHT; FREIGHT above 150 kg), cheapest first. Use it to
        compare options before creating shipments."""
        async with plant_of(ctx).pool.connection() as conn:
            return await shipping_rates.shipping_estimates(
                conn, origin_facility_id=origin_facility_id, destination_region=destination_region,
                weight_kg=weight_kg, carrier_id=carrier_id, service_level=service_level,
            )  # fmt: skip

    @tool(box, P.MATERIAL_VIEW, title="Get a shipment")
    async def get_shipment(ctx: Context, shipment_id: ShipmentId) -> Shipment:  # type: ignore[type-arg]
        """One shipment: order, carrier, service level, status, tracking number, weight (kg),
        cost (USD), ETA, its lines and every tracking scan with place and reason."""
        async with plant_of(ctx).pool.connection() as conn:
            return await logistics.get_shipment(conn, shipment_id)

    @tool(box, P.MATERIAL_VIEW, title="List shipments")
    async def list_shipments(
        ctx: Context,  # type: ignore[type-arg]
        order_id: OrderId | None = None,
        status: ShipmentStatus | None = None,
        carrier_id: CarrierId | None = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> list[Shipment]:
        """Shipments by order, status (e.g. DELAYED) and carrier, newest first, each with its
        lines and tracking history."""
        async with plant_of(ctx).pool.connection() as conn:
            return await logistics.list_shipments(
                conn, order_id=order_id, status=status, carrier_id=carrier_id, limit=limit,
                offset=offset,
            )  # fmt: skip

    @tool(box, P.MATERIAL_VIEW, title="Track a shipment")
    async def track_shipment(
        ctx: Context,  # type: ignore[type-arg]
        tracking_number: Annotated[
            str,
            Field(
                min_length=4,
                max_length=40,
                description="The carrier's number, e.g. "
                "1ZTTNMFG0300007001 (UPS) or JD019000000000000007001 (DHL).",
            ),
        ],  # fmt: skip
    ) -> Shipment:
        """Find a shipment by its carrier tracking number: where it is, its ETA and scans."""
        async with plant_of(ctx).pool.connection() as conn:
            return await logistics.track(conn, tracking_number)


def _register_dock(box: ToolBox) -> None:
    tool = domain_tool

    @tool(box, P.MATERIAL_EDIT, title="Create shipments for an order", write=True, idempotent=True)
    async def create_shipments(
        ctx: Context,  # type: ignore[type-arg]
        order_id: OrderId,
        carrier_id: Annotated[
            CarrierId | None, Field(description="Default: the cheapest (for rush, fastest).")
        ] = None,
        service_level: ServiceLevel | None = None,
        idempotency_key: IdempotencyKey = None,
    ) -> list[Shipment]:
        """Create the shipments of a READY order: one per facility holding its stock (a split
        shipment), weighed, priced and tracked, with the carrier and service level asked for
        or else the cheapest rate (the cheapest of the fastest for a rush order). Units already
        on a shipment are not shipped again."""
        async with plant_of(ctx).pool.connection() as conn:
            return await logistics.create_shipments(
                conn, actor_of(ctx), order_id, carrier_id=carrier_id, service_level=service_level,
                idempotency_key=idempotency_key,
            )  # fmt: skip

    @tool(box, P.MATERIAL_EDIT, title="Print a shipping label", write=True, idempotent=True)
    async def print_label(
        ctx: Context,  # type: ignore[type-arg]
        shipment_id: ShipmentId,
        idempotency_key: IdempotencyKey = None,
    ) -> Shipment:
        """CREATED → LABEL_PRINTED: the parcel is labelled and waits at the dock."""
        async with plant_of(ctx).pool.connection() as conn:
            return await shipment_tracking.print_label(
                conn, actor_of(ctx), shipment_id, idempotency_key=idempotency_key
            )

    @tool(box, P.MATERIAL_EDIT, title="Carrier picked up a shipment", write=True, idempotent=True)
    async def pick_up_shipment(
        ctx: Context,  # type: ignore[type-arg]
        shipment_id: ShipmentId,
        location: Location = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Shipment:
        """LABEL_PRINTED → PICKED_UP: the carrier has it; its stock leaves the books and the
        ETA runs from now. The order becomes SHIPPED when all its units have left (it must be
        READY, not on hold)."""
        async with plant_of(ctx).pool.connection() as conn:
            return await shipment_tracking.pick_up(
                conn, actor_of(ctx), shipment_id, location=location,
                idempotency_key=idempotency_key,
            )  # fmt: skip

    @tool(box, P.MATERIAL_EDIT, title="Cancel a shipment", write=True, destructive=True,
          idempotent=True)  # fmt: skip
    async def cancel_shipment(
        ctx: Context,  # type: ignore[type-arg]
        shipment_id: ShipmentId,
        reason: Reason,
        idempotency_key: IdempotencyKey = None,
    ) -> Shipment:
        """Cancel a shipment the carrier does not have yet (CREATED or LABEL_PRINTED); its
        stock stays reserved for the order."""
        async with plant_of(ctx).pool.connection() as conn:
            return await shipment_tracking.cancel_shipment(
                conn, actor_of(ctx), shipment_id, reason=reason, idempotency_key=idempotency_key
            )


def _register_road(box: ToolBox) -> None:
    tool = domain_tool

    @tool(box, P.MATERIAL_EDIT, title="Record a carrier scan", write=True)
    async def advance_shipment(
        ctx: Context,  # type: ignore[type-arg]
        shipment_id: ShipmentId,
        status: Annotated[RoadStatus, Field(description="The scan: where the shipment is now.")],
        location: Location = None,
        reason: Annotated[
            str | None, Field(min_length=1, max_length=500, description="Needed for EXCEPTION.")
        ] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Shipment:
        """Record a carrier's scan on the road: IN_TRANSIT, OUT_FOR_DELIVERY or EXCEPTION (with
        a reason), at a location. For delays, delivery, pickup and cancelling use their own
        tools."""
        async with plant_of(ctx).pool.connection() as conn:
            return await shipment_tracking.advance_shipment(
                conn, actor_of(ctx), shipment_id, status, location=location, reason=reason,
                idempotency_key=idempotency_key,
            )  # fmt: skip

    @tool(box, P.MATERIAL_EDIT, title="Shipment delayed", write=True)
    async def delay_shipment(
        ctx: Context,  # type: ignore[type-arg]
        shipment_id: ShipmentId,
        reason: Reason,
        new_eta: FutureTime,
        location: Location = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Shipment:
        """Record a carrier delay on the road: the shipment becomes DELAYED with the reason and
        the new ETA (again each time it slips); the customer may need telling."""
        async with plant_of(ctx).pool.connection() as conn:
            return await shipment_tracking.delay_shipment(
                conn, actor_of(ctx), shipment_id, reason=reason, new_eta=new_eta,
                location=location, idempotency_key=idempotency_key,
            )  # fmt: skip

    @tool(box, P.MATERIAL_EDIT, title="Shipment delivered", write=True, idempotent=True)
    async def deliver_shipment(
        ctx: Context,  # type: ignore[type-arg]
        shipment_id: ShipmentId,
        location: Location = None,
        note: Annotated[str, Field(max_length=500, description="e.g. who signed.")] = "",
        idempotency_key: IdempotencyKey = None,
    ) -> Shipment:
        """OUT_FOR_DELIVERY (or EXCEPTION) → DELIVERED; when it is the order's last open
        shipment, the order becomes DELIVERED."""
        async with plant_of(ctx).pool.connection() as conn:
            return await shipment_tracking.deliver_shipment(
                conn, actor_of(ctx), shipment_id, location=location, note=note,
                idempotency_key=idempotency_key,
            )  # fmt: skip
