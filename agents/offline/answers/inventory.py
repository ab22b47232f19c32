"""Answers about stock, spare parts, sources, reorder plans and purchase orders."""

from __future__ import annotations

from typing import Any

from agents.offline.answers import answer
from agents.offline.answers.common import (
    day,
    keep,
    label,
    listing,
    money,
    num,
    plural,
    rows_of,
    status_words,
    table,
    when,
    words,
)
from agents.offline.planner import Progress


def _low(row: dict[str, Any]) -> bool:
    return int(row.get("available") or 0) <= int(row.get("reorder_point") or 0)


def _stock_rows(rows: list[dict[str, Any]]) -> list[list[Any]]:
    return [
        [
            r.get("sku"),
            label("sku", r.get("sku")).split(",")[0],
            r.get("facility_id"),
            r.get("on_hand"),
            r.get("reserved"),
            r.get("available"),
            r.get("reorder_point"),
            "LOW" if _low(r) else "",
        ]
        for r in rows
    ]


_STOCK_HEAD = ["SKU", "Product", "Site", "On hand", "Reserved", "Free", "Reorder at", ""]


@answer("stock")
def stock(p: Progress) -> str:
    rows = rows_of(p.result("stock_levels"))
    sku, site = p.values.get("sku"), p.values.get("facility")
    if p.values.get("category") and not sku:
        wanted = str(p.values["category"])
        rows = [r for r in rows if _category(r.get("sku")) == wanted] or rows
    if not rows:
        what = sku or "that product"
        return f"No stock of {what}{(' at ' + label('facility', site)) if site else ''}."
    if len(rows) == 1:
        r = rows[0]
        text = (
            f"{r['sku']} ({label('sku', r['sku']).split(',')[0]}) at "
            f"{label('facility', r['facility_id'])}: "
            f"{r.get('on_hand')} on hand, {r.get('reserved')} reserved for orders, "
            f"{r.get('available')} free (reorder point {r.get('reorder_point')})."
        )
        if _low(r):
            text += " That is at or below the reorder point."
        return text
    total = sum(int(r.get("available") or 0) for r in rows)
    lead = (
        f"{sku + ': ' if sku else ''}{num(total, 0)} units free across "
        f"{plural(len(rows), 'stock level')}"
    )
    low = [r for r in rows if _low(r)]
    if low:
        lead += f"; {len(low)} at or below the reorder point"
    rows.sort(key=lambda r: (not _low(r), r.get("sku"), r.get("facility_id")))
    return f"{lead}.\n\n" + table(_STOCK_HEAD, _stock_rows(rows), limit=15)


def _category(sku: Any) -> str | None:
    from agents.offline.drafts import names_in_use

    names = names_in_use.get()
    entry = names.get("sku", str(sku)) if names else None
    return str(entry.detail.get("category")) if entry else None


@answer("low_stock")
def low_stock(p: Progress) -> str:
    rows = [r for r in rows_of(p.result("stock_levels")) if _low(r)]
    site = p.values.get("facility")
    where = f" at {label('facility', site)}" if site else ""
    if not rows:
        return f"Nothing{where} is at or below its reorder point."
    lead = f"{plural(len(rows), 'stock level')}{where} at or below the reorder point:"
    return f"{lead}\n\n" + table(_STOCK_HEAD[:-1], [r[:-1] for r in _stock_rows(rows)], limit=15)


@answer("reorder_check")
def reorder_check(p: Progress) -> str:
    report = p.result("check_reorder") or {}
    low, new, back = (rows_of(report.get(k)) for k in ("low", "newly_low", "restored"))
    text = f"Reorder check done: {plural(len(low), 'level')} at or below the reorder point"
    if new:
        text += ", newly flagged: " + listing([f"{r['sku']} at {r['facility_id']}" for r in new])
    if back:
        text += "; back above it: " + listing([f"{r['sku']} at {r['facility_id']}" for r in back])
    return text + "."


@answer("alternatives")
def alternatives(p: Progress) -> str:
    d = p.result("find_alternatives") or {}
    sku = d.get("sku")
    parts: list[str] = []
    others = [o for o in d.get("other_facilities") or [] if isinstance(o, dict)]
    if others:
        parts.append(
            "Other sites have "
            + listing(
                [
                    f"{o.get('available')} free at {label('facility', o.get('facility_id'))}"
                    for o in others
                ]
            )
            + (" — enough to transfer." if d.get("transfer_covers") else ".")
        )
    else:
        parts.append("No other site has free stock of it.")
    suppliers = [s for s in d.get("suppliers") or [] if isinstance(s, dict)]
    lead = (
        f"Where {sku} can come from"
        + (f" for {label('facility', d['short_at'])}" if d.get("short_at") else "")
        + ":"
    )
    grid = table(
        ["Supplier", "Status", "Unit price", "Lead time", "Min. order", "Arrives by", "Preferred"],
        [
            [
                s.get("name") or s.get("supplier_id"),
                words(s.get("status")),
                money(s.get("unit_price")),
                f"{s.get('lead_time_days')} days",
                s.get("min_order_qty"),
                day(s.get("arrives_by")),
                "yes" if s.get("is_preferred") else "",
            ]
            for s in suppliers
        ],
    )
    return f"{lead} {' '.join(parts)}" + (f"\n\n{grid}" if grid else "\n\nNo supplier sells it.")


@answer("reorder_plan")
def reorder_plan(p: Progress) -> str:
    d = p.result("reorder_plan") or {}
    when_text = "now" if d.get("order_now") else f"by {day(d.get('order_by'))}"
    return (
        f"{d.get('sku')} at {label('facility', d.get('facility_id'))}: order "
        f"{d.get('order_quantity')} "
        f"units from {label('supplier', d.get('supplier_id'))} {when_text}. Reorder point "
        f"{d.get('reorder_point')} (now {d.get('current_reorder_point')}), safety stock "
        f"{d.get('safety_stock')}, economic order quantity {d.get('economic_order_quantity')}; "
        f"demand about {num(d.get('daily_demand_mean'))} a day over the last "
        f"{d.get('history_days')} "
        f"days, {d.get('lead_time_days')} days lead time, {d.get('available')} free and "
        f"{d.get('on_order')} on order."
    )


def _parts_lines(d: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    parts = [x for x in d.get("parts") or [] if isinstance(x, dict)]
    short = [x for x in parts if not x.get("enough_on_site")]
    site = label("facility", d.get("facility_id"))
    if not parts:
        return (
            f"No spare parts are listed for {words(d.get('fault_type'))} on "
            f"{d.get('machine_id')}'s model.",
            [],
        )
    listed = listing(
        [
            f"{x.get('quantity_needed')} × {x.get('sku')} ({x.get('name')}, "
            f"{x.get('available_on_site')} free at {site})"
            for x in parts
        ]
    )
    text = (
        f"To fix {words(d.get('fault_type'))} on {d.get('machine_id')} ({d.get('model')}) takes "
        f"{listed}."
    )
    if short:
        text += f" Short at {site}: {listing([str(x.get('sku')) for x in short])}."
    else:
        text += f" {site} has enough of each."
    return text, short


@answer("spare_parts")
def spare_parts(p: Progress) -> str:
    return _parts_lines(p.result("spare_parts_for_fault") or {})[0]


@answer("repair_parts")
def repair_parts(p: Progress) -> str:
    d = p.result("spare_parts_for_fault") or {}
    text, _ = _parts_lines(d)
    levels = rows_of(p.result("stock_levels"))
    if levels:
        r = levels[0]
        state = "at or below" if _low(r) else "above"
        text += (
            f" {r.get('sku')} stock at {label('facility', r.get('facility_id'))}: "
            f"{r.get('available')} free, "
            f"{state} its reorder point of {r.get('reorder_point')}."
        )
    po = p.result("create_purchase_order")
    if isinstance(po, dict):
        text += " " + po_sentence(po, "Raised")
    elif levels and _low(levels[0]) and not p.result("find_alternatives"):
        text += " No supplier could be found to order from."
    return text


@answer("products")
def products(p: Progress) -> str:
    rows = rows_of(p.result("search_products"))
    if not rows:
        return "No product matches."
    grid = table(
        ["SKU", "Product", "Division", "Category", "List price", "Free"],
        [
            [
                r.get("sku"),
                r.get("name"),
                r.get("division_id"),
                words(r.get("category")),
                money(r.get("unit_price")),
                r.get("available"),
            ]
            for r in rows
        ],
        limit=15,
    )
    return f"{plural(len(rows), 'product')}:\n\n{grid}"


@answer("movements")
def movements(p: Progress) -> str:
    rows = rows_of(p.result("stock_movements"))
    sku, site = p.values.get("sku"), p.values.get("facility")
    if not rows:
        return f"No stock movements of {sku} at {label('facility', site)}."
    grid = table(
        ["When", "Units", "Kind", "For", "By"],
        [
            [
                when(r.get("at")),
                f"{int(r.get('quantity') or 0):+d}",
                words(r.get("kind")),
                r.get("reference_id"),
                r.get("actor"),
            ]
            for r in rows
        ],
    )
    return (
        f"The last {plural(len(rows), 'movement')} of {sku} at {label('facility', site)}:\n\n{grid}"
    )


@answer("adjusted")
def adjusted(p: Progress) -> str:
    r = p.result("adjust_stock") or {}
    booking = next((o for s, o in p.calls if s.tool == "adjust_stock"), None)
    if booking is None:
        level = next(iter(rows_of(p.result("stock_levels"))), None)
        if level is None:
            return "Nothing was booked."
        wanted = abs(int(p.values.get("quantity") or 0))
        return (
            f"Nothing was booked: {level.get('sku')} at "
            f"{label('facility', level.get('facility_id'))} "
            f"has {level.get('available')} free ({level.get('on_hand')} on hand, "
            f"{level.get('reserved')} reserved), so {wanted} cannot be taken out. "
            "Say how many to book out if it is fewer, or check the count first."
        )
    delta = int(booking.args.get("delta", 0))
    kind = words(booking.args.get("kind"))
    return (
        f"Booked {delta:+d} × {r.get('sku')} at {label('facility', r.get('facility_id'))} "
        f"({kind}): "
        f"now {r.get('on_hand')} on hand, {r.get('available')} free."
    )


def po_sentence(po: dict[str, Any], verb: str = "") -> str:
    text = (
        f"{verb + ' p' if verb else 'P'}urchase order {po.get('po_id')}: {po.get('quantity')} × "
        f"{po.get('sku')} "
        f"from {label('supplier', po.get('supplier_id'))} for "
        f"{label('facility', po.get('facility_id'))}"
    )
    if po.get("unit_price") is not None:
        total = float(po["unit_price"]) * int(po.get("quantity") or 0)
        text += f" at {money(po['unit_price'])} each ({money(total)})"
    text += f", {words(po.get('status'))}"
    if po.get("expected_at"):
        text += f", expected {day(po['expected_at'])}"
    if po.get("delay_reason"):
        text += f" (delayed: {po['delay_reason']})"
    return text + "."


_PO_VERBS = {
    "create_purchase_order": "Raised",
    "delay_purchase_order": "Recorded the delay on",
    "mark_po_in_transit": "Marked in transit:",
    "receive_purchase_order": "Received",
    "cancel_purchase_order": "Cancelled",
}


@answer("purchase_order")
def purchase_order(p: Progress) -> str:
    for step, outcome in reversed(p.calls):
        if isinstance(outcome.data, dict) and outcome.data.get("po_id"):
            verb = _PO_VERBS.get(step.tool, "")
            if verb.endswith(":"):
                return f"{verb} " + po_sentence(outcome.data)
            if verb == "Recorded the delay on":
                return "Recorded the delay. " + po_sentence(outcome.data)
            return po_sentence(outcome.data, verb)
    return "No purchase order came back."


@answer("purchase_orders")
def purchase_orders(p: Progress) -> str:
    rows = keep(rows_of(p.result("list_purchase_orders")), p.values.get("status"))
    filters = [
        x
        for x in (
            label("supplier", p.values.get("supplier")) if p.values.get("supplier") else None,
            status_words(p.values.get("status")),
            p.values.get("sku"),
            label("facility", p.values.get("facility")) if p.values.get("facility") else None,
        )
        if x
    ]
    scope = f" ({', '.join(filters)})" if filters else ""
    if not rows:
        return f"No purchase orders{scope}."
    grid = table(
        ["PO", "Supplier", "SKU", "Site", "Qty", "Status", "Expected", "Delay reason"],
        [
            [
                r.get("po_id"),
                r.get("supplier_id"),
                r.get("sku"),
                r.get("facility_id"),
                r.get("quantity"),
                words(r.get("status")),
                day(r.get("expected_at")),
                r.get("delay_reason"),
            ]
            for r in rows
        ],
    )
    return f"{plural(len(rows), 'purchase order')}{scope}:\n\n{grid}"
