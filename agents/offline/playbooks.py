"""The offline model's playbook per specialist: which tool to call next, with which arguments.

A playbook lists the calls a request needs in order; a call whose arguments cannot be filled yet
(it needs an earlier result, or its condition does not hold) is skipped. The model calls the
first listed tool it has not called yet, and answers once none is left.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from agents.offline.context import Context
from agents.offline.entities import as_datetime
from tools import clock

Args = dict[str, Any] | None
Step = tuple[str, Args]
STAFF = {
    "plant manager": "plant_manager",
    "maintenance lead": "maintenance_lead",
    "planner": "planner",
    "quality manager": "quality_manager",
    "purchasing": "purchasing",
    "logistics coordinator": "logistics_coordinator",
}
_CLOSED = {"COMPLETED", "CANCELLED", "DELIVERED"}


def _iso(delta_hours: float = 0.0) -> str:
    return (clock.now() + timedelta(hours=delta_hours)).isoformat()


def _period(ctx: Context) -> tuple[str, str]:
    if len(ctx.found.dates) >= 2:
        return as_datetime(ctx.found.dates[0], hour=0), as_datetime(ctx.found.dates[1], hour=23)
    return _iso(-24 * 30), _iso()


def _facility(ctx: Context) -> str | None:
    return ctx.found.first("facilities")


def _fault(ctx: Context) -> str | None:
    diagnosis = ctx.last("classify_fault")
    if isinstance(diagnosis, dict) and diagnosis.get("fault_type"):
        return str(diagnosis["fault_type"])
    return ctx.found.first("faults")


def _work_order_id(ctx: Context) -> str | None:
    created = ctx.last("create_work_order")
    if isinstance(created, dict) and created.get("work_order_id"):
        return str(created["work_order_id"])
    return ctx.found.first("work_orders")


def maintenance(ctx: Context) -> list[Step]:
    machine = ctx.found.first("machines")
    wo = ctx.asked.first("work_orders")
    if wo and ctx.says("start"):
        return [("start_work_order", {"work_order_id": wo})]
    if wo and ctx.says("complete", "finish", "done"):
        return [("complete_work_order", {"work_order_id": wo, "resolution": ctx.request[:500]})]
    if wo and ctx.says("cancel"):
        return [("cancel_work_order", {"work_order_id": wo, "reason": ctx.request[:500]})]
    if wo:
        return [("get_work_order", {"work_order_id": wo})]
    if machine is None:
        return _plant_wide(ctx)
    if ctx.says("health") and not ctx.says("incident", "work order", "fix", "repair"):
        return [("machine_health", {"machine_id": machine})]
    fault = _fault(ctx)
    detected = ctx.last("detect_anomalies")
    findings = detected.get("findings", []) if isinstance(detected, dict) else []
    prediction = ctx.last("predict_failure")
    wants_work = ctx.says("incident", "work order", "fix", "repair", "maintenance", "handle")
    critical = any(f.get("severity") == "CRITICAL" for f in findings)
    open_one = _open_work_order(ctx) if wants_work else None
    create: Args = None
    if wants_work and (fault or findings) and ctx.called("list_work_orders") and not open_one:
        create = {
            "machine_id": machine,
            "kind": "PREDICTIVE" if prediction else "CORRECTIVE",
            "priority": "CRITICAL" if critical else "HIGH",
            "description": f"{fault or 'Anomaly'} on {machine}: "
            + "; ".join(str(f.get("description", "")) for f in findings[:2]),
            "fault_type": fault,
        }
    created = _work_order_id(ctx) if ctx.called("create_work_order") else None
    if open_one is not None and open_one.get("status") == "OPEN":
        created = str(open_one["work_order_id"])  # scheduled yet: give it its window
    window: Args = None
    if created:
        window = {"work_order_id": created, "starts_at": _iso(2), "ends_at": _iso(6)}
    return [
        ("detect_anomalies", {"machine_ids": [machine]}),
        ("classify_fault", {"machine_id": machine}),
        ("predict_failure", {"machine_id": machine, "failure_mode": fault} if fault else None),
        ("list_work_orders", {"machine_id": machine, "limit": 20} if wants_work else None),
        ("create_work_order", create),
        ("schedule_work_order", window),
    ]


def _open_work_order(ctx: Context) -> dict[str, Any] | None:
    """A work order already open on the machine for a fault (not yet done), if any: the
    incident is handled through it rather than a second one."""
    listed = ctx.last("list_work_orders")
    for order in listed if isinstance(listed, list) else []:
        if (
            isinstance(order, dict)
            and order.get("kind") in ("CORRECTIVE", "PREDICTIVE")
            and order.get("status") in ("OPEN", "SCHEDULED", "IN_PROGRESS")
        ):
            return order
    return None


def _plant_wide(ctx: Context) -> list[Step]:
    facility = _facility(ctx)
    if ctx.says("oee", "effectiveness"):
        start, end = (_iso(-24 * 7), _iso()) if len(ctx.found.dates) < 2 else _period(ctx)
        return [("oee", {"start": start, "end": end, "facility_id": facility})]
    if ctx.says("anomal"):
        return [("list_anomalies", {"limit": 20})]
    if ctx.says("work order"):
        return [("list_work_orders", {"facility_id": facility, "limit": 20})]
    if ctx.says("list machines", "which machines", "machines in", "what machines"):
        return [("list_machines", {"facility_id": facility})]
    return [("plant_health", {"facility_id": facility})]


def _po_for(ctx: Context, sku: str, facility: str) -> Args:
    alternatives = ctx.last("find_alternatives")
    level = ctx.last("stock_levels")
    if not isinstance(alternatives, dict) or not isinstance(level, list) or not level:
        return None
    suppliers = [s for s in alternatives.get("suppliers", []) if s.get("status") == "ACTIVE"]
    if not suppliers:
        return None
    quickest = min(suppliers, key=lambda s: str(s.get("arrives_by") or ""))
    wanted = int(level[0].get("reorder_quantity") or 1)
    quantity = max(wanted, int(quickest.get("min_order_qty") or 1))
    return {
        "supplier_id": quickest["supplier_id"],
        "sku": sku,
        "facility_id": facility,
        "quantity": quantity,
        "unit_price": quickest.get("unit_price"),
    }


def _low(ctx: Context) -> bool:
    level = ctx.last("stock_levels")
    if not isinstance(level, list) or not level:
        return False
    row = level[0]
    return int(row.get("available", 0)) <= int(row.get("reorder_point") or 0)


def _spares(ctx: Context, machine: str, fault: str) -> list[Step]:
    parts = ctx.last("spare_parts_for_fault")
    part = parts["parts"][0] if isinstance(parts, dict) and parts.get("parts") else None
    facility = str(parts.get("facility_id")) if isinstance(parts, dict) else _facility(ctx)
    sku = str(part["sku"]) if part else None
    steps: list[Step] = [
        ("spare_parts_for_fault", {"machine_id": machine, "fault_type": fault}),
        ("stock_levels", {"sku": sku, "facility_id": facility} if sku else None),
    ]
    if sku and facility and _low(ctx):
        steps += [
            ("find_alternatives", {"sku": sku, "facility_id": facility}),
            ("create_purchase_order", _po_for(ctx, sku, facility)),
        ]
    return steps


def _order_action(ctx: Context, order: str) -> list[Step]:
    reason = ctx.request[:500]
    actions = [
        (("cancel",), "cancel_order", {"order_id": order, "reason": reason}),
        (("hold",), "hold_order", {"order_id": order, "reason": reason}),
        (("release",), "release_order", {"order_id": order}),
        (("validate",), "validate_order", {"order_id": order}),
        (("reservation",), "order_reservations", {"order_id": order}),
        (("reserve",), "reserve_stock", {"order_id": order}),
    ]
    for words, tool, args in actions:
        if ctx.says(*words):
            return [("get_order", {"order_id": order}), (tool, args)]
    return [("get_order", {"order_id": order}), ("review_order", {"order_id": order})]


def inventory(ctx: Context) -> list[Step]:
    found = ctx.found
    machine, fault = found.first("machines"), _fault(ctx)
    if machine and fault:
        return _spares(ctx, machine, fault)
    if found.orders and not ctx.says("new order", "create"):
        return _order_action(ctx, found.orders[0])
    if ctx.says("new order", "create an order", "create order", "rush order", "place an order"):
        return [("create_order", _new_order(ctx))]
    if found.purchase_orders:
        return [("get_purchase_order", {"po_id": found.purchase_orders[0]})]
    if found.suppliers or ctx.says("purchase order"):
        return [("list_purchase_orders", {"supplier_id": found.first("suppliers"), "limit": 20})]
    sku, facility = found.first("skus"), _facility(ctx)
    if sku and ctx.says("alternative", "short", "elsewhere", "other facilit"):
        return [("find_alternatives", {"sku": sku, "facility_id": facility})]
    if sku and ctx.says("reorder plan", "safety stock", "when to order", "reorder point"):
        return [("reorder_plan", {"sku": sku, "facility_id": facility or "PHX"})]
    if sku and facility and ctx.says("movement", "ledger"):
        return [("stock_movements", {"sku": sku, "facility_id": facility})]
    if sku or ctx.says("stock", "inventory", "on hand"):
        return [("stock_levels", {"sku": sku, "facility_id": facility})]
    if found.customers:
        return [("list_orders", {"customer_id": found.customers[0], "limit": 20})]
    return [("search_products", {"text": None, "limit": 20})]


def _new_order(ctx: Context) -> Args:
    found = ctx.found
    if not (found.customers and found.skus and found.dates):
        return None
    quantity = found.quantities[0] if found.quantities else 1
    return {
        "customer_id": found.customers[0],
        "lines": [{"sku": found.skus[0], "quantity": quantity}],
        "due_at": as_datetime(found.dates[0]),
        "is_rush": ctx.says("rush", "expedite", "urgent"),
        "facility_id": _facility(ctx),
    }


def _open_order(ctx: Context) -> str | None:
    orders = ctx.last("list_orders")
    if not isinstance(orders, list):
        return None
    open_orders = [o for o in orders if o.get("status") not in _CLOSED]
    chosen = open_orders or orders
    return str(chosen[0]["order_id"]) if chosen else None


def logistics(ctx: Context) -> list[Step]:
    found, asked = ctx.found, ctx.asked
    if asked.tracking_numbers and not asked.orders:
        return [("track_shipment", {"tracking_number": asked.tracking_numbers[0]})]
    if asked.shipments:
        return [("get_shipment", {"shipment_id": asked.shipments[0]})]
    if ctx.says("carrier") and not found.orders:
        return [("list_carriers", {})]
    if ctx.says("estimate", "quote", "cost to ship", "how much to ship"):
        origin = _facility(ctx) or "PHX"
        weight = found.quantities[0] if found.quantities else 10
        return [
            (
                "shipping_estimates",
                {
                    "origin_facility_id": origin,
                    "destination_region": "NA-WEST",
                    "weight_kg": weight,
                },
            )
        ]
    order = asked.orders[0] if asked.orders else None
    if order and ctx.says("create shipment", "ship it", "ship order", "ship ord"):
        return [("get_order", {"order_id": order}), ("create_shipments", {"order_id": order})]
    if order:
        return [("get_order", {"order_id": order}), ("list_shipments", {"order_id": order})]
    if found.customers:
        chosen = _open_order(ctx)
        return [
            ("list_orders", {"customer_id": found.customers[0], "limit": 20}),
            ("list_shipments", {"order_id": chosen} if chosen else None),
        ]
    if ctx.says("delay", "late"):
        return [("list_shipments", {"status": "DELAYED", "limit": 20})]
    return [("list_shipments", {"status": "IN_TRANSIT", "limit": 20})]


_WORK_CENTER = re.compile(r"\b([A-Z]{3}-(?:MILL|TURN|GRIND|HEAT|ASM|ASSY|INSP|CMM|QC)[A-Z0-9]*)\b")


_OPEN_IN_NOTES = re.compile(
    r"\b(ORD-\d+) (?:CREATED|VALIDATED|RESERVED|IN_PRODUCTION|READY|SHIPPED)\b"
)


def scheduler(ctx: Context) -> list[Step]:
    found = ctx.found
    in_notes = _OPEN_IN_NOTES.search(ctx.notes)
    order = ctx.asked.first("orders") or (in_notes.group(1) if in_notes else found.first("orders"))
    facility, machine = _facility(ctx), found.first("machines")
    steps: list[Step] = []
    if machine and ctx.says("reschedule", "down", "without", "failed"):
        steps.append(("reschedule_machine", {"machine_id": machine}))
    if ctx.says("bottleneck"):
        steps.append(("bottlenecks", {"facility_id": facility}))
    work_center = _WORK_CENTER.search(ctx.request)
    if ctx.says("queue"):
        centre = work_center.group(1) if work_center else f"{facility or 'PHX'}-MILL"
        steps.append(("work_center_queue", {"work_center_id": centre, "rule": "EDD"}))
    if order:
        steps.append(("get_order", {"order_id": order}))
        # Whether the date holds for work still to make: plan it and read the late orders.
        # (A shipped order's date rests on its shipments' ETAs, which logistics reports.)
        got = ctx.last("get_order")
        status = got.get("status") if isinstance(got, dict) else None
        if status in ("CREATED", "VALIDATED", "RESERVED", "IN_PRODUCTION"):
            steps.append(
                ("propose_schedule", {"order_ids": [order], "objective": "weighted_tardiness"})
            )
    elif ctx.says("propose", "plan production", "new schedule") or not steps:
        steps.append(("propose_schedule", {"facility_id": facility}))
    return steps


def communications(ctx: Context) -> list[Step]:
    found = ctx.found
    inquiry = found.first("inquiries")
    if inquiry and ctx.says("answer", "reply", "respond"):
        return [
            ("get_inquiry", {"inquiry_id": inquiry}),
            ("answer_inquiry", {"inquiry_id": inquiry, "response": _inquiry_reply(ctx)}),
        ]
    if inquiry and ctx.says("close"):
        return [("close_inquiry", {"inquiry_id": inquiry, "reason": ctx.request[:500]})]
    if inquiry:
        return [("get_inquiry", {"inquiry_id": inquiry})]
    if ctx.says("inquir"):
        return [("list_inquiries", {"customer_id": found.first("customers"), "status": "OPEN"})]
    staff = next((role for words, role in STAFF.items() if words in ctx.request.lower()), None)
    if (
        found.customers
        and not staff
        and ctx.says("notify", "tell", "inform", "message", "email", "apolog", "let ")
    ):
        return [
            (
                "send_message",
                {
                    "recipient": found.customers[0],
                    "channel": "EMAIL",
                    "subject": f"Update from Titan Manufacturing{_about(ctx)}",
                    "body": _reply(ctx),
                    "entity_type": "order" if found.orders else None,
                    "entity_id": found.first("orders"),
                },
            )
        ]
    if staff or found.machines or ctx.says("incident", "notify", "tell", "alert", "inform"):
        machine = found.first("machines")
        return [
            (
                "send_message",
                {
                    "recipient": staff or "plant_manager",
                    "channel": "IN_APP",
                    "severity": "CRITICAL" if ctx.says("incident", "critical") else "WARNING",
                    "subject": f"{machine or 'Plant'}: {_headline(ctx)}"[:200],
                    "body": _reply(ctx),
                    "entity_type": "machine" if machine else None,
                    "entity_id": machine,
                },
            )
        ]
    return [("list_notifications", {"limit": 20})]


def _about(ctx: Context) -> str:
    order = ctx.found.first("orders")
    return f" about {order}" if order else ""


def _headline(ctx: Context) -> str:
    fault = ctx.found.first("faults")
    return f"{fault.replace('_', ' ').lower()} — action taken" if fault else "operations update"


def _inquiry_reply(ctx: Context) -> str:
    """A reply to the inquiry just read: what the team found, never the request's own words."""
    inquiry = ctx.last("get_inquiry")
    if not isinstance(inquiry, dict):
        return _reply(ctx)
    order = inquiry.get("order_id")
    about = f" about order {order}" if order else ""
    found = ctx.notes.strip() or (
        f"We have received it and are looking into it{about}; we will come back to you with "
        "the details shortly."
    )
    return (
        f'Thank you for your message "{inquiry.get("subject", "")}"{about}.\n\n{found}\n\n'
        "Kind regards,\nTitan Manufacturing"
    )[:4000]


def _reply(ctx: Context) -> str:
    """A message body from what the earlier specialists found (their notes)."""
    return (ctx.notes.strip() or ctx.request)[:4000]


def governance(ctx: Context) -> list[Step]:
    found = ctx.found
    since, until = _period(ctx)
    if found.batches:
        return [("trace_batch", {"batch_id": found.batches[0]})]
    if found.orders and ctx.says("complian", "contract"):
        return [("check_order_compliance", {"order_id": found.orders[0]})]
    if found.orders and ctx.says("trace", "faa", "audit", "certificate", "made"):
        return [("order_traceability", {"order_id": found.orders[0]})]
    if found.customers and ctx.says("complian"):
        return [
            (
                "check_customer_compliance",
                {"customer_id": found.customers[0], "since": since, "until": until},
            )
        ]
    if ctx.says("faa", "iso", "report"):
        kind = "ISO_9001" if ctx.says("iso") else "FAA_AUDIT"
        return [("compliance_report", {"kind": kind, "since": since, "until": until})]
    entity = (
        found.first("orders")
        or found.first("machines")
        or found.first("work_orders")
        or found.first("purchase_orders")
        or found.first("shipments")
    )
    if entity:
        return [("audit_trail", {"entity_id": entity, "limit": 20})]
    if ctx.says("table", "catalog", "data"):
        return [("list_tables", {})]
    return [("audit_trail", {"limit": 20})]


PLAYBOOKS: dict[str, Callable[[Context], list[Step]]] = {
    "maintenance": maintenance,
    "inventory": inventory,
    "logistics": logistics,
    "scheduler": scheduler,
    "communications": communications,
    "governance": governance,
}


def next_call(agent: str, ctx: Context) -> Step | None:
    """The next tool call for `agent`, or None when it should answer."""
    if ctx.failed:
        return None
    for name, args in PLAYBOOKS[agent](ctx):
        if args is None or ctx.called(name) or not ctx.has(name):
            continue
        known = ctx.tools[name].get("properties", {})
        return name, {k: v for k, v in args.items() if k in known and v is not None}
    return None
