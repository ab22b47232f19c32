"""Runs with no one present: a critical anomaly, a supplier delay or a customer inquiry each
start the team on a thread of its own (`incident-<event_id>`), once per event."""

from __future__ import annotations

from agents.runtime import Agents, ChatResult
from tools.events import Event

TRIGGER_USER = "titan-events"
TRIGGERS = ("sensor.anomaly", "purchase_order.delayed", "inquiry.created")


def request_for(event: Event) -> str | None:
    """The request an event starts, or None when the event starts no run."""
    p = event.payload
    if event.type == "sensor.anomaly":
        if p.get("severity") != "CRITICAL":
            return None
        return (
            f"Incident: a CRITICAL {p.get('kind', '')} anomaly of {p.get('sensor', '')} on "
            f"{p.get('machine_id')} (anomaly {event.entity_id}). Handle the incident: diagnose "
            f"the machine, open a work order, check the spare parts and tell the plant manager."
        )
    if event.type == "purchase_order.delayed":
        return (
            f"Supplier delay: purchase order {p.get('po_id')} from {p.get('supplier_id')} for "
            f"{p.get('quantity')} × {p.get('sku')} at {p.get('facility_id')} is delayed until "
            f"{p.get('expected_at')}. Check the supplier's purchase orders and stock of "
            f"{p.get('sku')} at {p.get('facility_id')}, and tell purchasing."
        )
    if event.type == "inquiry.created":
        return (
            f"A customer inquiry {event.entity_id} arrived from {p.get('customer_id')}. Read "
            f"inquiry {event.entity_id} and answer it for approval."
        )
    return None


def thread_for(event: Event) -> str:
    return f"incident-{event.event_id}"


async def run_for_event(agents: Agents, event: Event) -> ChatResult | None:
    """Start the run `event` calls for, once: a second call returns the thread as it stands."""
    request = request_for(event)
    if request is None:
        return None
    return await agents.ask(request, thread_for(event), user=TRIGGER_USER, new_only=True)
