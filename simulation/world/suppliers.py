"""Suppliers delivering purchase orders (`tools.purchasing.purchase_orders`).

A purchase order ships when its expected date less the freight time has come (2 days on one
continent, 6 between continents, 7 from Asia, at most half the lead time) and arrives at its
expected date, up to 8 hours later at the receiving dock. It is late — delayed by 3 to 14 days
with the supplier's reason — with probability `rate` x (1 - the supplier's reliability) at each
of those two moments, and always while the supplier is in trouble (`delayed_suppliers`, as in
the supply crisis: 7 to 21 days each time it comes due).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Literal

from simulation.context import Context, rows
from tools.core.errors import TitanError
from tools.purchasing.purchase_orders import (
    delay_purchase_order,
    mark_po_in_transit,
    receive_purchase_order,
)

log = logging.getLogger(__name__)

_OPEN = """
select p.po_id, p.supplier_id, p.status, p.ordered_at, p.expected_at, s.reliability,
    s.region as supplier_region, f.region as facility_region
from purchase_orders p
join suppliers s on s.supplier_id = p.supplier_id
join facilities f on f.facility_id = p.facility_id
where p.status in ('PENDING', 'IN_TRANSIT', 'DELAYED')
order by p.po_id
"""
_EXCUSES = (
    "shipped late from the supplier's plant",
    "freight booking missed",
    "quality hold at the supplier: lot re-inspected",
)
CRISIS_REASON = "supplier production backlog: deliveries on allocation"


def freight_days(supplier_region: str, facility_region: str) -> float:
    if supplier_region == "APAC":
        return 7.0
    return 2.0 if supplier_region[:2] == facility_region[:2] else 6.0


class SuppliersGenerator:
    name: Literal["suppliers"] = "suppliers"

    async def tick(self, ctx: Context, at: datetime, minutes: float) -> int:
        moved = 0
        for po in await rows(ctx.conn, _OPEN):
            try:
                moved += await self._move(ctx, po, at)
            except TitanError as exc:
                log.debug("purchase order %s stays %s: %s", po["po_id"], po["status"], exc)
        ctx.count("purchase_order_moves", moved)
        return moved

    async def _move(self, ctx: Context, po: dict[str, Any], at: datetime) -> int:
        expected: datetime = po["expected_at"]
        lead = expected - po["ordered_at"]
        freight = min(
            timedelta(days=freight_days(po["supplier_region"], po["facility_region"])), lead / 2
        )
        arriving = po["status"] == "IN_TRANSIT"
        rng = ctx.decide("po", po["po_id"], "arrive" if arriving else "ship", expected.isoformat())
        due = expected + timedelta(hours=rng.uniform(0, 8)) if arriving else expected - freight
        if at < due:
            return 0
        crisis = po["supplier_id"] in ctx.config.delayed_suppliers
        unreliable = ctx.config.rate(self.name) * (1.0 - float(po["reliability"]))
        if crisis or rng.random() < unreliable:
            days = rng.uniform(7, 21) if crisis else rng.uniform(3, 14)
            await delay_purchase_order(
                ctx.conn,
                ctx.actor,
                po["po_id"],
                reason=CRISIS_REASON if crisis else rng.choice(_EXCUSES),
                expected_at=max(expected, at) + timedelta(days=days),
            )
            ctx.count("purchase_orders_late")
        elif arriving:
            await receive_purchase_order(ctx.conn, ctx.actor, po["po_id"])
            ctx.count("purchase_orders_received")
        else:
            await mark_po_in_transit(ctx.conn, ctx.actor, po["po_id"])
        return 1
