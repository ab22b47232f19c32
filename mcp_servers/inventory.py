"""MCP tools of the inventory domain: stock, products and spares, reservations, purchase orders.

The inventory server also serves the order tools (`mcp_servers.orders`): its agent creates,
validates, holds and cancels orders and reserves their stock.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from mcp.server.fastmcp import Context
from pydantic import Field

from mcp_servers.maintenance import MachineId
from mcp_servers.orders import (
    FacilityId,
    IdempotencyKey,
    Limit,
    Offset,
    OrderId,
    Reason,
    Sku,
)
from mcp_servers.runtime import ToolBox, actor_of, domain_tool, plant_of
from tools.accounts.permissions import Permission as P
from tools.inventory import planning as stock_planning
from tools.inventory import reorder as reorder_planning
from tools.inventory import reservations
from tools.inventory import stock as inventory
from tools.inventory.ledger import StockLevel
from tools.inventory.stock import AdjustmentKind
from tools.maintenance.fault_types import FaultType
from tools.purchasing import purchase_orders as purchasing
from tools.purchasing.purchase_orders import PoStatus, PurchaseOrder

PoId = Annotated[str, Field(pattern=r"^PO-\d+$", description="A purchase order ID, e.g. PO-5001.")]
SupplierId = Annotated[
    str,
    Field(
        pattern=r"^[A-Z][A-Z0-9_]{1,31}$",
        description="A supplier, e.g. NIPPONBEARING, RHEINTECH, TITANMET or ALUFORM.",
    ),
]
Division = Literal["AERO", "MOBILITY", "SPARES"]
Category = Literal[
    "TURBINE_BLADE", "ENGINE_HOUSING", "MOTOR_HOUSING", "BATTERY_ENCLOSURE", "BEARING", "SPINDLE",
    "RAW_MATERIAL", "SPARE_PART",
]  # fmt: skip
LineNo = Annotated[int | None, Field(ge=1, le=50, description="One order line; all if empty.")]
Units = Annotated[int, Field(ge=1, le=1_000_000, description="Units (pieces, bars or heats).")]


def register(box: ToolBox) -> None:
    _register_stock(box)
    _register_finding(box)
    _register_reservations(box)
    _register_purchasing(box)


def _register_stock(box: ToolBox) -> None:
    tool = domain_tool

    @tool(box, P.MATERIAL_VIEW, title="Stock levels")
    async def stock_levels(
        ctx: Context,  # type: ignore[type-arg]
        sku: Sku | None = None,
        facility_id: FacilityId | None = None,
    ) -> list[StockLevel]:
        """Stock per SKU and facility, in units: on hand, reserved for orders, available
        (free = on hand − reserved), reorder point and quantity, and since when it is low.
        Give a SKU to see it across facilities, a facility to see all its stock."""
        async with plant_of(ctx).pool.connection() as conn:
            return await inventory.stock_levels(conn, sku=sku, facility_id=facility_id)

    @tool(box, P.MATERIAL_VIEW, title="Stock movements of a level")
    async def stock_movements(
        ctx: Context,  # type: ignore[type-arg]
        sku: Sku,
        facility_id: FacilityId,
        limit: Annotated[int, Field(ge=1, le=1000)] = 100,
    ) -> list[inventory.Movement]:
        """The stock ledger of one SKU at one facility, newest first: each movement's units
        (+ in, − out), kind (RECEIPT, SHIPMENT, CONSUMPTION, SCRAP, ADJUSTMENT, …), what it
        was for and who booked it."""
        async with plant_of(ctx).pool.connection() as conn:
            return await inventory.movements(conn, sku, facility_id, limit=limit)

    @tool(box, P.MATERIAL_EDIT, title="Adjust stock", write=True, destructive=True)
    async def adjust_stock(
        ctx: Context,  # type: ignore[type-arg]
        sku: Sku,
        facility_id: FacilityId,
        delta: Annotated[
            int,
            Field(
                ge=-1_000_000, le=1_000_000, description="Units: + books in, − takes out; not 0."
            ),
        ],
        reason: Reason,
        kind: AdjustmentKind = "ADJUSTMENT",
        reference_id: Annotated[
            str | None, Field(max_length=100, description="What it is for, e.g. WO-3001.")
        ] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> StockLevel:
        """Book units in or out of a stock level by hand: a count correction (ADJUSTMENT),
        parts used (CONSUMPTION), goods made (PRODUCTION) or written off (SCRAP). A decrease
        may take only free stock. Every call books another movement."""
        async with plant_of(ctx).pool.connection() as conn:
            return await inventory.adjust_stock(
                conn, actor_of(ctx), sku, facility_id, delta=delta, reason=reason, kind=kind,
                reference_id=reference_id, idempotency_key=idempotency_key,
            )  # fmt: skip

    @tool(box, P.MATERIAL_EDIT, title="Check reorder points", write=True, idempotent=True)
    async def check_reorder(
        ctx: Context,  # type: ignore[type-arg]
        sku: Sku | None = None,
        facility_id: FacilityId | None = None,
        idempotency_key: IdempotencyKey = None,
    ) -> inventory.ReorderCheck:
        """Find stock at or below its reorder point (free units ≤ reorder point) and flag it,
        raising stock.low once per dip (the reactors then raise purchase orders); levels back
        above are unflagged. Running it again flags nothing twice."""
        async with plant_of(ctx).pool.connection() as conn:
            return await inventory.check_reorder(
                conn, actor_of(ctx), sku=sku, facility_id=facility_id,
                idempotency_key=idempotency_key,
            )  # fmt: skip


def _register_finding(box: ToolBox) -> None:
    tool = domain_tool

    @tool(box, P.MATERIAL_VIEW, title="Search products")
    async def search_products(
        ctx: Context,  # type: ignore[type-arg]
        text: Annotated[
            str | None, Field(max_length=100, description="Part of a SKU or name, e.g. bearing.")
        ] = None,
        division_id: Division | None = None,
        category: Category | None = None,
        limit: Limit = 50,
    ) -> list[stock_planning.ProductHit]:
        """Find products by SKU or name text, division and category, with list price (USD),
        unit weight (kg) and units on hand and available across all facilities. Use it to find
        a SKU from a description."""
        async with plant_of(ctx).pool.connection() as conn:
            return await stock_planning.search_products(
                conn, text=text, division_id=division_id, category=category, limit=limit
            )

    @tool(box, P.MATERIAL_VIEW, title="Alternatives for a short SKU")
    async def find_alternatives(
        ctx: Context,  # type: ignore[type-arg]
        sku: Sku,
        facility_id: Annotated[
            FacilityId | None, Field(description="Where it is short; excluded from the answer.")
        ] = None,
        quantity: Annotated[Units | None, Field(description="Units needed there.")] = None,
    ) -> stock_planning.Alternatives:
        """Where else a short SKU can come from: other facilities' free stock (and whether a
        transfer covers the quantity) and the suppliers selling it with price, lead time and
        arrival date if ordered today, ACTIVE suppliers first."""
        async with plant_of(ctx).pool.connection() as conn:
            return await stock_planning.alternatives(
                conn, sku, facility_id=facility_id, quantity=quantity
            )

    @tool(box, P.MATERIAL_VIEW, title="Reorder plan for a stock level")
    async def reorder_plan(
        ctx: Context,  # type: ignore[type-arg]
        sku: Sku,
        facility_id: FacilityId,
        supplier_id: Annotated[
            SupplierId | None, Field(description="Default: the preferred supplier.")
        ] = None,
        service_level: Annotated[float, Field(ge=0.5, lt=1, description="e.g. 0.95")] = 0.95,
        history_days: Annotated[int, Field(ge=7, le=730, description="Demand history, days.")] = 90,
    ) -> reorder_planning.ReorderPlan:
        """Safety stock, reorder point, economic order quantity and the date to order for a
        SKU at a facility, from its daily demand, the supplier's lead time (days) and price,
        with every input shown. Use before raising a purchase order."""
        async with plant_of(ctx).pool.connection() as conn:
            return await reorder_planning.reorder_plan(
                conn, sku, facility_id, supplier_id=supplier_id, service_level=service_level,
                history_days=history_days,
            )  # fmt: skip

    @tool(box, P.MATERIAL_VIEW, title="Spare parts for a machine fault")
    async def spare_parts_for_fault(
        ctx: Context,  # type: ignore[type-arg]
        machine_id: MachineId,
        fault_type: FaultType,
    ) -> stock_planning.SparePartsForFault:
        """The spare parts that fix a fault on a machine's model (e.g. bearings for
        BEARING_DEGRADATION on PHX-CNC-007), how many it needs, and their stock at the
        machine's facility and elsewhere."""
        async with plant_of(ctx).pool.connection() as conn:
            return await stock_planning.spare_parts_for(conn, machine_id, fault_type)


def _register_reservations(box: ToolBox) -> None:
    tool = domain_tool

    @tool(box, P.MATERIAL_EDIT, title="Reserve stock for an order", write=True, idempotent=True)
    async def reserve_stock(
        ctx: Context,  # type: ignore[type-arg]
        order_id: OrderId,
        allow_partial: Annotated[
            bool, Field(description="Reserve what there is; false: all or nothing.")
        ] = True,
        idempotency_key: IdempotencyKey = None,
    ) -> reservations.ReservationResult:
        """Reserve free stock for a VALIDATED order, line by line, its own facility first and
        then the facilities with most free stock (a split reservation). A fully covered order
        becomes RESERVED; shortfalls are reported per line. Calling again reserves nothing
        more."""
        async with plant_of(ctx).pool.connection() as conn:
            return await reservations.reserve_stock(
                conn, actor_of(ctx), order_id, allow_partial=allow_partial,
                idempotency_key=idempotency_key,
            )  # fmt: skip

    @tool(box, P.MATERIAL_EDIT, title="Release an order's stock", write=True, destructive=True,
          idempotent=True)  # fmt: skip
    async def release_stock(
        ctx: Context,  # type: ignore[type-arg]
        order_id: OrderId,
        reason: Reason,
        line_no: LineNo = None,
        idempotency_key: IdempotencyKey = None,
    ) -> reservations.ReleaseResult:
        """Give back the stock reserved for a VALIDATED or RESERVED order (one line or all);
        a RESERVED order goes back to VALIDATED. Committed stock is freed only by cancelling."""
        async with plant_of(ctx).pool.connection() as conn:
            return await reservations.release_stock(
                conn, actor_of(ctx), order_id, reason=reason, line_no=line_no,
                idempotency_key=idempotency_key,
            )  # fmt: skip

    @tool(box, P.MATERIAL_VIEW, title="An order's reservations")
    async def order_reservations(ctx: Context, order_id: OrderId) -> list[reservations.Reservation]:  # type: ignore[type-arg]
        """The stock held for an order: per line and facility, units and status (RESERVED,
        COMMITTED to production, RELEASED, FULFILLED by a shipment), oldest first."""
        async with plant_of(ctx).pool.connection() as conn:
            return await reservations.order_reservations(conn, order_id)


def _register_purchasing(box: ToolBox) -> None:
    tool = domain_tool

    @tool(box, P.MATERIAL_VIEW, title="List purchase orders")
    async def list_purchase_orders(
        ctx: Context,  # type: ignore[type-arg]
        status: PoStatus | None = None,
        supplier_id: SupplierId | None = None,
        sku: Sku | None = None,
        facility_id: FacilityId | None = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> list[PurchaseOrder]:
        """Purchase orders to suppliers by status, supplier, SKU and facility, soonest
        expected first, with quantity, unit price and the delay reason if delayed."""
        async with plant_of(ctx).pool.connection() as conn:
            return await purchasing.list_purchase_orders(
                conn, status=status, supplier_id=supplier_id, sku=sku, facility_id=facility_id,
                limit=limit, offset=offset,
            )  # fmt: skip

    @tool(box, P.MATERIAL_VIEW, title="Get a purchase order")
    async def get_purchase_order(ctx: Context, po_id: PoId) -> PurchaseOrder:  # type: ignore[type-arg]
        """One purchase order: supplier, SKU, facility, quantity, price, status and dates."""
        async with plant_of(ctx).pool.connection() as conn:
            return await purchasing.get_purchase_order(conn, po_id)

    @tool(box, P.MATERIAL_EDIT, title="Raise a purchase order", write=True)
    async def create_purchase_order(
        ctx: Context,  # type: ignore[type-arg]
        supplier_id: SupplierId,
        sku: Sku,
        facility_id: Annotated[FacilityId, Field(description="Where the goods are delivered.")],
        quantity: Units,
        unit_price: Annotated[
            Decimal | None, Field(gt=0, description="USD per unit; the supplier's price if empty.")
        ] = None,
        expected_at: Annotated[
            datetime | None, Field(description="Default: now plus the supplier's lead time.")
        ] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> PurchaseOrder:
        """Order stock from a supplier (PENDING). The supplier must be ACTIVE and sell the SKU,
        the quantity at least its minimum order, and the facility must stock the SKU. See
        find_alternatives and reorder_plan for whom and how many."""
        async with plant_of(ctx).pool.connection() as conn:
            return await purchasing.create_purchase_order(
                conn, actor_of(ctx), supplier_id=supplier_id, sku=sku, facility_id=facility_id,
                quantity=quantity, unit_price=unit_price, expected_at=expected_at,
                idempotency_key=idempotency_key,
            )  # fmt: skip

    @tool(box, P.MATERIAL_EDIT, title="Purchase order shipped", write=True, idempotent=True)
    async def mark_po_in_transit(
        ctx: Context,  # type: ignore[type-arg]
        po_id: PoId,
        idempotency_key: IdempotencyKey = None,
    ) -> PurchaseOrder:
        """PENDING or DELAYED → IN_TRANSIT: the supplier has shipped the goods."""
        async with plant_of(ctx).pool.connection() as conn:
            return await purchasing.mark_po_in_transit(
                conn, actor_of(ctx), po_id, idempotency_key=idempotency_key
            )

    @tool(box, P.MATERIAL_EDIT, title="Purchase order delayed", write=True)
    async def delay_purchase_order(
        ctx: Context,  # type: ignore[type-arg]
        po_id: PoId,
        reason: Reason,
        expected_at: Annotated[
            datetime, Field(description="The new expected arrival (ISO 8601, in the future).")
        ],
        idempotency_key: IdempotencyKey = None,
    ) -> PurchaseOrder:
        """Record a supplier's delay: the PO becomes DELAYED with the reason and the new
        expected date (again each time the supplier slips)."""
        async with plant_of(ctx).pool.connection() as conn:
            return await purchasing.delay_purchase_order(
                conn, actor_of(ctx), po_id, reason=reason, expected_at=expected_at,
                idempotency_key=idempotency_key,
            )  # fmt: skip

    @tool(box, P.MATERIAL_EDIT, title="Receive a purchase order", write=True, idempotent=True)
    async def receive_purchase_order(
        ctx: Context,  # type: ignore[type-arg]
        po_id: PoId,
        idempotency_key: IdempotencyKey = None,
    ) -> PurchaseOrder:
        """The goods arrived: the PO becomes RECEIVED and its quantity is booked into stock at
        its facility (which may clear a low-stock flag)."""
        async with plant_of(ctx).pool.connection() as conn:
            return await purchasing.receive_purchase_order(
                conn, actor_of(ctx), po_id, idempotency_key=idempotency_key
            )

    @tool(box, P.MATERIAL_EDIT, title="Cancel a purchase order", write=True, destructive=True,
          idempotent=True)  # fmt: skip
    async def cancel_purchase_order(
        ctx: Context,  # type: ignore[type-arg]
        po_id: PoId,
        reason: Reason,
        idempotency_key: IdempotencyKey = None,
    ) -> PurchaseOrder:
        """Cancel a PENDING or DELAYED purchase order (not once the goods are on their way)."""
        async with plant_of(ctx).pool.connection() as conn:
            return await purchasing.cancel_purchase_order(
                conn, actor_of(ctx), po_id, reason=reason, idempotency_key=idempotency_key
            )
