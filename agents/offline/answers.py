"""Plain-language answers from tool results, with the numbers and IDs they carry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agents.offline.context import Context, Result

CAPABILITIES = (
    "maintenance (machine health, anomalies, fault diagnosis, failure prediction, work orders, "
    "OEE), inventory and orders (stock levels, spare parts, alternatives, reorder plans, purchase "
    "orders, creating, validating, holding and cancelling orders, reservations), logistics "
    "(shipments, tracking, carriers, shipping estimates), scheduling (due dates, capacity, "
    "rescheduling), governance (audit trail, traceability, compliance reports, data catalog) and "
    "communications (notifications, customer inquiries and messages)"
)


def _num(value: Any, digits: int = 1) -> str:
    try:
        return f"{float(value):,.{digits}f}"
    except (TypeError, ValueError):
        return str(value)


def _ids(rows: list[Any], key: str, limit: int = 5) -> str:
    shown = [str(r.get(key)) for r in rows[:limit] if isinstance(r, dict)]
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return ", ".join(shown) + more


def _anomalies(r: Result) -> str:
    findings = r.data.get("findings", []) if isinstance(r.data, dict) else []
    if not findings:
        return f"No anomalies on {', '.join(r.args.get('machine_ids') or ['the plant'])}."
    lines = [
        f"{f['severity']} {f['kind'].lower()} on {f['machine_id']}: {f['description']}"
        for f in findings[:4]
    ]
    return f"{len(findings)} anomalies found — " + "; ".join(lines) + "."


def _fault(r: Result) -> str:
    d = r.data
    if not d.get("fault_type"):
        return f"No fault signature on {d['machine_id']}."
    evidence = "; ".join(d["candidates"][0].get("evidence", [])[:2]) if d.get("candidates") else ""
    return (
        f"{d['machine_id']} shows {d['fault_type']} (confidence {_num(d['confidence'], 2)})"
        f"{': ' + evidence if evidence else ''}."
    )


def _prediction(r: Result) -> str:
    d = r.data
    return (
        f"Predicted {d['failure_mode']} failure of {d['machine_id']} in "
        f"{_num(d['rul_hours'])} h (between {_num(d['rul_low_hours'])} and "
        f"{_num(d['rul_high_hours'])} h), around {d['predicted_failure_at']}, "
        f"probability {_num(d['probability'], 2)}."
    )


def _work_order(r: Result) -> str:
    d = r.data
    verb = {"create_work_order": "Opened", "schedule_work_order": "Scheduled"}.get(r.name, "")
    window = (
        f" from {d.get('scheduled_start')} to {d.get('scheduled_end')}"
        if verb == "Scheduled"
        else ""
    )
    return (
        f"{verb or 'Work order'} work order {d['work_order_id']} for {d['machine_id']} "
        f"({d.get('kind')}, {d.get('priority')}, status {d.get('status')}){window}."
    )


def _spares(r: Result) -> str:
    parts = r.data.get("parts", [])
    listed = "; ".join(
        f"{p['quantity_needed']} × {p['sku']} ({p['name']}), {p['available_on_site']} "
        f"available on site"
        for p in parts
    )
    return f"Parts for {r.data['fault_type']} on {r.data['machine_id']}: {listed or 'none listed'}."


def _stock(r: Result) -> str:
    rows = r.data if isinstance(r.data, list) else []
    if not rows:
        return "No stock rows match."
    listed = "; ".join(
        f"{x['sku']} at {x['facility_id']}: {x['on_hand']} on hand, {x['reserved']} "
        f"reserved, {x['available']} available (reorder point {x['reorder_point']})"
        for x in rows[:6]
    )
    return f"Stock — {listed}."


def _alternatives(r: Result) -> str:
    d = r.data
    others = ", ".join(
        f"{o['facility_id']} {o['available']}" for o in d.get("other_facilities", [])
    )
    sups = ", ".join(
        f"{s['supplier_id']} at {s['unit_price']} USD, arriving {s['arrives_by']}"
        for s in d.get("suppliers", [])[:3]
    )
    return f"{d['sku']} elsewhere: {others or 'no other facility'}; suppliers: {sups or 'none'}."


def _po(r: Result) -> str:
    d = r.data
    return (
        f"Purchase order {d.get('po_id')}: {d.get('quantity')} × {d.get('sku')} from "
        f"{d.get('supplier_id')} for {d.get('facility_id')}, status {d.get('status')}."
    )


def _order(r: Result) -> str:
    d = r.data
    return (
        f"Order {d['order_id']} for {d.get('customer_id')}: status {d.get('status')}, due "
        f"{d.get('due_at')}{', rush' if d.get('is_rush') else ''}."
    )


def _orders(r: Result) -> str:
    rows = r.data if isinstance(r.data, list) else []
    listed = "; ".join(f"{o['order_id']} {o['status']} due {o['due_at']}" for o in rows[:5])
    return f"{len(rows)} orders: {listed}." if rows else "No orders match."


def _shipments(r: Result) -> str:
    rows = r.data if isinstance(r.data, list) else [r.data]
    if not rows:
        return f"No shipments{' for ' + str(r.args['order_id']) if r.args.get('order_id') else ''}."
    listed = "; ".join(
        f"{s['shipment_id']} ({s.get('carrier_id')}, {s['status']}, tracking "
        f"{s.get('tracking_number')}, ETA {s.get('eta')})"
        for s in rows[:5]
    )
    return f"Shipments: {listed}."


def _message(r: Result) -> str:
    d = r.data
    return (
        f"Sent message {d.get('notification_id')} to {d.get('recipient')} ({d.get('channel')}): "
        f"{d.get('subject')}."
    )


def _schedule(r: Result) -> str:
    d = r.data if isinstance(r.data, dict) else {}
    plan = d.get("schedule") if "schedule" in d else d
    if not isinstance(plan, dict) or "schedule_id" not in plan:
        reason = d.get("reason") or "no schedule was found"
        return f"The scheduler found no schedule ({d.get('solver_status')}): {reason}."
    late = plan.get("late_orders") or []
    lateness = (
        "every order finishes by its due date"
        if not late
        else "late: "
        + "; ".join(
            f"{o.get('order_id')} by {_num((o.get('minutes_late') or 0) / 60)} h "
            f"(finishes {o.get('finishes_at')}, due {o.get('due_at')})"
            for o in late[:5]
        )
    )
    impact = plan.get("impact") or {}
    moved = (
        f" It moves {impact.get('jobs_moved')} jobs ({impact.get('operations_moved')} "
        f"operations) and needs {impact.get('overtime_minutes')} min of overtime."
        if impact
        else ""
    )
    return (
        f"Schedule {plan.get('schedule_id')} ({plan.get('status')}, {plan.get('solver_status')}, "
        f"{len(plan.get('slots') or [])} operations): {lateness}.{moved}"
    )


def _generic(r: Result) -> str:
    d = r.data
    if isinstance(d, list):
        if not d:
            return f"{r.name}: nothing found."
        key = next((k for k in d[0] if k.endswith("_id")), None) if isinstance(d[0], dict) else None
        return f"{r.name}: {len(d)} results" + (f" ({_ids(d, key)})" if key else "") + "."
    if isinstance(d, dict):
        facts = [
            f"{k} {v}"
            for k, v in d.items()
            if isinstance(v, str | int | float)
            and (
                k.endswith("_id")
                or k in ("status", "due_at", "eta", "quantity", "total", "passed", "ok")
            )
        ][:8]
        return f"{r.name}: " + ", ".join(facts) + "."
    return f"{r.name}: {r.text[:300]}"


SUMMARIES: dict[str, Callable[[Result], str]] = {
    "detect_anomalies": _anomalies,
    "classify_fault": _fault,
    "predict_failure": _prediction,
    "create_work_order": _work_order,
    "schedule_work_order": _work_order,
    "get_work_order": _work_order,
    "spare_parts_for_fault": _spares,
    "stock_levels": _stock,
    "find_alternatives": _alternatives,
    "create_purchase_order": _po,
    "get_purchase_order": _po,
    "get_order": _order,
    "list_orders": _orders,
    "list_shipments": _shipments,
    "get_shipment": _shipments,
    "track_shipment": _shipments,
    "send_message": _message,
    "propose_schedule": _schedule,
    "reschedule_machine": _schedule,
    "get_schedule": _schedule,
    "apply_schedule": _schedule,
}


def summarise(result: Result) -> str:
    """One or two sentences saying what a tool call found or did."""
    if not result.ok:
        return f"{result.name} did not go through: {result.text.strip()}"
    try:
        return SUMMARIES.get(result.name, _generic)(result)
    except (KeyError, TypeError, AttributeError, IndexError):
        return _generic(result)


def specialist_answer(agent: str, ctx: Context) -> str:
    """What a specialist reports back: each call's outcome, in order."""
    if not ctx.results:
        if not ctx.tools:
            return f"The {agent} tools are not available on this server, so I could not check."
        return (
            f"I could not tell what to look up in {agent} for this request; name a machine, "
            f"order, SKU, customer or facility."
        )
    return " ".join(summarise(r) for r in ctx.results)


def refusal(request: str) -> str:
    """The answer to a request outside Titan's scope: what it can do instead."""
    return (
        f"I did not understand that as a plant operations request ({request[:80]!r}). I can "
        f'help with {CAPABILITIES}. Try e.g. "Why is PHX-CNC-007 vibrating?" or '
        f'"Where is Boeing\'s order?"'
    )
