"""The event log: events reach listeners only once their transaction commits."""

from __future__ import annotations

import anyio
import pytest

from tools.core import db, events
from tools.core.clock import FixedClock


async def _next_notice(subscription: events.Subscription, *, within: float) -> events.EventNotice:
    with anyio.fail_after(within):
        async for notice in subscription:
            return notice
    raise AssertionError("the subscription ended")


@pytest.mark.anyio
async def test_an_event_reaches_a_listener_only_after_its_transaction_commits(
    db_url: str, fixed_clock: FixedClock
) -> None:
    async with events.subscribe(db_url) as subscription, db.connection(db_url) as conn:
        async with conn.transaction():
            written = await events.emit(
                conn,
                "order.created",
                source="user",
                entity_type="order",
                entity_id="ORD-10001",
                payload={"quantity": 5},
            )
            # Still inside the transaction: nothing may have been delivered yet.
            with pytest.raises(TimeoutError), anyio.fail_after(0.3):
                async for _ in subscription:
                    break

        notice = await _next_notice(subscription, within=5)

    assert notice == events.EventNotice(
        event_id=written.event_id,
        type="order.created",
        entity_type="order",
        entity_id="ORD-10001",
    )
    assert written.occurred_at == fixed_clock.now()


@pytest.mark.anyio
async def test_a_rolled_back_event_never_reaches_a_listener_nor_the_log(db_url: str) -> None:
    async with events.subscribe(db_url) as subscription, db.connection(db_url) as conn:
        tx = conn.transaction()
        with pytest.raises(RuntimeError):
            async with tx:
                await events.emit(conn, "stock.low", source="reactor", entity_id="SKU-X")
                raise RuntimeError("the change failed")
        async with conn.transaction():
            committed = await events.emit(conn, "stock.replenished", source="reactor")

        notice = await _next_notice(subscription, within=5)
        logged = await events.since(conn, 0)

    assert notice.type == "stock.replenished"
    assert [e.event_id for e in logged] == [committed.event_id]


@pytest.mark.anyio
async def test_a_subscription_filters_by_type_prefix(db_url: str) -> None:
    async with (
        events.subscribe(db_url, type_prefix="sensor.") as subscription,
        db.connection(db_url) as conn,
    ):
        async with conn.transaction():
            await events.emit(conn, "order.created", source="user")
            await events.emit(conn, "sensor.anomaly", source="simulator", entity_id="PHX-CNC-007")

        notice = await _next_notice(subscription, within=5)

    assert (notice.type, notice.entity_id) == ("sensor.anomaly", "PHX-CNC-007")


@pytest.mark.anyio
async def test_reading_the_log_since_an_id_returns_later_events_of_the_asked_type(
    conn: db.AsyncConn,
) -> None:
    async with conn.transaction():
        first = await events.emit(conn, "order.created", source="user", payload={"n": 1})
        await events.emit(conn, "shipment.delayed", source="simulator")
        third = await events.emit(conn, "order.validated", source="agent")

    later_orders = await events.since(conn, first.event_id, type_prefix="order.")

    assert [e.event_id for e in later_orders] == [third.event_id]
    assert (await events.fetch(conn, [first.event_id]))[0].payload == {"n": 1}


@pytest.mark.anyio
async def test_an_event_type_that_is_not_dotted_lower_case_is_refused(conn: db.AsyncConn) -> None:
    import psycopg

    with pytest.raises(psycopg.errors.CheckViolation, match="event_type_format"):
        async with conn.transaction():
            await events.emit(conn, "OrderCreated", source="user")
