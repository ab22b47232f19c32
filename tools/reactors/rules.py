"""Reactors: automations that answer events, each exactly once.

    order.created            → order confirmation to the customer; the order validated against
                               its contract (CREATED → VALIDATED), or put ON_HOLD with every
                               broken term as the reason
    order.validated          → contract-terms reminder to planning and quality, when the
                               customer has compliance requirements or the order is a rush
    shipment.created         → tracking-number notice
    shipment.picked_up       → in-transit notice
    shipment.delayed         → apology with the new ETA
    shipment.delivered       → delivery confirmation and feedback request; the order is
                               completed once all its shipments are in
    sensor.anomaly           → maintenance alert; a work order when the anomaly is CRITICAL
                               and the machine has no open fault work order
    stock.low                → planner alert, and a purchase order: suggested (an event and a
                               notice) or raised (TITAN_REACTOR_AUTO_PURCHASE), unless open
                               purchase orders already cover the gap
    approval.requested       → the plant manager is told a request waits, who decides, how
    machine.down             → failover: the machine's queued work re-planned elsewhere, as a
                               reschedule proposal (`tools.reactors.failover`)

A reactor claims `(event, reactor)` in `reactor_runs` in the same transaction as its effects,
so an event handled twice, or by two processes at once, produces nothing twice. Events are read
from a window behind the newest handled one, so an event whose transaction committed late is
still seen.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tools.communications import notifications as communications
from tools.core import clock, events
from tools.core.db import AsyncConn
from tools.core.errors import TitanError, ValidationError
from tools.core.operations import Actor, atomic
from tools.core.settings import Settings, get_settings

log = logging.getLogger(__name__)

REACTOR = Actor(type="reactor", id="reactors")
# How far behind the newest handled event to look for events that committed late.
LOOKBACK_EVENTS = 5000

Handler = Callable[[AsyncConn, events.Event, Settings], Awaitable[str]]


@dataclass(frozen=True)
class Reactor:
    name: str
    event_type: str
    handle: Handler


class Skip(Exception):
    """A reactor that has nothing to do for this event (recorded as SKIPPED with the reason)."""


async def _notify(conn: AsyncConn, event: events.Event, settings: Settings) -> str:
    sent = await communications.notify_for_event(conn, REACTOR, event)
    return f"{len(sent)} notification(s)"


async def _validate(conn: AsyncConn, event: events.Event, settings: Settings) -> str:
    from tools.orders.orders import get_order, validate_order
    from tools.orders.progress import hold_order

    if event.entity_id is None:
        raise Skip("the event names no order")
    order = await get_order(conn, event.entity_id)
    if order.status != "CREATED":
        raise Skip(f"order {order.order_id} is {order.status} already")
    try:
        async with atomic(conn):
            await validate_order(conn, REACTOR, order.order_id)
    except ValidationError as refused:
        why = str(refused).removesuffix("; hold or cancel it")
        held = await hold_order(conn, REACTOR, order.order_id, reason=why[:500])
        return f"order {held.order_id} ON_HOLD: {why}"
    return f"order {order.order_id} VALIDATED"


async def _failover(conn: AsyncConn, event: events.Event, settings: Settings) -> str:
    from tools.reactors.failover import propose_failover

    done = await propose_failover(conn, event)
    if done is None:
        raise Skip(f"no work of the schedule in force is queued on {event.entity_id}")
    return done


async def _terms_reminder(conn: AsyncConn, event: events.Event, settings: Settings) -> str:
    cur = await conn.execute(
        "select o.is_rush, exists (select 1 from customer_compliance c "
        "where c.customer_id = o.customer_id) as has_terms from orders o where order_id = %s",
        (event.entity_id,),
    )
    row = await cur.fetchone()
    if row is None or not (row["is_rush"] or row["has_terms"]):
        raise Skip("no special contract terms")
    return await _notify(conn, event, settings)


async def _delivered(conn: AsyncConn, event: events.Event, settings: Settings) -> str:
    from tools.orders.progress import complete_order_if_delivered

    done = await _notify(conn, event, settings)
    order_id = event.payload.get("order_id")
    if isinstance(order_id, str):
        completed = await complete_order_if_delivered(conn, REACTOR, order_id)
        if completed is not None:
            return f"{done}; order {order_id} {completed.status}"
    return done


async def _anomaly(conn: AsyncConn, event: events.Event, settings: Settings) -> str:
    from tools.maintenance.work_orders import open_work_order_for_anomaly

    done = await _notify(conn, event, settings)
    if event.payload.get("severity") != "CRITICAL" or event.entity_id is None:
        return done
    opened = await open_work_order_for_anomaly(conn, REACTOR, anomaly_id=int(event.entity_id))
    verb = "opened" if opened.created else "already open:"
    return f"{done}; work order {verb} {opened.work_order.work_order_id}"


async def _stock_low(conn: AsyncConn, event: events.Event, settings: Settings) -> str:
    from tools.reactors.purchasing import answer_low_stock

    done = await _notify(conn, event, settings)
    answer = await answer_low_stock(
        conn, REACTOR, event, auto_purchase=settings.reactor_auto_purchase
    )
    return f"{done}; {answer}"


REACTORS: tuple[Reactor, ...] = (
    Reactor("order_confirmation", "order.created", _notify),
    Reactor("order_validation", "order.created", _validate),
    Reactor("contract_terms_reminder", "order.validated", _terms_reminder),
    Reactor("tracking_notice", "shipment.created", _notify),
    Reactor("in_transit_notice", "shipment.picked_up", _notify),
    Reactor("delay_apology", "shipment.delayed", _notify),
    Reactor("delivery_follow_up", "shipment.delivered", _delivered),
    Reactor("maintenance_response", "sensor.anomaly", _anomaly),
    Reactor("low_stock_response", "stock.low", _stock_low),
    Reactor("approval_notice", "approval.requested", _notify),
    Reactor("failover", "machine.down", _failover),
)
EVENT_TYPES = sorted({r.event_type for r in REACTORS})


async def _claim(conn: AsyncConn, event: events.Event, reactor: Reactor) -> bool:
    cur = await conn.execute(
        "insert into reactor_runs (event_id, reactor, outcome, handled_at) "
        "values (%s, %s, 'DONE', %s) on conflict do nothing returning event_id",
        (event.event_id, reactor.name, clock.now()),
    )
    return await cur.fetchone() is not None


async def _finish(
    conn: AsyncConn, event: events.Event, reactor: Reactor, outcome: str, detail: str
) -> None:
    await conn.execute(
        "update reactor_runs set outcome = %s, detail = %s where event_id = %s and reactor = %s",
        (outcome, detail[:500], event.event_id, reactor.name),
    )


async def react(
    conn: AsyncConn, event: events.Event, *, settings: Settings | None = None
) -> dict[str, str]:
    """Run every reactor for `event` that has not handled it yet; returns reactor → outcome.
    `settings` (the process's when None) say how the reactors answer.

    Each reactor runs in its own transaction (or savepoint) with its claim: a failure is
    recorded as FAILED with the reason and is not retried; it does not stop the others.
    """
    settings = settings or get_settings()
    outcomes: dict[str, str] = {}
    for reactor in (r for r in REACTORS if r.event_type == event.type):
        try:
            async with atomic(conn):
                if not await _claim(conn, event, reactor):
                    continue
                try:
                    async with atomic(conn):
                        detail = await reactor.handle(conn, event, settings)
                    outcome = "DONE"
                except Skip as skip:
                    outcome, detail = "SKIPPED", str(skip)
                except TitanError as exc:
                    log.warning(
                        "reactor %s failed on event %s: %s", reactor.name, event.event_id, exc
                    )
                    outcome, detail = "FAILED", str(exc)
                await _finish(conn, event, reactor, outcome, detail)
                outcomes[reactor.name] = f"{outcome}: {detail}"
        except TitanError as exc:  # the claim itself failed (the event vanished, say)
            log.warning(
                "reactor %s could not claim event %s: %s", reactor.name, event.event_id, exc
            )
    return outcomes


async def process_pending(
    conn: AsyncConn, *, limit: int = 500, settings: Settings | None = None
) -> int:
    """Handle committed events that reactors have not handled yet, oldest first; returns how
    many events were looked at."""
    async with conn.transaction():  # leaves no read transaction open between reactions
        cur = await conn.execute(
            "select e.event_id, e.type, e.source, e.entity_type, e.entity_id, e.payload, "
            "e.occurred_at from event_log e "
            "where e.type = any(%(types)s) and e.event_id > "
            "(select coalesce(max(event_id), 0) from reactor_runs) - %(lookback)s "
            "and not exists (select 1 from reactor_runs r where r.event_id = e.event_id) "
            "order by e.event_id limit %(limit)s",
            {"types": EVENT_TYPES, "lookback": LOOKBACK_EVENTS, "limit": limit},
        )
        pending = [events.Event.model_validate(row) for row in await cur.fetchall()]
    settings = settings or get_settings()
    for event in pending:
        await react(conn, event, settings=settings)
    return len(pending)
