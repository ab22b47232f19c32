"""Customer inquiries: questions about status, expediting, quality or anything else.

    OPEN ──answer──► ANSWERED ──close──► CLOSED
      └───────────close (with a reason)──────┘

An inquiry belongs to a customer and optionally to one of that customer's orders. Answering needs
the response text; closing an unanswered inquiry needs a reason (a duplicate, resolved by phone).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.errors import NotFoundError, ValidationError
from tools.core.lifecycle import Lifecycle
from tools.core.operations import Actor, atomic, idempotent, record

Kind = Literal["STATUS", "EXPEDITE", "QUALITY", "OTHER"]
KINDS: tuple[Kind, ...] = ("STATUS", "EXPEDITE", "QUALITY", "OTHER")
Status = Literal["OPEN", "ANSWERED", "CLOSED"]
STATUSES: tuple[Status, ...] = ("OPEN", "ANSWERED", "CLOSED")
INQUIRY_LIFECYCLE: Lifecycle[Status] = Lifecycle(
    entity="inquiry",
    statuses=STATUSES,
    moves={
        "OPEN": frozenset({"ANSWERED", "CLOSED"}),
        "ANSWERED": frozenset({"CLOSED"}),
        "CLOSED": frozenset(),
    },
)
InquiryChannel = Literal["EMAIL", "PHONE", "PORTAL"]
MAX_TEXT = 5000


class Inquiry(BaseModel):
    """One customer inquiry and its answer."""

    inquiry_id: str
    customer_id: str
    order_id: str | None
    channel: InquiryChannel
    kind: Kind
    subject: str
    body: str
    status: Status
    received_at: datetime
    answered_at: datetime | None
    response: str | None


class NewInquiry(BaseModel):
    """An inquiry as it arrives."""

    customer_id: str = Field(min_length=1, max_length=32)
    order_id: str | None = Field(default=None, max_length=40)
    channel: InquiryChannel = "EMAIL"
    kind: Kind = "OTHER"
    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=MAX_TEXT)


_COLUMNS = """inquiry_id, customer_id, order_id, channel, kind, subject, body, status,
    received_at, answered_at, response"""


async def create_inquiry(
    conn: AsyncConn, actor: Actor, inquiry: NewInquiry, *, idempotency_key: str | None = None
) -> Inquiry:
    """Log an inquiry; the customer must exist and the order, if given, must be theirs."""

    async def run() -> Inquiry:
        cur = await conn.execute(
            "select 1 from customers where customer_id = %s", (inquiry.customer_id,)
        )
        if await cur.fetchone() is None:
            raise NotFoundError(
                f"no customer {inquiry.customer_id!r}: an inquiry needs a customer",
                entity="customer",
                id=str(inquiry.customer_id),
            )
        if inquiry.order_id is not None:
            cur = await conn.execute(
                "select customer_id from orders where order_id = %s", (inquiry.order_id,)
            )
            order = await cur.fetchone()
            if order is None:
                raise NotFoundError(
                    f"no order {inquiry.order_id!r} for the inquiry to refer to",
                    entity="order",
                    id=str(inquiry.order_id),
                )
            if order["customer_id"] != inquiry.customer_id:
                raise ValidationError(
                    f"order {inquiry.order_id} belongs to {order['customer_id']}, not "
                    f"{inquiry.customer_id}; an inquiry may refer only to the customer's own orders"
                )
        cur = await conn.execute(
            "insert into customer_inquiries (customer_id, order_id, channel, kind, subject, body, "
            "received_at) values (%(customer_id)s, %(order_id)s, %(channel)s, %(kind)s, "
            f"%(subject)s, %(body)s, %(at)s) returning {_COLUMNS}",
            inquiry.model_dump() | {"at": clock.now()},
        )
        row = await cur.fetchone()
        assert row is not None
        created = Inquiry.model_validate(row)
        await record(
            conn,
            actor,
            event_type="inquiry.created",
            entity_type="inquiry",
            entity_id=created.inquiry_id,
            action="create",
            after={"status": "OPEN", "kind": created.kind},
            payload={
                "customer_id": created.customer_id,
                "kind": created.kind,
                **({"order_id": created.order_id} if created.order_id else {}),
            },
        )
        return created

    async with atomic(conn):
        return await idempotent(conn, idempotency_key, "inquiries.create", Inquiry, run)


async def _locked(conn: AsyncConn, inquiry_id: str) -> Inquiry:
    cur = await conn.execute(
        f"select {_COLUMNS} from customer_inquiries where inquiry_id = %s for update",
        (inquiry_id,),
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFoundError(
            f"no inquiry {inquiry_id!r}; inquiry IDs look like INQ-9001",
            entity="inquiry",
            id=str(inquiry_id),
        )
    return Inquiry.model_validate(row)


def _text(value: str | None, what: str) -> str | None:
    text = (value or "").strip()
    if len(text) > MAX_TEXT:
        raise ValidationError(f"{what} is {len(text)} characters; at most {MAX_TEXT} are allowed")
    return text or None


async def answer_inquiry(
    conn: AsyncConn,
    actor: Actor,
    inquiry_id: str,
    response: str,
    *,
    idempotency_key: str | None = None,
) -> Inquiry:
    """Record the answer to an OPEN inquiry (OPEN → ANSWERED)."""
    text = _text(response, "the response")
    if text is None:
        raise ValidationError(f"answering inquiry {inquiry_id} needs the response text")

    async def run() -> Inquiry:
        current = await _locked(conn, inquiry_id)
        INQUIRY_LIFECYCLE.check(inquiry_id, current.status, "ANSWERED", verb="be answered")
        cur = await conn.execute(
            "update customer_inquiries set status = 'ANSWERED', answered_at = %(at)s, "
            f"response = %(response)s where inquiry_id = %(id)s returning {_COLUMNS}",
            {"at": clock.now(), "response": text, "id": inquiry_id},
        )
        row = await cur.fetchone()
        assert row is not None
        answered = Inquiry.model_validate(row)
        await record(
            conn,
            actor,
            event_type="inquiry.answered",
            entity_type="inquiry",
            entity_id=inquiry_id,
            action="answer",
            before={"status": "OPEN"},
            after={"status": "ANSWERED", "response": text},
            payload=_payload(answered),
        )
        return answered

    async with atomic(conn):
        return await idempotent(conn, idempotency_key, "inquiries.answer", Inquiry, run)


async def close_inquiry(
    conn: AsyncConn,
    actor: Actor,
    inquiry_id: str,
    *,
    reason: str | None = None,
    idempotency_key: str | None = None,
) -> Inquiry:
    """Close an inquiry (ANSWERED → CLOSED, or OPEN → CLOSED with a reason)."""
    why = _text(reason, "the reason")

    async def run() -> Inquiry:
        current = await _locked(conn, inquiry_id)
        INQUIRY_LIFECYCLE.check(inquiry_id, current.status, "CLOSED", verb="be closed")
        if current.status == "OPEN" and why is None:
            raise ValidationError(
                f"inquiry {inquiry_id} is unanswered; closing it needs a reason (or answer it "
                "first)"
            )
        cur = await conn.execute(
            f"update customer_inquiries set status = 'CLOSED' where inquiry_id = %s "
            f"returning {_COLUMNS}",
            (inquiry_id,),
        )
        row = await cur.fetchone()
        assert row is not None
        closed = Inquiry.model_validate(row)
        await record(
            conn,
            actor,
            event_type="inquiry.closed",
            entity_type="inquiry",
            entity_id=inquiry_id,
            action="close",
            before={"status": current.status},
            after={"status": "CLOSED", **({"reason": why} if why else {})},
            payload=_payload(closed) | ({"reason": why} if why else {}),
        )
        return closed

    async with atomic(conn):
        return await idempotent(conn, idempotency_key, "inquiries.close", Inquiry, run)


def _payload(inquiry: Inquiry) -> dict[str, str]:
    return {
        "customer_id": inquiry.customer_id,
        "kind": inquiry.kind,
        **({"order_id": inquiry.order_id} if inquiry.order_id else {}),
    }


async def get_inquiry(conn: AsyncConn, inquiry_id: str) -> Inquiry:
    """One inquiry by ID."""
    cur = await conn.execute(
        f"select {_COLUMNS} from customer_inquiries where inquiry_id = %s", (inquiry_id,)
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFoundError(
            f"no inquiry {inquiry_id!r}; inquiry IDs look like INQ-9001",
            entity="inquiry",
            id=str(inquiry_id),
        )
    return Inquiry.model_validate(row)


async def list_inquiries(
    conn: AsyncConn,
    *,
    customer_id: str | None = None,
    status: str | None = None,
    kind: str | None = None,
    order_id: str | None = None,
    limit: int = 100,
) -> list[Inquiry]:
    """Inquiries, newest first, narrowed by customer, status, kind and order."""
    if status is not None and status not in STATUSES:
        raise ValidationError(f"inquiry status {status!r} is not one of {', '.join(STATUSES)}")
    if kind is not None and kind not in KINDS:
        raise ValidationError(f"inquiry kind {kind!r} is not one of {', '.join(KINDS)}")
    if not 1 <= limit <= 1000:
        raise ValidationError(f"limit must be between 1 and 1000, got {limit}")
    if customer_id is not None:
        cur = await conn.execute("select 1 from customers where customer_id = %s", (customer_id,))
        if await cur.fetchone() is None:
            raise NotFoundError(
                f"no customer {customer_id!r} whose inquiries to list",
                entity="customer",
                id=str(customer_id),
            )
    cur = await conn.execute(
        f"select {_COLUMNS} from customer_inquiries "
        "where (%(customer)s::text is null or customer_id = %(customer)s) "
        "and (%(status)s::text is null or status = %(status)s) "
        "and (%(kind)s::text is null or kind = %(kind)s) "
        "and (%(order)s::text is null or order_id = %(order)s) "
        "order by received_at desc, inquiry_id desc limit %(limit)s",
        {
            "customer": customer_id,
            "status": status,
            "kind": kind,
            "order": order_id,
            "limit": limit,
        },
    )
    return [Inquiry.model_validate(r) for r in await cur.fetchall()]
