"""Why a change was not made when the record's lifecycle does not allow it: the offline model
looks at the record first (its plan's read step) and skips a change the domain would refuse."""

from __future__ import annotations

from agents.offline.answers.common import words
from agents.offline.lifecycles import next_statuses
from agents.offline.planner import Progress

# A change: the kind of record, the read that shows it, what the change does, and the status it
# moves the record to (None: the status the request named, as for a carrier's scan).
CHANGES: dict[str, tuple[str, str, str, str | None]] = {
    "hold_order": ("order", "get_order", "put on hold", "ON_HOLD"),
    "cancel_order": ("order", "get_order", "cancelled", "CANCELLED"),
    "validate_order": ("order", "get_order", "validated", "VALIDATED"),
    "start_order_production": ("order", "get_order", "put into production", "IN_PRODUCTION"),
    "mark_order_ready": ("order", "get_order", "marked ready to ship", "READY"),
    "complete_order": ("order", "get_order", "closed", "COMPLETED"),
    "release_order": ("order", "get_order", "taken off hold", ""),
    "cancel_work_order": ("work_order", "get_work_order", "cancelled", "CANCELLED"),
    "start_work_order": ("work_order", "get_work_order", "started", "IN_PROGRESS"),
    "complete_work_order": ("work_order", "get_work_order", "completed", "COMPLETED"),
    "schedule_work_order": ("work_order", "get_work_order", "scheduled", "SCHEDULED"),
    "cancel_purchase_order": ("purchase_order", "get_purchase_order", "cancelled", "CANCELLED"),
    "receive_purchase_order": ("purchase_order", "get_purchase_order", "received", "RECEIVED"),
    "delay_purchase_order": ("purchase_order", "get_purchase_order", "marked delayed", "DELAYED"),
    "mark_po_in_transit": (
        "purchase_order",
        "get_purchase_order",
        "marked in transit",
        "IN_TRANSIT",
    ),
    "deliver_shipment": ("shipment", "get_shipment", "marked delivered", "DELIVERED"),
    "pick_up_shipment": ("shipment", "get_shipment", "marked picked up", "PICKED_UP"),
    "print_label": ("shipment", "get_shipment", "labelled", "LABEL_PRINTED"),
    "cancel_shipment": ("shipment", "get_shipment", "cancelled", "CANCELLED"),
    "delay_shipment": ("shipment", "get_shipment", "marked delayed", "DELAYED"),
    "advance_shipment": ("shipment", "get_shipment", "given that scan", None),
}
_NAMES = {"order": "order", "work_order": "work order", "purchase_order": "purchase order",
          "shipment": "shipment"}  # fmt: skip
_IDS = {"order": "order_id", "work_order": "work_order_id", "purchase_order": "po_id",
        "shipment": "shipment_id"}  # fmt: skip


def not_allowed(p: Progress) -> str:
    """The sentence saying the change was not made and what the record's lifecycle allows, or
    "" when the change was made (or was never reached for another reason)."""
    made = {step.tool for step, _ in p.calls}
    wanted = next((s.tool for s in p.intent.plan if s.tool in CHANGES), None)
    if wanted is None or wanted in made:
        return ""
    kind, read, verb, _ = CHANGES[wanted]
    found = p.result(read)
    if read not in made or not isinstance(found, dict) or not found.get("status"):
        return ""
    status = str(found["status"])
    name = _NAMES[kind]
    nexts = [s for s in next_statuses(kind, status) if s != status]
    if wanted == "release_order":
        rule = "only an order on hold can be taken off hold"
    elif nexts:
        shown = [words(n) for n in nexts]
        either = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]
        rule = f"from {words(status)} it can only become {either}"
    else:
        rule = f"a {words(status)} {name} is closed: nothing more can happen to it"
    return (
        f"Nothing was changed: {name} {found.get(_IDS[kind])} is {words(status)}, so it cannot "
        f"be {verb} ({rule})."
    )
