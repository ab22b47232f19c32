"""Notifications: rendered from templates per event type, addressed by role or to the customer,
delivered (sent, failed, read) and kept as the communications log.

Reactors call `notify_for_event(conn, actor, event)`: every template of the event's type (see
`tools.communications.templates`) is filled in with the fields of the event's entity and payload,
and one PENDING notification is written per recipient: `customer` is the customer's contact email, a
staff role is whoever the `notification_roles` directory names for it (kept by
`assign_role_recipient` and `remove_role_recipient`, see
`tools.communications.templates.audiences`).

Delivery: PENDING → SENT | FAILED, FAILED → SENT | FAILED (a retry), SENT → READ.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, JsonValue

from tools.communications import templates
from tools.communications.templates.audiences import Channel, Recipient, addresses
from tools.communications.templates.audiences import RoleRecipient as RoleRecipient
from tools.communications.templates.audiences import assign_role_recipient as assign_role_recipient
from tools.communications.templates.audiences import recipients_for_role as recipients_for_role
from tools.communications.templates.audiences import remove_role_recipient as remove_role_recipient
from tools.communications.templates.audiences import role_directory as role_directory
from tools.communications.templates.fields import message_fields
from tools.core import clock, events
from tools.core.db import AsyncConn
from tools.core.errors import NotFoundError, ValidationError
from tools.core.lifecycle import Lifecycle
from tools.core.operations import Actor, atomic, idempotent, record

Status = Literal["PENDING", "SENT", "FAILED", "READ"]
STATUSES: tuple[Status, ...] = ("PENDING", "SENT", "FAILED", "READ")
# Delivery: a failed message may be retried (FAILED → SENT | FAILED); READ is final.
NOTIFICATION_LIFECYCLE: Lifecycle[Status] = Lifecycle(
    entity="notification",
    statuses=STATUSES,
    moves={
        "PENDING": frozenset({"SENT", "FAILED"}),
        "FAILED": frozenset({"SENT", "FAILED"}),
        "SENT": frozenset({"READ"}),
        "READ": frozenset(),
    },
)


class Notification(BaseModel):
    """One message to one recipient on one channel."""

    notification_id: int
    recipient: str
    channel: Channel
    severity: templates.Severity
    subject: str
    body: str
    status: Status
    entity_type: str | None
    entity_id: str | None
    event_type: str | None
    template: str | None
    source_event_id: int | None
    created_at: datetime
    sent_at: datetime | None
    read_at: datetime | None
    failure_reason: str | None


class NotificationBatch(BaseModel):
    """The notifications one event or request produced."""

    notifications: list[Notification]


class NewNotification(BaseModel):
    """A message written by hand (not from a template), e.g. an agent's reply to a customer."""

    recipient: str = Field(min_length=1, max_length=200)
    channel: Channel
    severity: templates.Severity = "INFO"
    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=10_000)
    entity_type: str | None = Field(default=None, max_length=40)
    entity_id: str | None = Field(default=None, max_length=100)


class NotificationQuery(BaseModel):
    """A filter over the communications log; every field narrows it."""

    recipient: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    event_type: str | None = None
    status: Status | None = None
    channel: Channel | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = Field(default=100, ge=1, le=1000)


class Preview(BaseModel):
    """A rendered template and who would receive it, before anything is written."""

    rendered: templates.Rendered
    recipients: list[Recipient]
    order_id: str | None = None  # the order the message is about, when there is one


_COLUMNS = """notification_id, recipient, channel, severity, subject, body, status, entity_type,
    entity_id, event_type, template, source_event_id, created_at, sent_at, read_at,
    failure_reason"""


# ───────────────────────── rendering and writing ─────────────────────────


async def preview(
    conn: AsyncConn,
    event_type: str,
    *,
    entity_type: str,
    entity_id: str,
    fields: Mapping[str, object] | None = None,
    template: str | None = None,
) -> list[Preview]:
    """The messages `notify` would write, and to whom, without writing anything."""
    chosen = [templates.load(template)] if template else templates.for_event(event_type)
    values = await message_fields(conn, event_type, entity_type, entity_id, fields or {})
    order_id = values.get("order_id")
    previews = []
    for t in chosen:
        rendered = templates.render(t, values)
        previews.append(
            Preview(
                rendered=rendered,
                recipients=await addresses(conn, rendered, values),
                order_id=order_id if isinstance(order_id, str) else None,
            )
        )
    return previews


_INSERT = f"""
insert into notifications (recipient, channel, severity, subject, body, status, entity_type,
    entity_id, event_type, template, source_event_id, created_at)
values (%(recipient)s, %(channel)s, %(severity)s, %(subject)s, %(body)s, 'PENDING',
    %(entity_type)s, %(entity_id)s, %(event_type)s, %(template)s, %(source_event_id)s, %(at)s)
returning {_COLUMNS}
"""


async def _write(
    conn: AsyncConn, actor: Actor, values: Mapping[str, object], *, order_id: str | None = None
) -> Notification:
    cur = await conn.execute(_INSERT, {**values, "at": clock.now()})
    row = await cur.fetchone()
    assert row is not None
    note = Notification.model_validate(row)
    await record(
        conn,
        actor,
        event_type="notification.created",
        entity_type="notification",
        entity_id=str(note.notification_id),
        action="create",
        after={"status": "PENDING", "recipient": note.recipient, "channel": note.channel},
        payload={
            "recipient": note.recipient,
            "channel": note.channel,
            "template": note.template,
            "about_type": note.entity_type,
            "about_id": note.entity_id,
            # lets an order's traceability report find the messages about it
            **({"order_id": order_id} if order_id else {}),
        },
    )
    return note


async def notify(
    conn: AsyncConn,
    actor: Actor,
    event_type: str,
    *,
    entity_type: str,
    entity_id: str,
    fields: Mapping[str, object] | None = None,
    template: str | None = None,
    source_event_id: int | None = None,
    idempotency_key: str | None = None,
) -> list[Notification]:
    """Render `event_type`'s templates (or only `template`) for the entity and write one PENDING
    notification per recipient; `fields` add to or override the entity's fields."""

    async def run() -> NotificationBatch:
        written = []
        for p in await preview(
            conn,
            event_type,
            entity_type=entity_type,
            entity_id=entity_id,
            fields=fields,
            template=template,
        ):
            for r in p.recipients:
                values = p.rendered.model_dump(include={"severity", "subject", "body", "template"})
                written.append(
                    await _write(
                        conn,
                        actor,
                        values
                        | {
                            "recipient": r.address,
                            "channel": r.channel,
                            "entity_type": entity_type,
                            "entity_id": entity_id,
                            "event_type": event_type,
                            "source_event_id": source_event_id,
                        },
                        order_id=p.order_id,
                    )
                )
        return NotificationBatch(notifications=written)

    async with atomic(conn):
        batch = await idempotent(
            conn, idempotency_key, "communications.notify", NotificationBatch, run
        )
    return batch.notifications


async def notify_for_event(
    conn: AsyncConn,
    actor: Actor,
    event: events.Event,
    *,
    template: str | None = None,
    idempotency_key: str | None = None,
) -> list[Notification]:
    """The notifications for a logged event: its type's templates (or only `template`), for its
    entity, with the event's payload as extra fields.

    Without a key the event's ID (and the template) is the key, so an event handled twice
    notifies once.
    """
    if event.entity_type is None or event.entity_id is None:
        raise ValidationError(
            f"event {event.event_id} ({event.type}) names no entity; notifications are about one"
        )
    payload: dict[str, JsonValue] = dict(event.payload)
    return await notify(
        conn,
        actor,
        event.type,
        entity_type=event.entity_type,
        entity_id=event.entity_id,
        fields=payload,
        template=template,
        source_event_id=event.event_id,
        idempotency_key=idempotency_key or f"notify:event:{event.event_id}:{template or '*'}",
    )


_KNOWN = """
select exists (select 1 from users where user_id = %(r)s or lower(email) = %(r)s)
    or exists (select 1 from notification_roles where lower(address) = %(r)s)
    or exists (select 1 from customers where lower(customer_id) = %(r)s
               or split_part(lower(contact_email), '@', 2) = %(d)s)
    or exists (select 1 from suppliers where lower(supplier_id) = %(r)s
               or split_part(lower(contact_email), '@', 2) = %(d)s)
    as known
"""


async def known_recipient(conn: AsyncConn, recipient: str) -> None:
    """ValidationError unless `recipient` is someone Titan knows: a staff role (`planner`, or
    `role:planner`), a user (by ID or email), an address of the role directory, a customer or
    supplier (by ID), or an email address at a customer's or a supplier's domain."""
    wanted = recipient.strip().lower()
    if wanted.removeprefix("role:") in templates.STAFF_ROLES:
        return
    domain = wanted.rsplit("@", 1)[1] if wanted.count("@") == 1 else ""
    cur = await conn.execute(_KNOWN, {"r": wanted, "d": domain})
    row = await cur.fetchone()
    if row is None or not row["known"]:
        raise ValidationError(
            f"{recipient!r} is not a recipient Titan knows: write to a staff role "
            f"({', '.join(templates.STAFF_ROLES)}), a user, a customer or supplier, or an email "
            "address at a customer's or supplier's domain",
            field="recipient",
        )


async def send_notification(
    conn: AsyncConn, actor: Actor, message: NewNotification, *, idempotency_key: str | None = None
) -> Notification:
    """Write one hand-written message as a PENDING notification, to a recipient Titan knows
    (`known_recipient`)."""
    await known_recipient(conn, message.recipient)

    async def run() -> Notification:
        about_order = message.entity_id if message.entity_type == "order" else None
        return await _write(
            conn,
            actor,
            message.model_dump() | {"event_type": None, "template": None, "source_event_id": None},
            order_id=about_order,
        )

    async with atomic(conn):
        return await idempotent(conn, idempotency_key, "communications.send", Notification, run)


# ───────────────────────── delivery ─────────────────────────


async def _move(
    conn: AsyncConn,
    actor: Actor,
    notification_id: int,
    to: Status,
    *,
    reason: str | None,
    idempotency_key: str | None,
) -> Notification:
    async def run() -> Notification:
        cur = await conn.execute(
            "select status from notifications where notification_id = %s for update",
            (notification_id,),
        )
        row = await cur.fetchone()
        if row is None:
            raise NotFoundError(
                f"no notification {notification_id}", entity="notification", id=str(notification_id)
            )
        before = row["status"]
        NOTIFICATION_LIFECYCLE.check(str(notification_id), before, to)
        now = clock.now()
        cur = await conn.execute(
            "update notifications set status = %(to)s, "
            "sent_at = case when %(to)s::text = 'SENT' then %(now)s::timestamptz else sent_at end, "
            "read_at = case when %(to)s::text = 'READ' then %(now)s::timestamptz else read_at end, "
            "failure_reason = case when %(to)s::text = 'FAILED' then %(reason)s::text "
            "when %(to)s::text = 'SENT' then null else failure_reason end "
            f"where notification_id = %(id)s returning {_COLUMNS}",
            {"to": to, "now": now, "reason": reason, "id": notification_id},
        )
        updated = await cur.fetchone()
        assert updated is not None
        await record(
            conn,
            actor,
            event_type=f"notification.{to.lower()}",
            entity_type="notification",
            entity_id=str(notification_id),
            action=to.lower(),
            before={"status": before},
            after={"status": to, **({"failure_reason": reason} if reason else {})},
        )
        return Notification.model_validate(updated)

    async with atomic(conn):
        return await idempotent(
            conn, idempotency_key, f"communications.{to.lower()}", Notification, run
        )


async def mark_sent(
    conn: AsyncConn, actor: Actor, notification_id: int, *, idempotency_key: str | None = None
) -> Notification:
    """Record that the notification went out (PENDING or FAILED → SENT)."""
    return await _move(
        conn, actor, notification_id, "SENT", reason=None, idempotency_key=idempotency_key
    )


async def mark_failed(
    conn: AsyncConn,
    actor: Actor,
    notification_id: int,
    reason: str,
    *,
    idempotency_key: str | None = None,
) -> Notification:
    """Record that delivery failed and why (PENDING or FAILED → FAILED)."""
    if not reason.strip() or len(reason) > 500:
        raise ValidationError("a delivery failure needs a reason of 1 to 500 characters")
    return await _move(
        conn,
        actor,
        notification_id,
        "FAILED",
        reason=reason.strip(),
        idempotency_key=idempotency_key,
    )


async def mark_read(
    conn: AsyncConn, actor: Actor, notification_id: int, *, idempotency_key: str | None = None
) -> Notification:
    """Record that the recipient read the notification (SENT → READ)."""
    return await _move(
        conn, actor, notification_id, "READ", reason=None, idempotency_key=idempotency_key
    )


# ───────────────────────── the communications log ─────────────────────────


async def get_notification(conn: AsyncConn, notification_id: int) -> Notification:
    """One notification by ID."""
    cur = await conn.execute(
        f"select {_COLUMNS} from notifications where notification_id = %s", (notification_id,)
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFoundError(
            f"no notification {notification_id}", entity="notification", id=str(notification_id)
        )
    return Notification.model_validate(row)


async def list_notifications(conn: AsyncConn, query: NotificationQuery) -> list[Notification]:
    """The communications log, newest first, narrowed by `query`."""
    if query.since and query.until and query.since >= query.until:
        raise ValidationError(
            f"the time range is empty: since ({query.since.isoformat()}) must be before until "
            f"({query.until.isoformat()})"
        )
    if query.entity_id is not None and query.entity_type is None:
        raise ValidationError(
            "filtering by entity_id needs its entity_type too (order, shipment, ...)"
        )
    cur = await conn.execute(
        f"select {_COLUMNS} from notifications "
        "where (%(recipient)s::text is null or recipient = %(recipient)s) "
        "and (%(entity_type)s::text is null or entity_type = %(entity_type)s) "
        "and (%(entity_id)s::text is null or entity_id = %(entity_id)s) "
        "and (%(event_type)s::text is null or event_type = %(event_type)s) "
        "and (%(status)s::text is null or status = %(status)s) "
        "and (%(channel)s::text is null or channel = %(channel)s) "
        "and (%(since)s::timestamptz is null or created_at >= %(since)s) "
        "and (%(until)s::timestamptz is null or created_at < %(until)s) "
        "order by created_at desc, notification_id desc limit %(limit)s",
        query.model_dump(),
    )
    return [Notification.model_validate(r) for r in await cur.fetchall()]
