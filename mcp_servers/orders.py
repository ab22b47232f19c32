"""MCP tools of customer orders: reading them (every specialist may) and moving them along.

Orders have no agent of their own. The orders server serves the reads; the inventory server, whose
agent creates, validates, holds and cancels orders, serves the writes as well; the logistics
server serves the reads. The ID types here are shared by the fulfilment servers.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from mcp.server.fastmcp import Context
from pydantic import BaseModel, Field

from mcp_servers.runtime import ToolBox, actor_of, domain_tool, plant_of
from tools.accounts.permissions import Permission as P
from tools.orders import orders
from tools.orders import progress as order_progress
from tools.orders.contracts import ContractReview, LineRequest, OrderDraft
from tools.orders.lifecycle import Order, OrderStatus

OrderId = Annotated[str, Field(pattern=r"^ORD-\d+$", description="An order ID, e.g. ORD-10001.")]
Sku = Annotated[
    str,
    Field(
        pattern=r"^SKU-[A-Z]+-[A-Z0-9]+$",
        max_length=40,
        description="A product SKU, e.g. SKU-TB-1001 (turbine blade), SKU-MH-4001 (motor "
        "housing) or SKU-BRG-7014 (bearing).",
    ),
]
FacilityId = Annotated[
    str, Field(pattern=r"^[A-Z]{3}$", description="A facility: PHX (Phoenix), MUC (Munich), DET.")
]
CustomerId = Annotated[
    str,
    Field(pattern=r"^[A-Z][A-Z0-9_]{1,31}$", description="A customer, e.g. BOEING or TESLA."),
]
Region = Annotated[
    str,
    Field(
        pattern=r"^[A-Z]{2,4}-[A-Z]+$",
        max_length=40,
        description="A shipping region: NA-WEST, NA-EAST, EU-CENTRAL or EU-WEST.",
    ),
]
Reason = Annotated[
    str, Field(min_length=1, max_length=500, description="Why, in a sentence (kept in the audit).")
]
Limit = Annotated[int, Field(ge=1, le=500, description="At most this many rows.")]
Offset = Annotated[int, Field(ge=0, le=1_000_000, description="Rows to skip, for paging.")]
AsOf = Annotated[date | None, Field(description="The day to check as of; today if empty.")]
IdempotencyKey = Annotated[
    str | None, Field(max_length=200, description="Repeat a call with the same key: no repeat.")
]


class NewOrderLine(BaseModel):
    """One line of a new order."""

    sku: Sku
    quantity: Annotated[int, Field(ge=1, le=1_000_000, description="Units ordered.")]
    unit_price: Annotated[
        Decimal | None,
        Field(ge=0, max_digits=12, decimal_places=2, description="Per unit; list price if empty."),
    ] = None


def register_order_reads(box: ToolBox) -> None:
    """The order reads, which every specialist's server serves."""
    tool = domain_tool

    @tool(box, P.JOB_VIEW, title="Get an order")
    async def get_order(ctx: Context, order_id: OrderId) -> Order:  # type: ignore[type-arg]
        """One customer order: status, customer, priority, rush flag, due date, facility,
        destination region, its lines (SKU, quantity, unit price, quantity shipped) and its
        status history. Use it before acting on an order."""
        async with plant_of(ctx).pool.connection() as conn:
            return await orders.get_order(conn, order_id)

    @tool(box, P.JOB_VIEW, title="List or search orders")
    async def list_orders(
        ctx: Context,  # type: ignore[type-arg]
        customer_id: CustomerId | None = None,
        status: OrderStatus | None = None,
        sku: Annotated[Sku | None, Field(description="Orders with a line of this SKU.")] = None,
        due_before: Annotated[
            datetime | None, Field(description="Due before this time (ISO 8601 with timezone).")
        ] = None,
        due_after: Annotated[
            datetime | None, Field(description="Due at or after this time (ISO 8601).")
        ] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> list[orders.OrderSummary]:
        """Search customer orders by customer, status, SKU and due window, soonest due first;
        each with its SKUs, total units and total value. Use it to find "Boeing's open orders"
        or "orders of SKU-TB-1001 due this week"."""
        async with plant_of(ctx).pool.connection() as conn:
            return await orders.list_orders(
                conn, customer_id=customer_id, status=status, sku=sku, due_before=due_before,
                due_after=due_after, limit=limit, offset=offset,
            )  # fmt: skip

    @tool(box, P.JOB_VIEW, title="Check an order against its contract")
    async def review_order(
        ctx: Context,  # type: ignore[type-arg]
        order_id: OrderId,
        on: AsOf = None,
    ) -> ContractReview:
        """Check an existing order against its customer's contract (contract still running,
        divisions bought, rush allowed, certified material, ITAR destinations) without changing
        it: ok, the checks made, and every problem found."""
        async with plant_of(ctx).pool.connection() as conn:
            return await orders.review_order(conn, order_id, on=on)


def register_order_writes(box: ToolBox) -> None:
    """The order writes, served by the inventory server."""
    _register_intake(box)
    _register_progress(box)


def _register_intake(box: ToolBox) -> None:
    tool = domain_tool

    @tool(box, P.JOB_CREATE, title="Create an order", write=True)
    async def create_order(
        ctx: Context,  # type: ignore[type-arg]
        customer_id: CustomerId,
        lines: Annotated[list[NewOrderLine], Field(min_length=1, max_length=50)],
        due_at: Annotated[
            datetime, Field(description="When the customer needs it (ISO 8601 with timezone).")
        ],
        is_rush: bool = False,
        priority: Annotated[
            int | None,
            Field(
                ge=1, le=5, description="1 first; default 1 for rush, else the customer's."
            ),  # fmt: skip
        ] = None,
        facility_id: Annotated[
            FacilityId | None, Field(description="Default: the one stocking most of its SKUs.")
        ] = None,
        ship_to_region: Annotated[
            Region | None, Field(description="Default: the customer's region.")
        ] = None,
        notes: Annotated[str, Field(max_length=2000)] = "",
        idempotency_key: IdempotencyKey = None,
    ) -> Order:
        """Create a customer order (status CREATED) after checking it against the customer's
        contract; refused with every broken term named. Prices default to the list price.
        Validate it next (validate_order), then reserve its stock."""
        draft = OrderDraft(
            customer_id=customer_id,
            lines=[LineRequest(sku=x.sku, quantity=x.quantity, unit_price=x.unit_price)
                   for x in lines],
            due_at=due_at, is_rush=is_rush, priority=priority, facility_id=facility_id,
            ship_to_region=ship_to_region, notes=notes,
        )  # fmt: skip
        async with plant_of(ctx).pool.connection() as conn:
            return await orders.create_order(
                conn, actor_of(ctx), draft, idempotency_key=idempotency_key
            )

    @tool(box, P.JOB_CREATE, title="Validate an order", write=True, idempotent=True)
    async def validate_order(
        ctx: Context,  # type: ignore[type-arg]
        order_id: OrderId,
        idempotency_key: IdempotencyKey = None,
    ) -> Order:
        """CREATED → VALIDATED after checking the contract again as of today; a broken term
        is refused with every problem named (then hold or cancel the order)."""
        async with plant_of(ctx).pool.connection() as conn:
            return await orders.validate_order(
                conn, actor_of(ctx), order_id, idempotency_key=idempotency_key
            )

    @tool(box, P.JOB_RELEASE, title="Put an order on hold", write=True, destructive=True,
          idempotent=True)  # fmt: skip
    async def hold_order(
        ctx: Context,  # type: ignore[type-arg]
        order_id: OrderId,
        reason: Reason,
        idempotency_key: IdempotencyKey = None,
    ) -> Order:
        """Stop an open order (CREATED to READY): it goes ON_HOLD with the reason, keeps its
        reserved stock and cannot ship until released (release_order)."""
        async with plant_of(ctx).pool.connection() as conn:
            return await order_progress.hold_order(
                conn, actor_of(ctx), order_id, reason=reason, idempotency_key=idempotency_key
            )

    @tool(box, P.JOB_RELEASE, title="Release an order's hold", write=True, idempotent=True)
    async def release_order(
        ctx: Context,  # type: ignore[type-arg]
        order_id: OrderId,
        note: Annotated[str, Field(min_length=1, max_length=500)] = "hold released",
        idempotency_key: IdempotencyKey = None,
    ) -> Order:
        """Take an ON_HOLD order off hold, back to the status it was held from."""
        async with plant_of(ctx).pool.connection() as conn:
            return await order_progress.release_order(
                conn, actor_of(ctx), order_id, note=note, idempotency_key=idempotency_key
            )

    @tool(box, P.JOB_RELEASE, title="Cancel an order", write=True, destructive=True,
          idempotent=True)  # fmt: skip
    async def cancel_order(
        ctx: Context,  # type: ignore[type-arg]
        order_id: OrderId,
        reason: Reason,
        idempotency_key: IdempotencyKey = None,
    ) -> Order:
        """Cancel an order the carrier does not have yet (final): its shipments still at the
        dock are cancelled and its reserved and committed stock is released."""
        async with plant_of(ctx).pool.connection() as conn:
            return await order_progress.cancel_order(
                conn, actor_of(ctx), order_id, reason=reason, idempotency_key=idempotency_key
            )


def _register_progress(box: ToolBox) -> None:
    tool = domain_tool

    @tool(box, P.JOB_RELEASE, title="Start an order's production", write=True, idempotent=True)
    async def start_order_production(
        ctx: Context,  # type: ignore[type-arg]
        order_id: OrderId,
        idempotency_key: IdempotencyKey = None,
    ) -> Order:
        """RESERVED → IN_PRODUCTION: release a fully reserved order to the shop floor; its
        reserved stock is committed to it."""
        async with plant_of(ctx).pool.connection() as conn:
            return await order_progress.start_production(
                conn, actor_of(ctx), order_id, idempotency_key=idempotency_key
            )

    @tool(box, P.JOB_RELEASE, title="Mark an order ready to ship", write=True, idempotent=True)
    async def mark_order_ready(
        ctx: Context,  # type: ignore[type-arg]
        order_id: OrderId,
        idempotency_key: IdempotencyKey = None,
    ) -> Order:
        """IN_PRODUCTION → READY: made, inspected and packed; shipments can then be created."""
        async with plant_of(ctx).pool.connection() as conn:
            return await order_progress.mark_ready(
                conn, actor_of(ctx), order_id, idempotency_key=idempotency_key
            )

    @tool(box, P.JOB_RELEASE, title="Complete a delivered order", write=True, idempotent=True)
    async def complete_order(
        ctx: Context,  # type: ignore[type-arg]
        order_id: OrderId,
        idempotency_key: IdempotencyKey = None,
    ) -> Order:
        """DELIVERED → COMPLETED: close an order once every shipment has arrived."""
        async with plant_of(ctx).pool.connection() as conn:
            return await order_progress.complete_order(
                conn, actor_of(ctx), order_id, idempotency_key=idempotency_key
            )
