"""Customers asking about their orders (`tools.communications.inquiries.create_inquiry`), when there
is cause:

- STATUS: a shipment on the road longer than half again its planned transit, or past its ETA;
- EXPEDITE: a shipment delayed (half again as likely as a status question);
- QUALITY: a delivered shipment, a few hours to two days after it arrived (a third as likely).

For each cause a customer asks once, with probability `rate`, drawn for that shipment and
cause. An order already asked about for that reason is not asked about again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Literal

from simulation.context import Context, rows
from tools.communications.inquiries import NewInquiry, create_inquiry
from tools.core.errors import TitanError

log = logging.getLogger(__name__)

Cause = Literal["STATUS", "EXPEDITE", "QUALITY"]

_CAUSES = """
select s.shipment_id, s.order_id, o.customer_id, s.status, s.shipped_at, s.eta, s.created_at,
    s.delivered_at,
    case when s.status = 'DELAYED' then 'EXPEDITE'
         when s.status = 'DELIVERED' then 'QUALITY'
         else 'STATUS' end as cause
from shipments s join orders o on o.order_id = s.order_id
where (s.status = 'DELAYED'
       or (s.status = 'DELIVERED' and s.delivered_at > %(at)s - interval '3 days')
       or (s.status in ('PICKED_UP', 'IN_TRANSIT') and s.shipped_at is not null
           and s.eta is not null
           and (%(at)s > s.eta or %(at)s - s.shipped_at > 1.5 * (s.eta - s.shipped_at))))
  and not exists (
      select 1 from customer_inquiries i where i.order_id = s.order_id
      and i.kind = case when s.status = 'DELAYED' then 'EXPEDITE'
                        when s.status = 'DELIVERED' then 'QUALITY' else 'STATUS' end)
order by s.shipment_id
"""
_LIKELIHOOD: dict[str, float] = {"STATUS": 1.0, "EXPEDITE": 1.5, "QUALITY": 1 / 3}
_WORDS: dict[str, tuple[str, str]] = {
    "STATUS": (
        "Where is order {order}?",
        "Shipment {shipment} of order {order} has been on the road longer than planned. "
        "When will it arrive?",
    ),
    "EXPEDITE": (
        "Order {order} delayed: please expedite",
        "The tracking for shipment {shipment} of order {order} shows a delay. Our line "
        "needs these parts; can you expedite or ship the rest another way?",
    ),
    "QUALITY": (
        "Quality concern on order {order}",
        "Receiving inspection found parts of shipment {shipment} (order {order}) out of "
        "tolerance. Please send the inspection records and advise.",
    ),
}


class CustomersGenerator:
    name: Literal["customers"] = "customers"

    async def tick(self, ctx: Context, at: datetime, minutes: float) -> int:
        asked = 0
        seen: set[tuple[str, str]] = set()
        for c in await rows(ctx.conn, _CAUSES, {"at": at}):
            key = (c["order_id"], c["cause"])
            if key in seen or c["order_id"] in ctx.world.reserved:
                continue
            rng = ctx.decide("inquiry", c["shipment_id"], c["cause"])
            if rng.random() >= ctx.config.rate(self.name) * _LIKELIHOOD[c["cause"]]:
                continue
            if c["cause"] == "QUALITY" and at < c["delivered_at"] + timedelta(
                hours=rng.uniform(4, 48)
            ):
                continue
            seen.add(key)
            try:
                await create_inquiry(
                    ctx.conn, ctx.actor, _inquiry(c, rng.choice(("EMAIL", "PORTAL", "PHONE")))
                )
            except TitanError as exc:
                log.debug("no inquiry about %s: %s", c["order_id"], exc)
                continue
            asked += 1
        ctx.count("inquiries", asked)
        return asked


def _inquiry(c: dict[str, Any], channel: str) -> NewInquiry:
    subject, body = _WORDS[c["cause"]]
    words = {"order": c["order_id"], "shipment": c["shipment_id"]}
    return NewInquiry.model_validate(
        {
            "customer_id": c["customer_id"],
            "order_id": c["order_id"],
            "channel": channel,
            "kind": c["cause"],
            "subject": subject.format(**words),
            "body": body.format(**words),
        }
    )
