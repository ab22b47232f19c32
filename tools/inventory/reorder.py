"""The reorder calculation: safety stock, reorder point, economic order quantity and the date to
order, for one SKU at one facility, from its demand history, price and lead time.

The textbook continuous-review policy:

- demand: units per day over the last `history_days` days, every day counted (zeros too): the
  quantities on the facility's orders created that day (cancelled ones excepted) plus the units
  consumed or scrapped there (CONSUMPTION and SCRAP movements, such as spare parts used by
  maintenance). d is its mean, σ_d its population standard deviation, D = 365·d a year's.
- lead time L: the supplier's (the preferred supplier's unless one is named), in days.
- safety stock SS = z·σ_d·√L, z the standard normal quantile of the service level (0.95: 1.645).
- reorder point ROP = d·L + SS.
- economic order quantity EOQ = √(2·D·S / H): S the cost of placing one order
  (DEFAULT_ORDERING_COST), H the cost of holding one unit a year, the holding rate
  (DEFAULT_HOLDING_RATE) times the supplier's unit price. The quantity to order is EOQ rounded up
  and at least the supplier's minimum order quantity.
- the date to order: when the position (free stock plus open purchase orders) falls to ROP at d
  a day, today + (position − ROP) / d; today when the position is already at or below ROP; none
  when there is no demand.
"""

from __future__ import annotations

import math
import statistics
from datetime import date, timedelta
from decimal import Decimal

from pydantic import BaseModel

from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.errors import NotFoundError, ValidationError

DEFAULT_ORDERING_COST = Decimal("150.00")  # raising, chasing, receiving, inspecting, paying one PO
DEFAULT_HOLDING_RATE = 0.25  # a year's capital, storage, insurance and obsolescence, of price
DEFAULT_SERVICE_LEVEL = 0.95
DEFAULT_HISTORY_DAYS = 90


class ReorderPlan(BaseModel):
    """A reorder policy for one level, with every input it was computed from."""

    sku: str
    facility_id: str
    supplier_id: str
    unit_price: Decimal
    lead_time_days: int
    min_order_qty: int
    history_days: int
    demand_total: int
    daily_demand_mean: float
    daily_demand_std: float
    annual_demand: float
    service_level: float
    z: float
    ordering_cost: Decimal
    holding_rate: float
    holding_cost_per_unit_year: float
    safety_stock: int
    reorder_point: int
    economic_order_quantity: int
    order_quantity: int
    available: int
    on_order: int
    position: int
    order_now: bool
    order_by: date | None
    current_reorder_point: int
    current_reorder_quantity: int


_LEVEL = """
select s.on_hand - s.reserved as available, s.reorder_point, s.reorder_quantity,
    coalesce((select sum(quantity) from purchase_orders p where p.sku = s.sku
              and p.facility_id = s.facility_id
              and p.status in ('PENDING', 'IN_TRANSIT', 'DELAYED')), 0)::int as on_order
from stock_levels s where s.sku = %(sku)s and s.facility_id = %(facility)s
"""
_SUPPLIER = """
select supplier_id, unit_price, lead_time_days, min_order_qty from supplier_items
where sku = %(sku)s and (%(supplier)s::text is null or supplier_id = %(supplier)s)
order by is_preferred desc, unit_price, supplier_id limit 1
"""
# Units asked for per day back from now (day 0 is the last 24 hours).
_DEMAND = """
select floor(extract(epoch from (%(now)s - o.created_at)) / 86400)::int as day,
    sum(l.quantity)::int as quantity
from order_lines l join orders o on o.order_id = l.order_id
where l.sku = %(sku)s and o.facility_id = %(facility)s and o.status <> 'CANCELLED'
  and o.created_at > %(since)s and o.created_at <= %(now)s
group by 1
union all
select floor(extract(epoch from (%(now)s - at)) / 86400)::int, -sum(quantity)::int
from stock_movements
where sku = %(sku)s and facility_id = %(facility)s and kind in ('CONSUMPTION', 'SCRAP')
  and at > %(since)s and at <= %(now)s
group by 1
"""


async def reorder_plan(
    conn: AsyncConn,
    sku: str,
    facility_id: str,
    *,
    supplier_id: str | None = None,
    service_level: float = DEFAULT_SERVICE_LEVEL,
    history_days: int = DEFAULT_HISTORY_DAYS,
    ordering_cost: Decimal = DEFAULT_ORDERING_COST,
    holding_rate: float = DEFAULT_HOLDING_RATE,
) -> ReorderPlan:
    """Safety stock, reorder point, EOQ and the date to order for `sku` at `facility_id`."""
    if not 0.5 <= service_level < 1:
        raise ValidationError(
            f"the service level is a share from 0.5 to below 1, got {service_level}"
        )
    if not 7 <= history_days <= 730:
        raise ValidationError(f"history_days runs from 7 to 730, got {history_days}")
    if ordering_cost < 0 or not 0 < holding_rate <= 1:
        raise ValidationError("the ordering cost must be 0 or more and the holding rate in (0, 1]")
    now = clock.now()
    params = {"sku": sku, "facility": facility_id, "supplier": supplier_id, "now": now,
              "since": now - timedelta(days=history_days)}  # fmt: skip
    async with conn.transaction():
        cur = await conn.execute(_LEVEL, params)
        level = await cur.fetchone()
        if level is None:
            raise NotFoundError(f"{sku} is not stocked at {facility_id}; see the stock levels")
        cur = await conn.execute(_SUPPLIER, params)
        terms = await cur.fetchone()
        if terms is None:
            who = f"supplier {supplier_id}" if supplier_id else "any supplier"
            raise NotFoundError(f"{sku} is not sold by {who}; see its alternatives")
        cur = await conn.execute(_DEMAND, params)
        per_day = [0] * history_days
        for r in await cur.fetchall():
            if 0 <= r["day"] < history_days:
                per_day[r["day"]] += r["quantity"]
    mean = statistics.fmean(per_day)
    std = statistics.pstdev(per_day)
    lead = int(terms["lead_time_days"])
    z = statistics.NormalDist().inv_cdf(service_level)
    safety = z * std * math.sqrt(lead)
    rop = mean * lead + safety
    annual = mean * 365
    holding = holding_rate * float(terms["unit_price"])
    eoq = math.sqrt(2 * annual * float(ordering_cost) / holding) if annual and holding else 0.0
    position = int(level["available"]) + int(level["on_order"])
    order_now = position <= rop
    order_by: date | None = None
    if order_now:
        order_by = now.date()
    elif mean > 0:
        order_by = now.date() + timedelta(days=math.floor((position - rop) / mean))
    return ReorderPlan(
        sku=sku, facility_id=facility_id, supplier_id=terms["supplier_id"],
        unit_price=terms["unit_price"], lead_time_days=lead, min_order_qty=terms["min_order_qty"],
        history_days=history_days, demand_total=sum(per_day), daily_demand_mean=round(mean, 4),
        daily_demand_std=round(std, 4), annual_demand=round(annual, 2),
        service_level=service_level, z=round(z, 4), ordering_cost=ordering_cost,
        holding_rate=holding_rate, holding_cost_per_unit_year=round(holding, 2),
        safety_stock=math.ceil(safety), reorder_point=math.ceil(rop),
        economic_order_quantity=math.ceil(eoq),
        order_quantity=max(math.ceil(eoq), int(terms["min_order_qty"])),
        available=level["available"], on_order=level["on_order"], position=position,
        order_now=order_now, order_by=order_by, current_reorder_point=level["reorder_point"],
        current_reorder_quantity=level["reorder_quantity"],
    )  # fmt: skip
