"""The shop floor moving orders along: validated, reserved, produced, packed and handed to the
dock, so that carriers always have shipments to move.

Each open order takes its next step in a tick with probability 1 - e^(-rate x Δt) (Δt in
hours): validation (`tools.orders.orders.validate_order`), reservation
(`tools.inventory.reservations`, partial when stock is short — it is tried again later), release to
production, and READY when made and inspected — production takes eight times as long as a paperwork
step, a third as long for a rush order — then shipments are booked
(`tools.logistics.shipments.create_shipments`); a delivered order is closed (its completion is
usually the delivery reactor's). Orders a scenario drives itself are left alone, as are refusals (a
contract that no longer holds, no stock).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Literal

from simulation.context import Context, hazard, rows
from tools.core.errors import TitanError
from tools.inventory.reservations import reserve_stock
from tools.logistics.shipments import create_shipments
from tools.orders.orders import validate_order
from tools.orders.progress import complete_order_if_delivered, mark_ready, start_production

log = logging.getLogger(__name__)

_OPEN = """
select o.order_id, o.status, o.is_rush,
    exists (select 1 from shipments s where s.order_id = o.order_id
            and s.status <> 'CANCELLED') as booked
from orders o
where o.status in ('CREATED', 'VALIDATED', 'RESERVED', 'IN_PRODUCTION', 'READY', 'DELIVERED')
order by o.order_id
"""
PRODUCTION_FACTOR = 8.0


class FulfilmentGenerator:
    name: Literal["fulfilment"] = "fulfilment"

    async def tick(self, ctx: Context, at: datetime, minutes: float) -> int:
        rate = ctx.config.rate(self.name)
        rng = ctx.rng(self.name)
        moved = 0
        for o in await rows(ctx.conn, _OPEN):
            if o["order_id"] in ctx.world.reserved or (o["status"] == "READY" and o["booked"]):
                continue
            speed = rate * (3.0 if o["is_rush"] else 1.0)
            if o["status"] == "IN_PRODUCTION":
                speed /= PRODUCTION_FACTOR
            if rng.random() >= hazard(speed, minutes):
                continue
            try:
                await self._step(ctx, o["order_id"], o["status"])
            except TitanError as exc:
                log.debug("order %s stays %s: %s", o["order_id"], o["status"], exc)
                continue
            moved += 1
        ctx.count("order_steps", moved)
        return moved

    async def _step(self, ctx: Context, order_id: str, status: str) -> None:
        conn, actor = ctx.conn, ctx.actor
        if status == "CREATED":
            await validate_order(conn, actor, order_id)
        elif status == "VALIDATED":
            await reserve_stock(conn, actor, order_id, allow_partial=True)
        elif status == "RESERVED":
            await start_production(conn, actor, order_id)
        elif status == "IN_PRODUCTION":
            await mark_ready(conn, actor, order_id)
        elif status == "DELIVERED":
            await complete_order_if_delivered(conn, actor, order_id)
        else:
            made = await create_shipments(conn, actor, order_id)
            ctx.count("shipments_booked", len(made))
