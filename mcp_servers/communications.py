"""MCP tools of the communications domain: notifications and customer inquiries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from mcp.server.fastmcp import Context
from pydantic import Field

from mcp_servers.runtime import ToolBox, actor_of, domain_tool, plant_of
from tools.accounts.permissions import Permission as P
from tools.communications import inquiries
from tools.communications import notifications as communications
from tools.communications.inquiries import Inquiry, InquiryChannel, Kind, NewInquiry
from tools.communications.inquiries import Status as InquiryStatus
from tools.communications.notifications import NewNotification, NotificationQuery, Preview
from tools.communications.notifications import Status as NotificationStatus
from tools.communications.templates import Severity
from tools.communications.templates.audiences import Channel

EntityType = Annotated[
    str,
    Field(
        pattern=r"^[a-z_]+$",
        description="What the message is about: order, shipment, work_order, anomaly, "
        "purchase_order, stock_level, inquiry, customer or machine.",
    ),
]
EntityId = Annotated[
    str, Field(max_length=100, description="Its ID, e.g. ORD-10001, SHP-7003, SKU-BRG-7014@PHX.")
]
EventType = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z_]*(\.[a-z][a-z_+]*)+$",
        description="The event the message is for, e.g. order.created, shipment.delayed, "
        "sensor.anomaly, stock.low.",
    ),
]
InquiryId = Annotated[str, Field(pattern=r"^INQ-\d+$", description="e.g. INQ-9001")]
IdempotencyKey = Annotated[
    str | None, Field(max_length=200, description="Repeat a call with the same key: no repeat.")
]


def register(box: ToolBox) -> None:
    tool = domain_tool

    @tool(box, P.MESSAGE_VIEW, title="Communications log")
    async def list_notifications(
        ctx: Context,  # type: ignore[type-arg]
        recipient: Annotated[str | None, Field(description="An address or user ID.")] = None,
        entity_type: Annotated[str | None, Field(description="e.g. order")] = None,
        entity_id: Annotated[str | None, Field(description="e.g. ORD-10001")] = None,
        event_type: Annotated[str | None, Field(description="e.g. shipment.delayed")] = None,
        status: NotificationStatus | None = None,
        channel: Channel | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: Annotated[int, Field(ge=1, le=1000)] = 50,
    ) -> list[communications.Notification]:
        """Messages Titan has sent or queued, newest first, filtered by recipient, entity,
        event type, status, channel and time range."""
        query = NotificationQuery(
            recipient=recipient, entity_type=entity_type, entity_id=entity_id,
            event_type=event_type, status=status, channel=channel, since=since, until=until,
            limit=limit,
        )  # fmt: skip
        async with plant_of(ctx).pool.connection() as conn:
            return await communications.list_notifications(conn, query)

    @tool(box, P.MESSAGE_VIEW, title="Preview a notification")
    async def preview_notification(
        ctx: Context,  # type: ignore[type-arg]
        event_type: EventType,
        entity_type: EntityType,
        entity_id: EntityId,
    ) -> list[Preview]:
        """Render the message(s) Titan would send for an event about an entity, and to whom,
        without sending anything. Use before notify_about to show a person the text."""
        async with plant_of(ctx).pool.connection() as conn:
            return await communications.preview(
                conn, event_type, entity_type=entity_type, entity_id=entity_id
            )

    @tool(box, P.MESSAGE_SEND, title="Notify about an event", write=True, idempotent=True)
    async def notify_about(
        ctx: Context,  # type: ignore[type-arg]
        event_type: EventType,
        entity_type: EntityType,
        entity_id: EntityId,
        idempotency_key: IdempotencyKey = None,
    ) -> list[communications.Notification]:
        """Send the templated messages for an event (e.g. shipment.delayed for SHP-7003) to
        their recipients: internal roles or the customer's contact."""
        async with plant_of(ctx).pool.connection() as conn:
            return await communications.notify(
                conn, actor_of(ctx), event_type, entity_type=entity_type, entity_id=entity_id,
                idempotency_key=idempotency_key,
            )  # fmt: skip

    @tool(box, P.MESSAGE_SEND, title="Send a message", write=True)
    async def send_message(
        ctx: Context,  # type: ignore[type-arg]
        recipient: Annotated[
            str, Field(min_length=1, max_length=200, description="An address or user ID.")
        ],
        channel: Channel,
        subject: Annotated[str, Field(min_length=1, max_length=200)],
        body: Annotated[str, Field(min_length=1, max_length=10_000)],
        severity: Severity = "INFO",
        entity_type: Annotated[str | None, Field(max_length=40)] = None,
        entity_id: Annotated[str | None, Field(max_length=100)] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> communications.Notification:
        """Send a message written by hand (not from a template), e.g. a reply to a customer."""
        message = NewNotification(
            recipient=recipient, channel=channel, severity=severity, subject=subject, body=body,
            entity_type=entity_type, entity_id=entity_id,
        )  # fmt: skip
        async with plant_of(ctx).pool.connection() as conn:
            return await communications.send_notification(
                conn, actor_of(ctx), message, idempotency_key=idempotency_key
            )

    @tool(box, P.MESSAGE_SEND, title="Mark a notification read", write=True, idempotent=True)
    async def mark_notification_read(
        ctx: Context,  # type: ignore[type-arg]
        notification_id: Annotated[int, Field(ge=1)],
    ) -> communications.Notification:
        """Mark a notification as read by its ID (from list_notifications); reading it twice
        changes nothing."""
        async with plant_of(ctx).pool.connection() as conn:
            return await communications.mark_read(conn, actor_of(ctx), notification_id)

    @tool(box, P.MESSAGE_VIEW, title="List customer inquiries")
    async def list_inquiries(
        ctx: Context,  # type: ignore[type-arg]
        customer_id: Annotated[str | None, Field(description="e.g. BOEING")] = None,
        status: InquiryStatus | None = None,
        kind: Kind | None = None,
        order_id: Annotated[str | None, Field(description="e.g. ORD-10001")] = None,
        limit: Annotated[int, Field(ge=1, le=500)] = 50,
    ) -> list[Inquiry]:
        """Customer inquiries (STATUS, EXPEDITE, QUALITY, OTHER), newest first."""
        async with plant_of(ctx).pool.connection() as conn:
            return await inquiries.list_inquiries(
                conn, customer_id=customer_id, status=status, kind=kind, order_id=order_id,
                limit=limit,
            )  # fmt: skip

    @tool(box, P.MESSAGE_VIEW, title="Get a customer inquiry")
    async def get_inquiry(ctx: Context, inquiry_id: InquiryId) -> Inquiry:  # type: ignore[type-arg]
        """One customer inquiry with its answer, if any."""
        async with plant_of(ctx).pool.connection() as conn:
            return await inquiries.get_inquiry(conn, inquiry_id)

    @tool(box, P.MESSAGE_SEND, title="Log a customer inquiry", write=True)
    async def create_inquiry(
        ctx: Context,  # type: ignore[type-arg]
        customer_id: Annotated[str, Field(min_length=1, max_length=32, description="e.g. BOEING")],
        subject: Annotated[str, Field(min_length=1, max_length=200)],
        body: Annotated[str, Field(min_length=1, max_length=5000)],
        kind: Kind = "OTHER",
        channel: InquiryChannel = "EMAIL",
        order_id: Annotated[
            str | None, Field(description="The customer's order it is about.")
        ] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Inquiry:
        """Log an inquiry received from a customer (optionally about one of their orders)."""
        new = NewInquiry(
            customer_id=customer_id, order_id=order_id, channel=channel, kind=kind,
            subject=subject, body=body,
        )  # fmt: skip
        async with plant_of(ctx).pool.connection() as conn:
            return await inquiries.create_inquiry(
                conn, actor_of(ctx), new, idempotency_key=idempotency_key
            )

    @tool(box, P.MESSAGE_SEND, title="Answer a customer inquiry", write=True)
    async def answer_inquiry(
        ctx: Context,  # type: ignore[type-arg]
        inquiry_id: InquiryId,
        response: Annotated[str, Field(min_length=1, max_length=5000)],
        idempotency_key: IdempotencyKey = None,
    ) -> Inquiry:
        """Record the answer to an open inquiry (OPEN → ANSWERED)."""
        async with plant_of(ctx).pool.connection() as conn:
            return await inquiries.answer_inquiry(
                conn, actor_of(ctx), inquiry_id, response, idempotency_key=idempotency_key
            )

    @tool(box, P.MESSAGE_SEND, title="Close a customer inquiry", write=True, destructive=True)
    async def close_inquiry(
        ctx: Context,  # type: ignore[type-arg]
        inquiry_id: InquiryId,
        reason: Annotated[
            str | None, Field(max_length=500, description="Needed when closing unanswered.")
        ] = None,
    ) -> Inquiry:
        """Close an inquiry (ANSWERED → CLOSED, or OPEN → CLOSED with a reason)."""
        async with plant_of(ctx).pool.connection() as conn:
            return await inquiries.close_inquiry(conn, actor_of(ctx), inquiry_id, reason=reason)
