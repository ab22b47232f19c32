"""Carriers and shipping estimates: cost and transit days from the `shipping_rates` bands.

A rate applies to one carrier, origin region, destination region and service level, for
weights from `min_weight_kg` (included) up to `max_weight_kg` (excluded); a parcel costs
`base_cost + cost_per_kg × weight`, rounded to the cent. The origin region is the region of the
facility a shipment leaves from.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal, get_args

from pydantic import BaseModel

from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.errors import NotFoundError, ValidationError

ServiceLevel = Literal["GROUND", "EXPRESS", "OVERNIGHT", "FREIGHT"]
SERVICE_LEVELS: tuple[ServiceLevel, ...] = get_args(ServiceLevel)
CENT = Decimal("0.01")


class Carrier(BaseModel):
    """A carrier and the service levels it offers."""

    carrier_id: str
    name: str
    reliability: Decimal
    service_levels: list[str]
    destination_regions: list[str]


class Quote(BaseModel):
    """What one carrier and service level would charge, and when it would arrive."""

    carrier_id: str
    carrier_name: str
    reliability: Decimal
    service_level: ServiceLevel
    origin_facility_id: str
    origin_region: str
    destination_region: str
    weight_kg: Decimal
    cost: Decimal
    transit_days: int
    eta: datetime


async def list_carriers(conn: AsyncConn) -> list[Carrier]:
    """Every carrier with its service levels and the regions it delivers to."""
    async with conn.transaction():
        cur = await conn.execute(
            "select c.carrier_id, c.name, c.reliability, "
            "coalesce(array_agg(distinct r.service_level) filter (where r.rate_id is not null), "
            "'{}') as service_levels, "
            "coalesce(array_agg(distinct r.destination_region) filter "
            "(where r.rate_id is not null), '{}') as destination_regions "
            "from carriers c left join shipping_rates r on r.carrier_id = c.carrier_id "
            "group by c.carrier_id order by c.carrier_id"
        )
        return [Carrier.model_validate(r) for r in await cur.fetchall()]


_RATES = """
select r.carrier_id, c.name as carrier_name, c.reliability, r.service_level, r.base_cost,
    r.cost_per_kg, r.transit_days
from shipping_rates r join carriers c on c.carrier_id = r.carrier_id
where r.origin_region = %(origin)s and r.destination_region = %(destination)s
  and r.min_weight_kg <= %(weight)s and %(weight)s < r.max_weight_kg
  and (%(carrier)s::text is null or r.carrier_id = %(carrier)s)
  and (%(service)s::text is null or r.service_level = %(service)s)
"""


async def quotes(
    conn: AsyncConn,
    *,
    origin_facility_id: str,
    destination_region: str,
    weight_kg: Decimal,
    carrier_id: str | None = None,
    service_level: str | None = None,
) -> list[Quote]:
    """Quotes in the caller's transaction, cheapest first; ValidationError when none applies."""
    weight = Decimal(weight_kg)
    if not weight.is_finite() or weight <= 0:
        raise ValidationError(f"a shipment weighs more than 0 kg, got {weight_kg}")
    weight = max(weight.quantize(CENT, ROUND_HALF_UP), CENT)
    if service_level is not None and service_level not in SERVICE_LEVELS:
        raise ValidationError(
            f"service level {service_level!r} is not one of {', '.join(SERVICE_LEVELS)}"
        )
    cur = await conn.execute(
        "select region from facilities where facility_id = %(id)s", {"id": origin_facility_id}
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFoundError(
            f"facility {origin_facility_id!r} does not exist; IDs look like PHX",
            entity="facility",
            id=str(origin_facility_id),
        )
    origin: str = row["region"]
    if carrier_id is not None:
        cur = await conn.execute("select 1 from carriers where carrier_id = %s", (carrier_id,))
        if await cur.fetchone() is None:
            raise NotFoundError(
                f"carrier {carrier_id!r} does not exist; see the carrier list",
                entity="carrier",
                id=str(carrier_id),
            )
    cur = await conn.execute(
        _RATES,
        {"origin": origin, "destination": destination_region, "weight": weight,
         "carrier": carrier_id, "service": service_level},
    )  # fmt: skip
    rows = await cur.fetchall()
    if not rows:
        raise ValidationError(await _no_rate(conn, origin, destination_region, weight))
    now = clock.now()
    found = [
        Quote(
            carrier_id=r["carrier_id"], carrier_name=r["carrier_name"],
            reliability=r["reliability"], service_level=r["service_level"],
            origin_facility_id=origin_facility_id, origin_region=origin,
            destination_region=destination_region, weight_kg=weight,
            cost=(r["base_cost"] + r["cost_per_kg"] * weight).quantize(CENT, ROUND_HALF_UP),
            transit_days=r["transit_days"], eta=now + timedelta(days=r["transit_days"]),
        )
        for r in rows
    ]  # fmt: skip
    return sorted(found, key=lambda q: (q.cost, q.transit_days, q.carrier_id, q.service_level))


async def _no_rate(conn: AsyncConn, origin: str, destination: str, weight: Decimal) -> str:
    cur = await conn.execute(
        "select distinct destination_region as region from shipping_rates "
        "where origin_region = %s order by 1",
        (origin,),
    )
    served = [r["region"] for r in await cur.fetchall()]
    if destination not in served:
        return (
            f"no carrier ships from {origin} to {destination!r}; "
            f"destinations served: {', '.join(served) or 'none'}"
        )
    return (
        f"no rate from {origin} to {destination} for {weight} kg with that carrier and "
        "service level; try another, or FREIGHT above 150 kg"
    )


async def shipping_estimates(
    conn: AsyncConn,
    *,
    origin_facility_id: str,
    destination_region: str,
    weight_kg: Decimal,
    carrier_id: str | None = None,
    service_level: str | None = None,
) -> list[Quote]:
    """Cost and days per carrier and service level for an origin, destination and weight."""
    async with conn.transaction():
        return await quotes(
            conn, origin_facility_id=origin_facility_id, destination_region=destination_region,
            weight_kg=weight_kg, carrier_id=carrier_id, service_level=service_level,
        )  # fmt: skip


def choose(options: list[Quote], *, rush: bool) -> Quote:
    """The cheapest quote; for a rush order the cheapest of the fastest."""
    if rush:
        fastest = min(q.transit_days for q in options)
        options = [q for q in options if q.transit_days == fastest]
    return min(options, key=lambda q: (q.cost, q.transit_days, q.carrier_id, q.service_level))
