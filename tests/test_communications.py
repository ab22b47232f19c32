"""Notifications: rendered per event type, addressed by role or customer, delivered, logged."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from tools.communications import notifications as comms
from tools.communications import templates
from tools.core import db, events
from tools.core.clock import FixedClock
from tools.core.errors import InvalidTransitionError, NotFoundError, ValidationError
from tools.core.operations import Actor
from tools.governance import traceability

REACTOR = Actor(type="reactor", id="notifier")
PLANNER = Actor(type="user", id="planner", thread_id="thread-7")


async def count(conn: db.AsyncConn, query: str, *params: object) -> int:
    cur = await conn.execute(query, params)  # type: ignore[arg-type]
    row = await cur.fetchone()
    return int(row["n"]) if row else 0


async def emit(conn: db.AsyncConn, type: str, entity_type: str, entity_id: str) -> events.Event:
    async with conn.transaction():
        return await events.emit(
            conn, type, source="simulator", entity_type=entity_type, entity_id=entity_id
        )


async def order_of(conn: db.AsyncConn, customer_id: str, status: str) -> str:
    cur = await conn.execute(
        "select order_id from orders where customer_id = %s and status = %s order by order_id",
        (customer_id, status),
    )
    row = await cur.fetchone()
    assert row is not None
    return str(row["order_id"])


@pytest.mark.anyio
async def test_an_order_created_event_sends_the_confirmation_to_the_customer_contact(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    order_id = await order_of(plant, "BOEING", "CREATED")
    event = await emit(plant, "order.created", "order", order_id)

    sent = await comms.notify_for_event(plant, REACTOR, event)

    assert len(sent) == 1
    note = sent[0]
    assert (note.recipient, note.channel, note.status) == (
        "supplier.orders@boeing.example",
        "EMAIL",
        "PENDING",
    )
    assert note.subject == f"Order {order_id} received: confirmation"
    assert "The Boeing Company" in note.body and "SKU-TB-2001" in note.body
    assert "AS9100, FAA_8130_3, MATERIAL_CERT" in note.body
    assert (note.event_type, note.template, note.source_event_id) == (
        "order.created",
        "order.created",
        event.event_id,
    )
    assert (note.entity_type, note.entity_id, note.created_at) == (
        "order",
        order_id,
        fixed_clock.now(),
    )
    created = await events.since(plant, event.event_id, type_prefix="notification.")
    assert [(e.type, e.payload["order_id"]) for e in created] == [
        ("notification.created", order_id)
    ]
    audited = "select count(*) as n from audit_log where entity_type = 'notification'"
    assert await count(plant, audited) == 1


@pytest.mark.anyio
async def test_an_event_handled_twice_notifies_once(plant: db.AsyncConn) -> None:
    event = await emit(plant, "shipment.delivered", "shipment", "SHP-7001")

    first = await comms.notify_for_event(plant, REACTOR, event)
    again = await comms.notify_for_event(plant, REACTOR, event)

    assert again == first
    assert [n.template for n in first] == ["shipment.delivered", "shipment.delivered+feedback"]
    assert await count(plant, "select count(*) as n from notifications") == 2
    assert await count(plant, "select count(*) as n from audit_log") == 2
    report = await traceability.order_traceability(plant, "ORD-10001")
    assert [e.type for e in report.events] == ["shipment.delivered"] + ["notification.created"] * 2


@pytest.mark.anyio
async def test_a_reactor_may_send_one_template_of_an_event(plant: db.AsyncConn) -> None:
    event = await emit(plant, "shipment.delivered", "shipment", "SHP-7001")

    sent = await comms.notify_for_event(
        plant, REACTOR, event, template="shipment.delivered+feedback"
    )

    assert [n.subject for n in sent] == ["How did we do on order ORD-10001?"]


@pytest.mark.anyio
async def test_a_staff_role_goes_to_its_directory_else_its_users_else_its_shared_inbox(
    plant: db.AsyncConn,
) -> None:
    async def planners() -> list[tuple[str, str]]:
        found = await comms.recipients_for_role(plant, "planner", facility_id="PHX")
        return [(r.address, r.channel) for r in found]

    assert await planners() == [("role:planner", "IN_APP")]

    await plant.execute(
        "insert into users (user_id, display_name, email, role) values "
        "('mia', 'Mia Planner', 'mia@titan.example', 'production_manager'), "
        "('op1', 'An Operator', 'op1@titan.example', 'operator')"
    )
    await plant.commit()
    assert await planners() == [("mia@titan.example", "EMAIL")]

    entry = comms.RoleRecipient(
        role="planner", channel="SLACK", address="#phx-planning", facility_id="PHX"
    )
    await comms.assign_role_recipient(plant, PLANNER, entry)
    munich = comms.RoleRecipient(
        role="planner", channel="EMAIL", address="muc@titan.example", facility_id="MUC"
    )
    await comms.assign_role_recipient(plant, PLANNER, munich)
    assert await planners() == [("#phx-planning", "SLACK")]
    assert await comms.role_directory(plant, "planner") == [munich, entry]

    await comms.remove_role_recipient(
        plant, PLANNER, "planner", channel="SLACK", address="#phx-planning"
    )
    assert await planners() == [("mia@titan.example", "EMAIL")]


@pytest.mark.anyio
async def test_a_low_stock_alert_goes_to_planning_and_purchasing(plant: db.AsyncConn) -> None:
    sent = await comms.notify(
        plant, REACTOR, "stock.low", entity_type="stock_level", entity_id="SKU-BRG-7014@PHX"
    )

    assert sorted(n.recipient for n in sent) == ["role:planner", "role:purchasing"]
    assert {n.severity for n in sent} == {"WARNING"}
    assert sent[0].subject.startswith("Low stock: SKU-BRG-7014 at PHX")
    assert "Reorder point: 4" in sent[0].body


@pytest.mark.anyio
async def test_an_anomaly_alert_carries_the_anomaly_severity_to_maintenance(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    cur = await plant.execute(
        "insert into anomalies (machine_id, sensor, kind, severity, value, threshold, "
        "detected_at, description) values ('PHX-CNC-007', 'vibration', 'THRESHOLD', 'CRITICAL', "
        "7.4, 6.3, %s, 'spindle bearing vibration above the critical zone') "
        "returning anomaly_id",
        (fixed_clock.now(),),
    )
    row = await cur.fetchone()
    assert row is not None
    await plant.commit()

    sent = await comms.notify(
        plant, REACTOR, "sensor.anomaly", entity_type="anomaly", entity_id=str(row["anomaly_id"])
    )

    assert [(n.recipient, n.severity) for n in sent] == [("role:maintenance_lead", "CRITICAL")]
    assert sent[0].subject == "CRITICAL: vibration anomaly on PHX-CNC-007 (PHX)"
    assert "Reading: 7.4 (threshold 6.3)" in sent[0].body


@pytest.mark.anyio
async def test_a_delay_apology_gives_the_reason_and_the_new_eta_from_the_event(
    plant: db.AsyncConn,
) -> None:
    cur = await plant.execute("select shipment_id from shipments where status = 'DELAYED'")
    row = await cur.fetchone()
    assert row is not None

    [preview] = await comms.preview(
        plant,
        "shipment.delayed",
        entity_type="shipment",
        entity_id=row["shipment_id"],
        fields={"eta": "2026-03-05T12:00:00+00:00", "reason": None},
    )

    assert preview.rendered.subject.endswith("new ETA 2026-03-05")
    assert "New estimated arrival: 2026-03-05 12:00 UTC" in preview.rendered.body
    assert "Reason given by the carrier: n/a" not in preview.rendered.body
    assert [r.address for r in preview.recipients] == ["supplychain@rivian.example"]
    assert await count(plant, "select count(*) as n from notifications") == 0


@pytest.mark.parametrize(
    ("event_type", "entity_type", "entity_id"),
    [
        ("order.created", "order", "ORD-10020"),
        ("order.validated", "order", "ORD-10017"),
        ("shipment.created", "shipment", "SHP-7003"),
        ("shipment.picked_up", "shipment", "SHP-7003"),
        ("shipment.delayed", "shipment", "SHP-7006"),
        ("shipment.delivered", "shipment", "SHP-7001"),
        ("sensor.anomaly", "machine", "PHX-CNC-007"),
        ("work_order.created", "work_order", "WO-3001"),
        ("stock.low", "stock_level", "SKU-BRG-7014@PHX"),
        ("purchase_order.delayed", "purchase_order", "PO-5003"),
        ("inquiry.answered", "inquiry", "INQ-9003"),
    ],
)
@pytest.mark.anyio
async def test_every_shipped_template_renders_for_its_entity_in_the_demo_plant(
    plant: db.AsyncConn, event_type: str, entity_type: str, entity_id: str
) -> None:
    fields = {"severity": "WARNING"} if entity_type == "machine" else None
    previews = await comms.preview(
        plant, event_type, entity_type=entity_type, entity_id=entity_id, fields=fields
    )

    assert previews
    for p in previews:
        assert "$" not in p.rendered.subject + p.rendered.body
        assert p.recipients


def test_every_event_type_a_reactor_answers_has_a_template() -> None:
    names = templates.available()
    for event_type in (
        "order.created",
        "order.validated",
        "shipment.created",
        "shipment.picked_up",
        "shipment.delayed",
        "shipment.delivered",
        "sensor.anomaly",
        "stock.low",
    ):
        assert templates.for_event(event_type), event_type
    assert "shipment.delivered+feedback" in names


def test_a_template_with_a_field_its_entity_lacks_fails_naming_the_field() -> None:
    template = templates.parse(
        "order.created", "Subject: Order $order_id\nTo: customer\n\nDue on $delivery_window.\n"
    )

    with pytest.raises(ValidationError, match="needs field delivery_window.*fields available"):
        templates.render(template, {"order_id": "ORD-1", "entity_type": "order"})


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Subject: x\nTo: customer\nBody without a blank line", "blank line"),
        ("Subject: x\nCc: planner\n\nbody", "not one of Subject:, To:, Severity:"),
        ("Subject: x\n\nbody", "the to header is required"),
        ("Subject: x\nTo: janitor\n\nbody", "unknown audience janitor"),
        ("Subject: x\nTo: planner\nSeverity: LOUD\n\nbody", "not INFO, WARNING or CRITICAL"),
    ],
)
def test_a_malformed_template_is_refused_with_what_would_be_valid(text: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        templates.parse("order.created", text)


@pytest.mark.anyio
async def test_a_customer_template_for_an_entity_without_a_customer_is_refused_and_writes_nothing(
    plant: db.AsyncConn,
) -> None:
    with pytest.raises(ValidationError, match="needs field"):
        await comms.notify(
            plant, REACTOR, "order.created", entity_type="customer", entity_id="BOEING"
        )

    assert await count(plant, "select count(*) as n from notifications") == 0
    assert await count(plant, "select count(*) as n from audit_log") == 0


@pytest.mark.anyio
async def test_unknown_entities_event_types_and_templates_are_named_in_the_error(
    plant: db.AsyncConn,
) -> None:
    with pytest.raises(NotFoundError, match="no order 'ORD-99999'"):
        await comms.notify(
            plant, REACTOR, "order.created", entity_type="order", entity_id="ORD-99999"
        )
    with pytest.raises(
        NotFoundError, match="no notification template for event type.*order.created"
    ):
        await comms.notify(
            plant, REACTOR, "order.teleported", entity_type="order", entity_id="ORD-10001"
        )
    with pytest.raises(NotFoundError, match="no notification template 'order.gone'"):
        await comms.preview(
            plant,
            "order.created",
            entity_type="order",
            entity_id="ORD-10001",
            template="order.gone",
        )
    event = await emit(plant, "plant.checked", "order", "ORD-10001")
    anonymous = event.model_copy(update={"entity_type": None, "entity_id": None})
    with pytest.raises(ValidationError, match="names no entity"):
        await comms.notify_for_event(plant, REACTOR, anonymous)


@pytest.mark.anyio
async def test_delivery_runs_pending_sent_read_and_refuses_anything_else(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    message = comms.NewNotification(
        recipient="procurement@airbus.example",
        channel="EMAIL",
        subject="Drawing revision C",
        body="Please confirm revision C.",
        entity_type="order",
        entity_id="ORD-10023",
    )
    note = await comms.send_notification(plant, PLANNER, message)
    assert note.status == "PENDING"

    failed = await comms.mark_failed(plant, REACTOR, note.notification_id, "mailbox full")
    assert (failed.status, failed.failure_reason) == ("FAILED", "mailbox full")
    fixed_clock.advance(timedelta(minutes=5))
    sent = await comms.mark_sent(plant, REACTOR, note.notification_id)
    assert (sent.status, sent.sent_at, sent.failure_reason) == ("SENT", fixed_clock.now(), None)
    read = await comms.mark_read(plant, PLANNER, note.notification_id)
    assert (read.status, read.read_at) == ("READ", fixed_clock.now())

    with pytest.raises(
        InvalidTransitionError, match="is READ, a final status: it cannot become SENT"
    ):
        await comms.mark_sent(plant, REACTOR, note.notification_id)
    with pytest.raises(ValidationError, match="needs a reason"):
        await comms.mark_failed(plant, REACTOR, note.notification_id, "  ")
    with pytest.raises(NotFoundError, match="no notification 999999"):
        await comms.mark_read(plant, PLANNER, 999999)
    logged = await events.since(plant, 0, type_prefix="notification.")
    assert [e.type for e in logged] == [
        "notification.created",
        "notification.failed",
        "notification.sent",
        "notification.read",
    ]


@pytest.mark.anyio
async def test_a_pending_notification_cannot_be_read_before_it_is_sent(
    plant: db.AsyncConn,
) -> None:
    [note] = await comms.notify(
        plant, REACTOR, "order.created", entity_type="order", entity_id="ORD-10020"
    )

    with pytest.raises(
        InvalidTransitionError,
        match="PENDING and cannot become READ; from PENDING it can become SENT",
    ):
        await comms.mark_read(plant, PLANNER, note.notification_id)
    assert (await comms.get_notification(plant, note.notification_id)).status == "PENDING"


@pytest.mark.anyio
async def test_racing_senders_send_a_notification_once(plant: db.AsyncConn, db_url: str) -> None:
    [note] = await comms.notify(
        plant, REACTOR, "order.created", entity_type="order", entity_id="ORD-10020"
    )

    async def sender() -> str:
        async with db.connection(db_url) as conn:
            try:
                await comms.mark_sent(conn, REACTOR, note.notification_id)
            except InvalidTransitionError:
                return "refused"
            return "sent"

    outcomes = await asyncio.gather(*(sender() for _ in range(8)))

    assert sorted(outcomes) == ["refused"] * 7 + ["sent"]
    sent_events = "select count(*) as n from event_log where type = 'notification.sent'"
    assert await count(plant, sent_events) == 1


@pytest.mark.anyio
async def test_the_log_filters_by_recipient_entity_event_type_status_and_time(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    start = fixed_clock.now()
    await comms.notify(plant, REACTOR, "order.created", entity_type="order", entity_id="ORD-10020")
    fixed_clock.advance(timedelta(hours=1))
    later = await comms.notify(
        plant, REACTOR, "stock.low", entity_type="stock_level", entity_id="SKU-BRG-7014@PHX"
    )
    await comms.mark_sent(plant, REACTOR, later[0].notification_id)

    def query(**kw: object) -> comms.NotificationQuery:
        return comms.NotificationQuery.model_validate(kw)

    everything = await comms.list_notifications(plant, query())
    assert [n.event_type for n in everything] == ["stock.low", "stock.low", "order.created"]
    boeing = await comms.list_notifications(
        plant, query(recipient="supplier.orders@boeing.example")
    )
    assert [n.entity_id for n in boeing] == ["ORD-10020"]
    about = await comms.list_notifications(plant, query(entity_type="order", entity_id="ORD-10020"))
    assert len(about) == 1
    assert len(await comms.list_notifications(plant, query(event_type="stock.low"))) == 2
    assert len(await comms.list_notifications(plant, query(status="SENT"))) == 1
    first_hour = query(since=start, until=start + timedelta(minutes=30))
    assert [n.event_type for n in await comms.list_notifications(plant, first_hour)] == [
        "order.created"
    ]
    assert len(await comms.list_notifications(plant, query(limit=1))) == 1

    with pytest.raises(ValidationError, match="time range is empty"):
        await comms.list_notifications(plant, query(since=start, until=start))
    with pytest.raises(ValidationError, match="needs its entity_type"):
        await comms.list_notifications(plant, query(entity_id="ORD-10020"))


@pytest.mark.anyio
async def test_a_directory_entry_for_an_unknown_user_is_refused(plant: db.AsyncConn) -> None:
    entry = comms.RoleRecipient(
        role="plant_manager", channel="IN_APP", address="ghost", user_id="ghost"
    )

    with pytest.raises(NotFoundError, match="no user 'ghost'"):
        await comms.assign_role_recipient(plant, PLANNER, entry)
    with pytest.raises(NotFoundError, match="not in the directory"):
        await comms.remove_role_recipient(
            plant, PLANNER, "plant_manager", channel="IN_APP", address="ghost"
        )
    with pytest.raises(ValidationError, match="unknown staff role 'janitor'"):
        await comms.recipients_for_role(plant, "janitor")
    assert await comms.role_directory(plant) == []


def test_message_values_read_as_a_person_writes_them() -> None:
    at = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
    assert templates.display(at) == "2026-03-05 12:00 UTC"
    assert templates.display("2026-03-05T13:00:00+01:00") == "2026-03-05 12:00 UTC"
    assert templates.display(None) == "n/a"
    assert templates.display(True) == "yes"
