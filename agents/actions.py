"""Tool calls said in plain words, for approval requests and answers: "cancel order ORD-10021
(reason: the customer withdrew it)" rather than cancel_order(order_id=ORD-10021, …)."""

from __future__ import annotations

import re
from typing import Any

# What each write does, with its arguments in braces; a missing argument drops its bracket.
PHRASES: dict[str, str] = {
    "cancel_order": "cancel order {order_id}[ (reason: {reason})]",
    "hold_order": "put order {order_id} on hold[ (reason: {reason})]",
    "release_order": "take order {order_id} off hold",
    "validate_order": "validate order {order_id}",
    "create_order": "create an order for {customer_id}[ due {due_at}]",
    "start_order_production": "release order {order_id} to production",
    "mark_order_ready": "mark order {order_id} ready",
    "complete_order": "close order {order_id}",
    "reserve_stock": "reserve stock for order {order_id}",
    "release_stock": "release the stock reserved for order {order_id}",
    "adjust_stock": "book {delta} × {sku} at {facility_id}[ ({reason})]",
    "check_reorder": "flag the stock at or below its reorder point",
    "create_purchase_order": (
        "order {quantity} × {sku} from {supplier_id} for {facility_id}[ at {unit_price} USD each]"
    ),
    "delay_purchase_order": "record a delay on {po_id}[ until {expected_at}]",
    "cancel_purchase_order": "cancel purchase order {po_id}[ (reason: {reason})]",
    "receive_purchase_order": "receive purchase order {po_id} into stock",
    "mark_po_in_transit": "mark purchase order {po_id} in transit",
    "create_shipments": "create the shipments of order {order_id}[ with {carrier_id}]",
    "cancel_shipment": "cancel shipment {shipment_id}",
    "print_label": "print the label of shipment {shipment_id}",
    "pick_up_shipment": "record that the carrier picked up shipment {shipment_id}",
    "advance_shipment": "record the scan of shipment {shipment_id}[ ({status})]",
    "deliver_shipment": "mark shipment {shipment_id} delivered",
    "mark_notification_read": "mark notification {notification_id} read",
    "detect_anomalies": "record the anomalies found[ on {machine_id}]",
    "predict_failure": "record a failure prediction[ for {machine_id}]",
    "delay_shipment": "record a delay on shipment {shipment_id}[ (new ETA {new_eta})]",
    "create_work_order": "open a {priority} {kind} work order on {machine_id}",
    "schedule_work_order": (
        "schedule work order {work_order_id} from {starts_at} to {ends_at} (the machine stops then)"
    ),
    "start_work_order": "start work order {work_order_id} (the machine goes into maintenance)",
    "complete_work_order": "complete work order {work_order_id}",
    "cancel_work_order": "cancel work order {work_order_id}",
    "set_sensor_threshold": (
        "set the {sensor} limits[ on {machine_id}] to warning {warning}, critical {critical}"
    ),
    "propose_schedule": "propose a new schedule[ for {facility_id}]",
    "reschedule_machine": (
        "re-plan the schedule without {machine_id}[ from {unavailable_from}]"
        "[ until {unavailable_until}]"
    ),
    "apply_schedule": "apply schedule {schedule_id}",
    "reject_schedule": "reject schedule {schedule_id}",
    "send_message": "send “{subject}” to {recipient} by {channel}",
    "notify_about": "send the standard {event_type} notice about {entity_id}",
    "answer_inquiry": "send the answer to inquiry {inquiry_id}",
    "close_inquiry": "close inquiry {inquiry_id}",
    "create_inquiry": "log an inquiry from {customer_id}",
}
_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")
_FIELD = re.compile(r"\{(\w+)\}")


_ENUMS = {"priority", "kind", "channel", "service_level"}


def _shown(key: str, value: Any) -> str:
    text = str(value)
    if re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?(\.\d+)?(Z|[+-]\d\d:\d\d)?", text):
        return text[:16].replace("T", " ")
    if key in _ENUMS:
        text = text.replace("_", " ").lower()
    return text if len(text) <= 120 else text[:117] + "…"


def describe_call(name: str, args: dict[str, Any]) -> str:
    """The call in words, e.g. 'cancel order ORD-10021 (reason: …)'."""
    phrase = PHRASES.get(name)
    if phrase is None:
        shown = ", ".join(f"{k}={v}" for k, v in args.items() if k != "idempotency_key")
        return f"{name}({shown})"

    def optional(match: re.Match[str]) -> str:
        part = match.group(1)
        needed = _FIELD.findall(part)
        return part if all(args.get(k) not in (None, "") for k in needed) else ""

    text = _OPTIONAL.sub(optional, phrase)
    return _FIELD.sub(lambda m: _shown(m.group(1), args.get(m.group(1), "?")), text)
