"""Runs with no one present: a critical anomaly, a supplier delay or a customer inquiry each
start the team on a thread of its own (`incident-<event_id>`), once per event."""

from __future__ import annotations

import asyncio
import logging

from agents.runtime import Agents, ChatResult
from tools.core.errors import TitanError
from tools.core.events import Event

log = logging.getLogger(__name__)

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
            f"List {p.get('supplier_id')}'s open purchase orders, show the stock levels of "
            f"{p.get('sku')} at {p.get('facility_id')}, and tell purchasing that purchase order "
            f"{p.get('po_id')} for {p.get('quantity')} × {p.get('sku')} is delayed until "
            f"{p.get('expected_at')}."
        )
    if event.type == "inquiry.created":
        return f"Answer the new customer inquiry {event.entity_id} from {p.get('customer_id')}."
    return None


def thread_for(event: Event) -> str:
    return f"incident-{event.event_id}"


async def run_for_event(agents: Agents, event: Event) -> ChatResult | None:
    """Start the run `event` calls for, once: a second call returns the thread as it stands."""
    request = request_for(event)
    if request is None:
        return None
    return await agents.ask(request, thread_for(event), user=TRIGGER_USER, new_only=True)


async def follow_events(
    agents: Agents, url: str, *, listening: asyncio.Event | None = None
) -> None:
    """Start the runs committed events call for, as they arrive, until cancelled.

    One run at a time, in event order; a run that fails is logged and the next event is taken.
    `listening` is set once events are being listened for.
    """
    from tools.core import db, events

    async with events.subscribe(url) as subscription, db.connection(url) as conn:
        if listening is not None:
            listening.set()
        async for notice in subscription:
            if notice.type not in TRIGGERS:
                continue
            (event,) = await events.fetch(conn, [notice.event_id]) or (None,)
            await conn.commit()
            if event is None:
                continue
            try:
                await run_for_event(agents, event)
            except TitanError as exc:
                log.warning("the run for event %s (%s) failed: %s", event.event_id, event.type, exc)
