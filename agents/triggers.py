"""Runs with no one present: a critical anomaly, a supplier delay or a customer inquiry each
start the team on a thread of its own (`incident-<event_id>`), once per event.

Such a run acts under the `automation` role (`tools.accounts.permissions`): it reads, records
findings and tells the staff, and whatever else it would write becomes an approval request, so
the text of an inquiry or a supplier's note can at most ask a person. What a run nobody started
writes starts no further run, and runs are limited per entity (a machine, a purchase order, a
customer): at most `TITAN_EVENT_RUN_LIMIT` per `TITAN_EVENT_RUN_WINDOW` of plant time, with a
second event for the same entity and kind inside the window's first minutes taken as a
duplicate. What is dropped is logged (once per entity and window) and counted.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from psycopg.conninfo import make_conninfo

from agents.runtime import Agents, ChatResult
from tools.accounts.permissions import Holder
from tools.core import clock
from tools.core.errors import TitanError
from tools.core.events import Event
from tools.core.settings import get_settings

log = logging.getLogger(__name__)

TRIGGER_USER = "titan-events"
TRIGGER_ROLE: Holder = "automation"
THREAD_PREFIX = "incident-"
TRIGGERS = ("sensor.anomaly", "purchase_order.delayed", "inquiry.created")
APPLICATION_NAME = "titan-triggers"
DUPLICATE_WITHIN = timedelta(minutes=10)

# Why an event started no run (the label of titan_event_runs_dropped_total).
Dropped = Callable[[Event, str], None]


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
    return f"{THREAD_PREFIX}{event.event_id}"


def made_by_a_run_nobody_started(event: Event) -> bool:
    """Whether a run that an event started wrote `event` (it then starts no run of its own)."""
    thread = event.payload.get("thread_id")
    actor = event.payload.get("actor")
    return (isinstance(thread, str) and thread.startswith(THREAD_PREFIX)) or (
        isinstance(actor, str) and actor.endswith(f":{TRIGGER_USER}")
    )


def subject_of(event: Event) -> str:
    """The entity a run for `event` is about, which the limit counts per."""
    p = event.payload
    if event.type == "sensor.anomaly":
        return f"machine:{p.get('machine_id')}"
    if event.type == "purchase_order.delayed":
        return f"purchase_order:{p.get('po_id') or event.entity_id}"
    if event.type == "inquiry.created":
        return f"customer:{p.get('customer_id')}"
    return f"{event.entity_type}:{event.entity_id}"


@dataclass
class RunLimiter:
    """Which events may start a run: at most `limit` per entity within `window` (plant time),
    and not the same kind of event for the same entity again within `duplicate_within`."""

    limit: int
    window: timedelta
    duplicate_within: timedelta = DUPLICATE_WITHIN
    started: dict[str, deque[tuple[datetime, str]]] = field(default_factory=dict)
    warned: dict[str, datetime] = field(default_factory=dict)

    def admit(self, event: Event, at: datetime) -> str | None:
        """None when `event` may start a run (and it is counted), else why not."""
        subject = subject_of(event)
        runs = self.started.setdefault(subject, deque())
        while runs and at - runs[0][0] >= self.window:
            runs.popleft()
        if any(kind == event.type and at - when < self.duplicate_within for when, kind in runs):
            return self._drop(subject, "duplicate", at, event)
        if len(runs) >= self.limit:
            return self._drop(subject, "rate_limited", at, event)
        runs.append((at, event.type))
        return None

    def _drop(self, subject: str, reason: str, at: datetime, event: Event) -> str:
        last = self.warned.get(subject)
        if last is None or at - last >= self.window:
            self.warned[subject] = at
            log.warning(
                "event %s (%s) starts no run for %s: %s (at most %d runs per %s per entity, "
                "no repeat of one kind within %s); further drops for it are counted in "
                "titan_event_runs_dropped_total",
                event.event_id, event.type, subject, reason.replace("_", " "), self.limit,
                self.window, self.duplicate_within,
            )  # fmt: skip
        return reason


async def run_for_event(agents: Agents, event: Event) -> ChatResult | None:
    """Start the run `event` calls for, once: a second call returns the thread as it stands."""
    request = request_for(event)
    if request is None:
        return None
    return await agents.ask(
        request, thread_for(event), user=TRIGGER_USER, role=TRIGGER_ROLE, new_only=True
    )


async def follow_events(
    agents: Agents,
    url: str,
    *,
    listening: asyncio.Event | None = None,
    dropped: Dropped | None = None,
    limiter: RunLimiter | None = None,
) -> None:
    """Start the runs committed events call for, as they arrive, until cancelled.

    One run at a time, in event order; a run that fails is logged and the next event is taken.
    `listening` is set once events are being listened for; `dropped` hears of each event that
    would have started a run but did not, and why (`by_a_run`, `duplicate`, `rate_limited`).
    """
    from tools.core import db, events

    settings = get_settings()
    limits = limiter or RunLimiter(settings.event_run_limit, settings.event_run_window)
    url = make_conninfo(url, application_name=APPLICATION_NAME)  # named in pg_stat_activity
    async with events.subscribe(url) as subscription, db.connection(url) as conn:
        if listening is not None:
            listening.set()
        async for notice in subscription:
            if notice.type not in TRIGGERS:
                continue
            (event,) = await events.fetch(conn, [notice.event_id]) or (None,)
            await conn.commit()
            if event is None or request_for(event) is None:
                continue
            reason = "by_a_run" if made_by_a_run_nobody_started(event) else None
            reason = reason or limits.admit(event, clock.now())
            if reason is not None:
                if reason == "by_a_run":
                    log.info("event %s was written by a run nobody started: no run", notice)
                if dropped is not None:
                    dropped(event, reason)
                continue
            try:
                await run_for_event(agents, event)
            except TitanError as exc:
                log.warning("the run for event %s (%s) failed: %s", event.event_id, event.type, exc)
