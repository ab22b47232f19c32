"""Customers ordering: Poisson arrivals at a set rate, each customer buying its divisions' goods.

In a tick of Δt hours the number of new orders is Poisson(rate x Δt), so the gaps between orders
are exponential and the count over any span is Poisson — whatever the tick length. A new order
comes from a customer chosen by importance (priority 1 weighs 3, priority 2 weighs 2, the rest
1), has one to three lines of products of the customer's divisions that some facility stocks
(raw material aside), each in the quantity range of its category (`ORDER_QUANTITY`) scaled to
the customer's size, and is a rush order with probability 0.1 where the contract allows rush
orders (due in 3 to 5 days, else 14 to 45). It is created through
`tools.orders.orders.create_order`.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal

from simulation.context import Context, poisson, rows
from tools.core.db import AsyncConn
from tools.core.errors import TitanError
from tools.demo.catalogue import ORDER_QUANTITY
from tools.orders.contracts import LineRequest, OrderDraft
from tools.orders.orders import create_order

log = logging.getLogger(__name__)

RUSH_PROBABILITY = 0.1
# How much more (or less) than the category's usual quantity a customer buys.
CUSTOMER_SCALE = {"TESLA": 1.5, "BMW": 1.2, "RIVIAN": 0.7}


@dataclass(frozen=True)
class Buyer:
    customer_id: str
    priority: int
    rush_allowed: bool
    skus: tuple[tuple[str, str], ...]  # (sku, category) it may buy that are stocked somewhere


_BUYERS = """
select c.customer_id, c.priority, c.rush_allowed,
    coalesce(array_agg(p.sku || '|' || p.category order by p.sku)
             filter (where p.sku is not null), '{}') as skus
from customers c
left join customer_divisions d on d.customer_id = c.customer_id
left join products p on p.division_id = d.division_id and p.category <> 'RAW_MATERIAL'
    and exists (select 1 from stock_levels s where s.sku = p.sku)
group by c.customer_id
order by c.customer_id
"""


async def buyers(conn: AsyncConn) -> list[Buyer]:
    """Every customer with the goods it may order."""
    found = []
    for r in await rows(conn, _BUYERS):
        skus = tuple((sku, category) for sku, category in (s.split("|", 1) for s in r["skus"]))
        found.append(Buyer(r["customer_id"], r["priority"], r["rush_allowed"], skus))
    return [b for b in found if b.skus]


def draw_order(rng: random.Random, customers: list[Buyer], at: datetime) -> OrderDraft:
    """One plausible new order at `at`."""
    weights = [3 if b.priority == 1 else 2 if b.priority == 2 else 1 for b in customers]
    buyer = rng.choices(customers, weights=weights)[0]
    picks = rng.sample(buyer.skus, rng.randint(1, min(3, len(buyer.skus))))
    scale = CUSTOMER_SCALE.get(buyer.customer_id, 1.0)
    lines = []
    for sku, category in sorted(picks):
        least, most = ORDER_QUANTITY.get(category, (1, 10))
        lines.append(LineRequest(sku=sku, quantity=max(1, round(rng.randint(least, most) * scale))))
    rush = buyer.rush_allowed and rng.random() < RUSH_PROBABILITY
    days = rng.randint(3, 5) if rush else rng.randint(14, 45)
    due = datetime.combine((at + timedelta(days=days)).date(), time(17), tzinfo=at.tzinfo)
    return OrderDraft(
        customer_id=buyer.customer_id,
        lines=lines,
        due_at=due,
        is_rush=rush,
        notes="rush: customer line down" if rush else "",
    )


class OrdersGenerator:
    """New customer orders, `rate` per plant hour."""

    name: Literal["orders"] = "orders"

    def __init__(self) -> None:
        self._buyers: list[Buyer] | None = None

    async def tick(self, ctx: Context, at: datetime, minutes: float) -> int:
        rng = ctx.rng(self.name)
        arriving = poisson(rng, ctx.config.rate(self.name) * minutes / 60.0)
        if not arriving:
            return 0
        if self._buyers is None:
            self._buyers = await buyers(ctx.conn)
        if not self._buyers:
            return 0
        made = 0
        for _ in range(arriving):
            draft = draw_order(rng, self._buyers, at)
            try:
                order = await create_order(ctx.conn, ctx.actor, draft)
            except TitanError as exc:  # a contract that refuses it: the customer gives up
                log.info("order from %s refused: %s", draft.customer_id, exc)
                continue
            log.debug("order %s from %s", order.order_id, order.customer_id)
            made += 1
        ctx.count("orders", made)
        return made
