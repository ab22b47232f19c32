"""Which specialists a request needs, and in which order, by keywords and named entities."""

from __future__ import annotations

import re

from agents.offline.entities import Entities, extract

AGENTS: tuple[str, ...] = (
    "maintenance",
    "inventory",
    "logistics",
    "scheduler",
    "governance",
    "communications",
)
# Work flows from the shop floor to the customer: a machine's state decides the parts needed,
# stock decides what ships, shipping and capacity decide the date, and messages go out last.
PIPELINE = AGENTS

KEYWORDS: dict[str, tuple[str, ...]] = {
    "maintenance": (
        "vibrat",
        "anomal",
        "machine",
        "bearing degradation",
        "failure",
        "failing",
        "predict",
        "work order",
        "maintenance",
        "repair",
        "health",
        "oee",
        "sensor",
        "threshold",
        "fault",
        "overheat",
        "temperature",
        "incident",
        "downtime",
        "breakdown",
        "broken",
    ),
    "inventory": (
        "stock",
        "inventory",
        "spare",
        "parts",
        "bearing",
        "reorder",
        "purchase order",
        "reserve",
        "supplier",
        "product",
        "alternative",
        "shortage",
        "short",
        "restock",
        "validate",
        "hold order",
        "put on hold",
        "cancel order",
        "cancel ord",
        "new order",
        "create an order",
        "create order",
        "rush order",
        "place an order",
        "on hand",
        "po ",
        "pos ",
        "purchase",
    ),
    "logistics": (
        "shipment",
        "shipping",
        "ship ",
        "carrier",
        "track",
        "deliver",
        "in transit",
        "label",
        "pickup",
        "pick up",
        "freight",
        "transit",
    ),
    "scheduler": (
        "schedule",
        "make the date",
        "due date",
        "on time",
        "capacity",
        "bottleneck",
        "overtime",
        "queue",
        "late",
        "re-plan",
        "replan",
        "plan production",
        "load",
        "make it",
        "meet the date",
        "promise",
    ),
    "governance": (
        "audit",
        "trace",
        "compliance",
        "compliant",
        "certificate",
        "faa",
        "lineage",
        "data quality",
        "table",
        "who changed",
        "history of",
        "traceability",
        "batch",
    ),
    "communications": (
        "notify",
        "tell ",
        "inform",
        "message",
        "email",
        "inquiry",
        "inquiries",
        "reply",
        "let ",
        "alert",
        "notification",
        "apolog",
        "answer the customer",
        "write to",
    ),
}

_INCIDENT = re.compile(r"\bincident\b", re.IGNORECASE)


def _hits(text: str, agent: str) -> bool:
    lowered = f" {text.lower()} "
    return any(word in lowered for word in KEYWORDS[agent])


def _by_entities(found: Entities, text: str) -> set[str]:
    needed: set[str] = set()
    lowered = text.lower()
    if found.machines or found.work_orders:
        needed.add("maintenance")
    if found.skus or found.purchase_orders or found.suppliers:
        needed.add("inventory")
    if found.shipments or found.tracking_numbers:
        needed.add("logistics")
    if found.inquiries:
        needed.add("communications")
    if found.batches:
        needed.add("governance")
    if found.orders and not needed and not any(_hits(text, a) for a in AGENTS):
        needed.add("inventory")
    if found.customers and "order" in lowered and not any(_hits(text, a) for a in AGENTS):
        needed.add("logistics")
    if "where" in lowered and (found.orders or found.customers or "order" in lowered):
        needed.add("logistics")
    return needed


def route(text: str) -> list[str]:
    """The specialists `text` needs, in pipeline order; empty when it is out of Titan's scope."""
    found = extract(text)
    needed = {agent for agent in AGENTS if _hits(text, agent)} | _by_entities(found, text)
    if _INCIDENT.search(text) and found.machines:
        needed |= {"maintenance", "inventory", "communications"}
    if "bearing" in text.lower() and found.machines:
        needed.add("maintenance")
    return [agent for agent in PIPELINE if agent in needed]
