"""Answers about customer orders and the stock reserved for them."""

from __future__ import annotations

from typing import Any

from agents.offline.answers import answer
from agents.offline.answers.common import (
    day,
    keep,
    label,
    listing,
    money,
    plural,
    rows_of,
    status_words,
    table,
    words,
)
from agents.offline.planner import Progress

_DONE = {
    "validate_order": "Validated",
    "hold_order": "Put on hold",
    "release_order": "Took off hold",
    "cancel_order": "Cancelled",
    "start_order_production": "Released to production",
    "mark_order_ready": "Marked ready",
    "complete_order": "Closed",
    "create_order": "Created",
}
_OVER = {"DELIVERED", "COMPLETED", "CANCELLED"}


def lines_of(order: dict[str, Any]) -> str:
    lines = [ln for ln in order.get("lines") or [] if isinstance(ln, dict)]
    return listing([f"{ln.get('quantity')} × {ln.get('sku')}" for ln in lines])


def order_sentence(order: dict[str, Any], verb: str = "") -> str:
    """'Order ORD-10013 for The Boeing Company (20 × SKU-TB-1001) is in production, due …' or,
    after an action, 'Cancelled order ORD-10021 for …: it is now cancelled.'"""
    what = lines_of(order)
    who = f"order {order.get('order_id')} for {label('customer', order.get('customer_id'))}"
    who += f" ({what})" if what else ""
    status = str(order.get("status") or "")
    text = f"{verb} {who}: it is now {words(status)}" if verb else f"{who} is {words(status)}"
    if status not in _OVER:
        text += f", due {day(order.get('due_at'))}"
    if order.get("is_rush"):
        text += ", a rush order"
    if order.get("hold_reason") and status == "ON_HOLD":
        text += f"; on hold because: {order['hold_reason']}"
    if order.get("cancel_reason") and status == "CANCELLED":
        text += f"; reason: {order['cancel_reason']}"
    return text[0].upper() + text[1:] + "."


@answer("order")
def order(p: Progress) -> str:
    for step, outcome in reversed(p.calls):
        if isinstance(outcome.data, dict) and outcome.data.get("order_id"):
            verb = _DONE.get(step.tool, "")
            text = order_sentence(outcome.data, verb)
            if not verb:
                events = [e for e in outcome.data.get("events") or [] if isinstance(e, dict)]
                if events:
                    last = events[-1]
                    text += (
                        f" Last change: {words(last.get('from_status')) or 'new'} → "
                        f"{words(last.get('to_status'))} on {day(last.get('at'))} by "
                        f"{last.get('actor')}."
                    )
            return text
    return "No order came back."


@answer("orders")
def orders(p: Progress) -> str:
    rows = keep(rows_of(p.result("list_orders")), p.values.get("status"))
    filters = [
        x
        for x in (
            label("customer", p.values.get("customer")) if p.values.get("customer") else None,
            status_words(p.values.get("status")),
            p.values.get("sku"),
        )
        if x
    ]
    scope = f" ({', '.join(filters)})" if filters else ""
    if not rows:
        return f"No orders{scope}."
    grid = table(
        ["Order", "Customer", "Status", "Due", "Products", "Units", "Value", "Rush"],
        [
            [
                r.get("order_id"),
                r.get("customer_id"),
                words(r.get("status")),
                day(r.get("due_at")),
                listing(r.get("skus") or [], 3),
                r.get("total_quantity"),
                money(r.get("total_value")),
                "yes" if r.get("is_rush") else "",
            ]
            for r in rows
        ],
        limit=15,
    )
    return f"{plural(len(rows), 'order')}{scope}, soonest due first:\n\n{grid}"


@answer("review")
def review(p: Progress) -> str:
    d = p.result("review_order") or {}
    order_id = p.values.get("order")
    checked = listing(d.get("checked") or [], 8)
    if d.get("ok"):
        return f"{order_id} passes its contract check ({checked})."
    return (
        f"{order_id} does not pass its contract check: " + "; ".join(d.get("problems") or []) + "."
    )


@answer("order_created")
def order_created(p: Progress) -> str:
    created = p.result("create_order")
    if not isinstance(created, dict):
        return "No order was created."
    return order_sentence(created, "Created")


@answer("reserved")
def reserved(p: Progress) -> str:
    d = p.result("reserve_stock") or {}
    text = f"Reserved {d.get('reserved_now')} units for {d.get('order_id')}"
    if d.get("fully_reserved"):
        text += "; it is fully reserved"
    elif d.get("shortfall"):
        text += f"; {d['shortfall']} units are still short"
    text += f" (order now {words(d.get('order_status'))})."
    rows = []
    for line in d.get("lines") or []:
        for a in line.get("allocations") or []:
            rows.append(
                [line.get("line_no"), a.get("sku"), a.get("facility_id"), a.get("quantity")]
            )
    grid = table(["Line", "SKU", "From", "Units"], rows)
    return f"{text}\n\n{grid}" if grid else text


@answer("released")
def released(p: Progress) -> str:
    d = p.result("release_stock") or {}
    freed = [r for r in d.get("released") or [] if isinstance(r, dict)]
    if not freed:
        return f"Nothing was reserved for {d.get('order_id')}."
    listed = listing(
        [f"{r.get('quantity')} × {r.get('sku')} at {r.get('facility_id')}" for r in freed]
    )
    return (
        f"Released the stock held for {d.get('order_id')}: {listed} (order now "
        f"{words(d.get('order_status'))})."
    )


@answer("reservations")
def reservations(p: Progress) -> str:
    rows = rows_of(p.result("order_reservations"))
    order_id = p.values.get("order")
    if not rows:
        return f"No stock is reserved for {order_id}."
    held = [r for r in rows if r.get("status") == "RESERVED"]
    grid = table(
        ["Line", "SKU", "Site", "Units", "Status"],
        [
            [
                r.get("line_no"),
                r.get("sku"),
                r.get("facility_id"),
                r.get("quantity"),
                words(r.get("status")),
            ]
            for r in rows
        ],
    )
    units = sum(int(r.get("quantity") or 0) for r in held)
    return (
        f"{units} units are reserved for {order_id} in "
        f"{plural(len(held), 'reservation')}:\n\n{grid}"
    )
