"""Carriers moving shipments through their lifecycle (`tools.logistics.tracking`).

From its last scan a shipment's next one comes after a typical time: the label 15-90 minutes
after booking, the pickup 1-6 hours after the label (once the order is READY), the hub scan
1-4 hours after pickup, out for delivery 2-5 hours before the ETA the service level gave
(overnight, express, ground or freight transit days from the rate table), delivery 1-4 hours
later. With probability `rate` a shipment is delayed once on the road, 30-80 % of the way
through its transit: customs for an intercontinental one, weather or a missed connection
otherwise, with a new ETA 1-3 days later; it moves again 6-24 hours after the delay. Each
decision about a shipment is drawn for that shipment and scan, so the same seed moves it the
same way whatever the tick length.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Literal

from simulation.context import Context, rows
from tools.core.errors import TitanError
from tools.demo.catalogue import CARRIERS, CUSTOMERS
from tools.logistics.tracking import (
    advance_shipment,
    delay_shipment,
    deliver_shipment,
    pick_up,
    print_label,
)

log = logging.getLogger(__name__)

_HUBS = {c.carrier_id: (c.hub_na, c.hub_eu) for c in CARRIERS}
_CITIES = {c.customer_id: c.city for c in CUSTOMERS}
_OPEN = """
select s.shipment_id, s.order_id, s.carrier_id, s.status, s.destination_region, s.created_at,
    s.shipped_at, s.eta, o.status as order_status, o.customer_id, f.region as origin_region,
    coalesce((select max(e.at) from shipment_events e where e.shipment_id = s.shipment_id),
             s.created_at) as last_at,
    (select count(*) from shipment_events e where e.shipment_id = s.shipment_id) as scans,
    exists (select 1 from shipment_events e where e.shipment_id = s.shipment_id
            and e.status = 'DELAYED') as was_delayed
from shipments s
join orders o on o.order_id = s.order_id
join facilities f on f.facility_id = s.origin_facility_id
where s.status in ('CREATED', 'LABEL_PRINTED', 'PICKED_UP', 'IN_TRANSIT', 'DELAYED',
    'OUT_FOR_DELIVERY')
order by s.shipment_id
"""
# status → (least, most) minutes from the last scan to the next
_WAIT = {
    "CREATED": (15, 90),
    "LABEL_PRINTED": (60, 360),
    "PICKED_UP": (60, 240),
    "DELAYED": (360, 1440),
    "OUT_FOR_DELIVERY": (60, 240),
}


def hub(carrier_id: str, region: str) -> str:
    na, eu = _HUBS.get(carrier_id, (f"{carrier_id} hub, US", f"{carrier_id} hub, EU"))
    return na if region.startswith("NA") else eu


class CarriersGenerator:
    name: Literal["carriers"] = "carriers"

    async def tick(self, ctx: Context, at: datetime, minutes: float) -> int:
        moved = 0
        for s in await rows(ctx.conn, _OPEN):
            if s["shipment_id"] in ctx.world.reserved or s["order_id"] in ctx.world.reserved:
                continue
            try:
                moved += await self._move(ctx, s, at)
            except TitanError as exc:
                log.debug("shipment %s stays %s: %s", s["shipment_id"], s["status"], exc)
        ctx.count("shipment_scans", moved)
        return moved

    async def _move(self, ctx: Context, s: dict[str, Any], at: datetime) -> int:
        sid, status = s["shipment_id"], s["status"]
        rng = ctx.decide("carrier", sid, status, s["scans"])
        if status == "IN_TRANSIT":
            return await self._on_the_road(ctx, s, at)
        least, most = _WAIT[status]
        if at < s["last_at"] + timedelta(minutes=rng.uniform(least, most)):
            return 0
        conn, actor = ctx.conn, ctx.actor
        if status == "CREATED":
            await print_label(conn, actor, sid)
        elif status == "LABEL_PRINTED":
            if s["order_status"] != "READY":
                return 0
            await pick_up(conn, actor, sid)
        elif status in ("PICKED_UP", "DELAYED"):
            note = "arrived at the hub" if status == "PICKED_UP" else "moving again"
            where = hub(s["carrier_id"], s["destination_region"])
            await advance_shipment(conn, actor, sid, "IN_TRANSIT", location=where, note=note)
        else:
            city = _CITIES.get(s["customer_id"], s["destination_region"])
            await deliver_shipment(
                conn, actor, sid, location=city, note="signed for at the receiving dock"
            )
            ctx.count("deliveries")
        return 1

    async def _on_the_road(self, ctx: Context, s: dict[str, Any], at: datetime) -> int:
        sid, eta = s["shipment_id"], s["eta"]
        shipped = s["shipped_at"] or s["last_at"]
        if eta is None:
            eta = shipped + timedelta(days=3)
        fate = ctx.decide("delay", sid)
        unlucky, share, days = (
            fate.random() < ctx.config.rate(self.name),
            fate.uniform(0.3, 0.8),
            fate.uniform(1, 3),
        )
        if unlucky and not s["was_delayed"] and at >= shipped + (eta - shipped) * share:
            abroad = s["origin_region"][:2] != s["destination_region"][:2]
            reason = (
                "held at customs: commercial invoice query"
                if abroad
                else fate.choice(
                    ("weather: hub operations suspended", "missed connection at the hub")
                )
            )
            await delay_shipment(
                ctx.conn, ctx.actor, sid, reason=reason, new_eta=max(eta, at) + timedelta(days=days)
            )
            ctx.count("delays")
            return 1
        rng = ctx.decide("carrier", sid, "IN_TRANSIT", s["scans"])
        out = max(eta - timedelta(hours=rng.uniform(2, 5)), s["last_at"] + timedelta(minutes=30))
        if at < out:
            return 0
        city = _CITIES.get(s["customer_id"], s["destination_region"])
        await advance_shipment(
            ctx.conn, ctx.actor, sid, "OUT_FOR_DELIVERY", location=city, note="out for delivery"
        )
        return 1
