"""The functions the catalogue's plans may call in their `{…}` templates and `when` conditions.

Each takes plain values (slots, tool results as parsed JSON) and returns a plain value; None in
gives None out, so a plan step that depends on a result not there yet is simply skipped.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from agents.offline import drafts, lifecycles
from agents.offline.catalogue import load_catalogue
from agents.offline.drafts import names_in_use
from agents.offline.expressions import function
from tools.core import clock

CLOSED_ORDER = {"COMPLETED", "CANCELLED", "DELIVERED"}
OPEN_WORK = {"OPEN", "SCHEDULED", "IN_PROGRESS"}


def _rows(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict) and isinstance(value.get("result"), list):
        value = value["result"]
    return [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []


@function
def pluck(rows: Any, key: str) -> list[Any] | None:
    """The `key` of every row, or None when there are no rows."""
    found = [r.get(key) for r in _rows(rows) if r.get(key) is not None]
    return found or None


@function
def hours_from_now(hours: float) -> str:
    """The plant time `hours` from now, ISO 8601."""
    return (clock.now() + timedelta(hours=hours)).isoformat()


@function
def pick_order(
    orders: Any, rush: str | None = None, state: str | None = None, period: Any = None
) -> dict[str, Any] | None:
    """The order a customer most likely means: their open order due soonest, else their
    latest — among their rush orders when a rush order is asked about, among those due in the
    weeks named ("the one due in April"), and among those in the state asked about ("did
    Boeing's order get delivered?") when there are such."""
    rows = _rows(orders)
    if isinstance(period, dict) and period.get("start") and period.get("end"):
        start, end = str(period["start"]), str(period["end"])
        if (datetime.fromisoformat(end) - datetime.fromisoformat(start)).days >= 7:
            rows = [
                r for r in rows if start[:10] <= str(r.get("due_at") or "")[:10] < end[:10]
            ] or rows
    if rush:
        rows = [r for r in rows if r.get("is_rush")] or rows
    if state:
        wanted = set(load_catalogue().values_of(state))
        if wanted & {"DELIVERED", "SHIPPED"}:
            wanted |= {"DELIVERED", "COMPLETED"}
        in_state = [r for r in rows if r.get("status") in wanted]
        if in_state:
            return sorted(in_state, key=lambda r: str(r.get("due_at") or ""), reverse=True)[0]
    open_rows = [r for r in rows if r.get("status") not in CLOSED_ORDER]
    chosen = sorted(open_rows, key=lambda r: str(r.get("due_at") or "")) or sorted(
        rows, key=lambda r: str(r.get("due_at") or ""), reverse=True
    )
    return chosen[0] if chosen else None


@function
def match_order(
    orders: Any, state: str | None, period: Any, category: str | None, division: str | None = None
) -> dict[str, Any] | None:
    """The one order of a customer's that fits what was said about it ("the one on hold", "the
    April blade order", "BMW's spares order"); None when none or several fit (then Titan asks
    which). Closed orders count only when their state is what was asked about."""
    rows = _rows(orders)
    if state:
        wanted = set(load_catalogue().values_of(state))
        rows = [r for r in rows if r.get("status") in wanted]
    elif len(rows) > 1:
        rows = [r for r in rows if r.get("status") not in CLOSED_ORDER] or rows
    if isinstance(period, dict) and period.get("start") and period.get("end"):
        start, end = str(period["start"]), str(period["end"])
        if (datetime.fromisoformat(end) - datetime.fromisoformat(start)).days >= 7:
            # "the April order", "due next month": a due date; "this morning" says when
            # something happened, not which order
            rows = [r for r in rows if start[:10] <= str(r.get("due_at") or "")[:10] < end[:10]]
    if division or category:
        names = names_in_use.get()
        key, kind = ("division_id", division) if division else ("category", category)

        def of_kind(row: dict[str, Any]) -> bool:
            for sku in row.get("skus") or []:
                entry = names.get("sku", sku) if names else None
                if entry is not None and entry.detail.get(key) == kind:
                    return True
            return False

        rows = [r for r in rows if of_kind(r)] or ([] if names else rows)
    return rows[0] if len(rows) == 1 else None


@function
def open_orders(orders: Any) -> list[dict[str, Any]]:
    return [r for r in _rows(orders) if r.get("status") not in CLOSED_ORDER]


@function
def open_work_order(work_orders: Any, fault: str | None = None) -> dict[str, Any] | None:
    """A repair already open on the machine (for `fault`, when given): the job goes on there
    rather than in a second work order."""
    for row in _rows(work_orders):
        if row.get("status") not in OPEN_WORK:
            continue
        if row.get("kind") not in ("CORRECTIVE", "PREDICTIVE"):
            continue
        if fault and row.get("fault_type") not in (None, fault):
            continue
        return row
    return None


@function
def critical(scan: Any) -> bool:
    findings = scan.get("findings", []) if isinstance(scan, dict) else []
    return any(f.get("severity") == "CRITICAL" for f in findings if isinstance(f, dict))


@function
def is_low(levels: Any) -> bool:
    """Whether the first stock level is at or below its reorder point."""
    rows = _rows(levels)
    if not rows:
        return False
    row = rows[0]
    return int(row.get("available") or 0) <= int(row.get("reorder_point") or 0)


@function
def best_supplier(alternatives: Any) -> dict[str, Any] | None:
    """The supplier to buy from: an active preferred one, else the active one that delivers
    soonest."""
    suppliers = alternatives.get("suppliers", []) if isinstance(alternatives, dict) else []
    active = [s for s in suppliers if isinstance(s, dict) and s.get("status") == "ACTIVE"]
    if not active:
        return None
    preferred = [s for s in active if s.get("is_preferred")]
    return min(preferred or active, key=lambda s: str(s.get("arrives_by") or "9999"))


@function
def offer(alternatives: Any, supplier: str | None) -> dict[str, Any] | None:
    """The named supplier's offer among the alternatives (its price and lead time)."""
    suppliers = alternatives.get("suppliers", []) if isinstance(alternatives, dict) else []
    for s in suppliers:
        if isinstance(s, dict) and s.get("supplier_id") == supplier:
            return s
    return None


@function
def order_quantity(levels: Any, supplier: Any) -> int | None:
    """What to order when stock is low: the level's reorder quantity, at least the supplier's
    minimum order."""
    rows = _rows(levels)
    if not rows:
        return None
    wanted = int(rows[0].get("reorder_quantity") or 1)
    minimum = int(supplier.get("min_order_qty") or 1) if isinstance(supplier, dict) else 1
    return max(wanted, minimum)


@function
def stock_delta(quantity: Any, kind: str | None, direction: str | None) -> int | None:
    """The signed units of a stock booking: scrap and consumption take out, production books
    in; a count correction goes the way the request says (or the quantity's sign)."""
    if quantity is None:
        return None
    units = int(Decimal(str(quantity)))
    if kind in ("SCRAP", "CONSUMPTION") or direction == "OUT":
        return -abs(units)
    if kind == "PRODUCTION" or direction == "IN":
        return abs(units)
    return units


@function
def count_delta(counted: Any, levels: Any) -> int | None:
    """The booking that makes the books show what a count found."""
    rows = _rows(levels)
    if counted is None or not rows:
        return None
    return int(Decimal(str(counted))) - int(rows[0].get("on_hand") or 0)


@function
def can_book(delta: Any, levels: Any) -> bool:
    """Whether a booking of `delta` units leaves the free stock the levels show at zero or above
    (a booking in always can)."""
    rows = _rows(levels)
    if delta is None or int(delta) >= 0 or not rows:
        return True
    return int(rows[0].get("available") or 0) + int(delta) >= 0


@function
def first_approval(audit: Any) -> str | None:
    """The approval behind the first audit entry that has one."""
    entries = audit.get("entries", []) if isinstance(audit, dict) else []
    for entry in entries:
        if isinstance(entry, dict) and entry.get("approval_id"):
            return str(entry["approval_id"])
    return None


@function
def product_words(text: str | None) -> str | None:
    """The words of a product search: the request without the asking around it."""
    if not text:
        return None
    words = [w for w in text.split() if w.lower() not in _SEARCH_NOISE]
    return " ".join(words[:4]) or None


_SEARCH_NOISE = {
    "what",
    "which",
    "do",
    "we",
    "make",
    "sell",
    "stock",
    "find",
    "products",
    "product",
    "with",
    "in",
    "the",
    "name",
    "list",
    "our",
    "show",
    "me",
    "search",
    "catalogue",
    "for",
    "lookup:",
    "are",
    "is",
    "of",
    "a",
    "an",
    "all",
    "?",
}


@function
def work_description(text: str | None, machine: str | None, fault: str | None) -> str:
    """A work order's description: what the person said, or the fault found."""
    if text and len(text) > 12:
        return text[:500]
    what = (fault or "a problem").replace("_", " ").lower()
    return f"{what} on {machine}"[:500]


@function
def incident_description(machine: str, diagnosis: Any, scan: Any) -> str:
    fault = diagnosis.get("fault_type") if isinstance(diagnosis, dict) else None
    findings = scan.get("findings", []) if isinstance(scan, dict) else []
    found = "; ".join(str(f.get("description")) for f in findings[:2] if isinstance(f, dict))
    what = (fault or "anomaly").replace("_", " ").lower()
    return f"{what.capitalize()} on {machine}" + (f": {found}" if found else "")


@function
def notice_event(
    event: str | None,
    shipment: str | None,
    order: str | None,
    machine: str | None,
    purchase_order: str | None,
) -> str | None:
    """The event a standard notice is about: the one named, else the usual one per entity."""
    if event:
        return event
    if shipment:
        return "shipment.delayed"
    if purchase_order:
        return "purchase_order.delayed"
    if machine:
        return "sensor.anomaly"
    if order:
        return "order.shipped"
    return None


@function
def can_move(order: Any, target: str) -> bool:
    """Whether the order's lifecycle lets it move to `target` from where it is now."""
    return bool(can_become(order, "order", target))


@function
def can_become(record: Any, kind: str, target: str | None) -> bool:
    """Whether a record (an order, shipment, work order or purchase order as its tool returned
    it) may move to `target` from the status it is in."""
    status = record.get("status") if isinstance(record, dict) else None
    return target is None or lifecycles.allows(kind, str(status) if status else None, target)


@function
def stock_key(sku: str | None, facility: str | None) -> str | None:
    """The ID of a stock level in notices: SKU@site."""
    if not sku:
        return None
    return f"{sku}@{facility}" if facility else sku


@function
def notice_entity(
    shipment: str | None, order: str | None, machine: str | None, purchase_order: str | None
) -> str | None:
    for kind, value in (
        ("shipment", shipment),
        ("purchase_order", purchase_order),
        ("machine", machine),
        ("order", order),
    ):
        if value:
            return kind
    return None


@function
def filter_value(value: str | None) -> str | None:
    """A vocabulary value as a tool's filter: a group ("any machine not running") is no filter
    at the tool, and the answer keeps the group's values."""
    if value is None or value in load_catalogue().groups:
        return None
    return value


@function
def the_one(rows: Any, *statuses: str) -> dict[str, Any] | None:
    """The only row (in one of `statuses`, when given), or None when there are none or several."""
    found = [r for r in _rows(rows) if not statuses or r.get("status") in statuses]
    return found[0] if len(found) == 1 else None


@function
def customer_address(customer: str | None) -> str | None:
    """Where a customer's messages go (their contact email), from the plant directory."""
    names = names_in_use.get()
    entry = names.get("customer", customer) if names and customer else None
    email = entry.detail.get("contact_email") if entry else None
    return str(email) if email else customer


@function
def entity_kind(
    order: Any, machine: Any, work_order: Any, purchase_order: Any, shipment: Any, inquiry: Any
) -> str | None:
    """The audit trail's name for the kind of the first thing named (a machine is equipment)."""
    for kind, value in (
        ("order", order),
        ("equipment", machine),
        ("work_order", work_order),
        ("purchase_order", purchase_order),
        ("shipment", shipment),
        ("inquiry", inquiry),
    ):
        if value:
            return kind
    return None


@function
def site_of(machine: str | None) -> str | None:
    names = names_in_use.get()
    entry = names.get("machine", machine) if names and machine else None
    return str(entry.facility) if entry and entry.facility else None


@function
def iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return None if value is None else str(value)


for _draft in (
    drafts.draft_customer_message,
    drafts.draft_delay_notice,
    drafts.draft_inquiry_reply,
    drafts.customer_subject,
    drafts.delay_subject,
    drafts.staff_subject,
    drafts.staff_body,
    drafts.inquiry_subject,
):
    function(_draft)
