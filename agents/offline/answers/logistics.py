"""Answers about where orders and shipments are, carriers and shipping estimates."""

from __future__ import annotations

from typing import Any

from agents.offline.answers import answer
from agents.offline.answers.common import (
    day,
    label,
    listing,
    money,
    num,
    pct,
    plural,
    rows_of,
    table,
    when,
    words,
)
from agents.offline.answers.orders import order_sentence
from agents.offline.planner import Progress


def shipment_sentence(s: dict[str, Any], verb: str = "") -> str:
    carrier = label("carrier", s.get("carrier_id"))
    text = (
        f"{verb + ' s' if verb else 'S'}hipment {s.get('shipment_id')} of {s.get('order_id')} "
        f"({carrier} {words(s.get('service_level'))}, tracking {s.get('tracking_number') or '—'}) "
        f"is {words(s.get('status'))}"
    )
    if s.get("status") == "DELIVERED" and s.get("delivered_at"):
        text += f", delivered {when(s['delivered_at'])}"
    elif s.get("eta"):
        text += f", ETA {when(s['eta'])}"
    events = [e for e in s.get("events") or [] if isinstance(e, dict)]
    if events:
        last = events[-1]
        where = f" in {last['location']}" if last.get("location") else ""
        why = f" ({last['reason']})" if last.get("reason") else ""
        text += f"; last scan {words(last.get('status'))}{where} {when(last.get('at'))}{why}"
    return text + "."


@answer("where_is_order")
def where_is_order(p: Progress) -> str:
    order = p.result("get_order")
    if not isinstance(order, dict):
        customer = p.values.get("customer")
        return (
            f"{label('customer', customer)} has no orders."
            if customer
            else "I found no such order."
        )
    shipments = rows_of(p.result("list_shipments"))
    text = order_sentence(order)
    if not shipments:
        if order.get("status") in ("SHIPPED", "DELIVERED", "COMPLETED"):
            return text + " No shipment is recorded for it."
        return text + " It has not shipped yet, so there is no shipment to track."
    delivered = [s for s in shipments if s.get("status") == "DELIVERED"]
    if len(delivered) == len(shipments):
        last = max((s.get("delivered_at") or "" for s in delivered), default="")
        text += f" All {plural(len(shipments), 'shipment')} delivered, the last {when(last)}."
    else:
        etas = [str(s["eta"]) for s in shipments if s.get("status") != "DELIVERED" and s.get("eta")]
        if etas:
            text += f" Expected at the customer by {when(max(etas))}."
    lines = [shipment_sentence(s) for s in shipments[:4]]
    return text + "\n\n" + "\n".join(f"- {line}" for line in lines)


_VERBS = {
    "print_label": "Labelled",
    "pick_up_shipment": "Picked up",
    "cancel_shipment": "Cancelled",
    "advance_shipment": "Recorded the scan:",
    "delay_shipment": "Recorded the delay:",
    "deliver_shipment": "Delivered",
}


@answer("shipment")
def shipment(p: Progress) -> str:
    for step, outcome in reversed(p.calls):
        if isinstance(outcome.data, dict) and outcome.data.get("shipment_id"):
            verb = _VERBS.get(step.tool, "")
            if verb.endswith(":"):
                return f"{verb} " + shipment_sentence(outcome.data)
            return shipment_sentence(outcome.data, verb)
    return "No shipment came back."


@answer("shipments")
def shipments(p: Progress) -> str:
    rows = rows_of(p.result("list_shipments"))
    status = words(p.values.get("status"))
    carrier = label("carrier", p.values.get("carrier")) if p.values.get("carrier") else ""
    scope = " ".join(x for x in (status, carrier) if x)
    if not rows:
        return f"No {scope + ' ' if scope else ''}shipments."
    grid = table(
        ["Shipment", "Order", "Carrier", "Status", "ETA", "Tracking", "Last scan"],
        [
            [
                r.get("shipment_id"),
                r.get("order_id"),
                r.get("carrier_id"),
                words(r.get("status")),
                when(r.get("eta")),
                r.get("tracking_number"),
                _last_scan(r),
            ]
            for r in rows
        ],
    )
    return f"{plural(len(rows), (scope + ' ' if scope else '') + 'shipment')}:\n\n{grid}"


def _last_scan(s: dict[str, Any]) -> str:
    events = [e for e in s.get("events") or [] if isinstance(e, dict)]
    if not events:
        return "—"
    last = events[-1]
    return " ".join(
        x for x in (words(last.get("status")), last.get("location"), last.get("reason")) if x
    )


@answer("carriers")
def carriers(p: Progress) -> str:
    rows = rows_of(p.result("list_carriers"))
    rows.sort(key=lambda r: -float(r.get("reliability") or 0))
    grid = table(
        ["Carrier", "On time", "Services", "Regions"],
        [
            [
                r.get("name"),
                pct(r.get("reliability")),
                listing([words(x) for x in r.get("service_levels") or []], 5),
                listing(r.get("destination_regions") or [], 6),
            ]
            for r in rows
        ],
    )
    return f"We ship with {plural(len(rows), 'carrier')}, most reliable first:\n\n{grid}"


@answer("estimates")
def estimates(p: Progress) -> str:
    rows = rows_of(p.result("shipping_estimates"))
    if not rows:
        return "No carrier serves that route and weight."
    rows.sort(key=lambda r: float(r.get("cost") or 0))
    cheapest, fastest = rows[0], min(rows, key=lambda r: int(r.get("transit_days") or 99))
    first = rows[0]
    lead = (
        f"Shipping {num(first.get('weight_kg'), 0)} kg from "
        f"{label('facility', first.get('origin_facility_id'))} "
        f"to {first.get('destination_region')}: cheapest {money(cheapest.get('cost'))} with "
        f"{cheapest.get('carrier_name')} {words(cheapest.get('service_level'))} "
        f"({plural(int(cheapest.get('transit_days') or 0), 'day')}); fastest "
        f"{fastest.get('carrier_name')} {words(fastest.get('service_level'))} in "
        f"{plural(int(fastest.get('transit_days') or 0), 'day')} for {money(fastest.get('cost'))}."
    )
    grid = table(
        ["Carrier", "Service", "Cost", "Days", "ETA", "On time"],
        [
            [
                r.get("carrier_name"),
                words(r.get("service_level")),
                money(r.get("cost")),
                r.get("transit_days"),
                day(r.get("eta")),
                pct(r.get("reliability")),
            ]
            for r in rows
        ],
    )
    return f"{lead}\n\n{grid}"


@answer("shipments_created")
def shipments_created(p: Progress) -> str:
    rows = rows_of(p.result("create_shipments"))
    found = p.result("get_order")
    if not rows and isinstance(found, dict) and found.get("status") != "READY":
        status = words(found.get("status"))
        text = (
            f"Nothing was booked: order {found.get('order_id')} is {status}, and shipments are "
            "created only for orders that are ready to ship."
        )
        shipped = rows_of(p.result("list_shipments"))
        if shipped:
            text += " Its shipments:\n" + "\n".join(f"- {shipment_sentence(s)}" for s in shipped)
        return text
    if not rows:
        return "No shipment was created."
    order = rows[0].get("order_id")
    lines = "\n".join(f"- {shipment_sentence(s)}" for s in rows)
    split = " (split across sites)" if len(rows) > 1 else ""
    return f"Created {plural(len(rows), 'shipment')} for {order}{split}:\n{lines}"
