"""Customer inquiries: created for a customer's own order, answered, closed; nothing else."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tools.communications import inquiries as inq
from tools.core import db, events
from tools.core.clock import FixedClock
from tools.core.errors import InvalidTransitionError, NotFoundError, TitanError, ValidationError
from tools.core.operations import Actor

AGENT = Actor(type="agent", id="communications", thread_id="thread-3")


async def count(conn: db.AsyncConn, table: str) -> int:
    cur = await conn.execute(f"select count(*) as n from {table}")  # type: ignore[arg-type]
    row = await cur.fetchone()
    return int(row["n"]) if row else 0


def status_question(
    order_id: str | None = "ORD-10003", customer_id: str = "BOEING"
) -> inq.NewInquiry:
    return inq.NewInquiry(
        customer_id=customer_id,
        order_id=order_id,
        channel="PORTAL",
        kind="STATUS",
        subject="Where are our blades?",
        body="Please confirm the delivery date of the split shipment.",
    )


@pytest.mark.anyio
async def test_an_inquiry_about_the_customers_own_order_is_logged_open_with_an_event(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    created = await inq.create_inquiry(plant, AGENT, status_question())

    assert (created.status, created.kind, created.order_id) == ("OPEN", "STATUS", "ORD-10003")
    assert created.received_at == fixed_clock.now()
    assert created.inquiry_id == "INQ-9004"  # after the three of the demo plant
    [event] = await events.since(plant, 0, type_prefix="inquiry.")
    assert (event.type, event.entity_id, event.payload["order_id"]) == (
        "inquiry.created",
        created.inquiry_id,
        "ORD-10003",
    )
    cur = await plant.execute("select actor_id, thread_id, after from audit_log")
    assert await cur.fetchall() == [
        {
            "actor_id": "communications",
            "thread_id": "thread-3",
            "after": {"status": "OPEN", "kind": "STATUS"},
        }
    ]


@pytest.mark.anyio
async def test_an_inquiry_without_an_order_is_allowed(plant: db.AsyncConn) -> None:
    created = await inq.create_inquiry(plant, AGENT, status_question(order_id=None))

    assert created.order_id is None


@pytest.mark.anyio
async def test_an_inquiry_for_an_unknown_customer_or_someone_elses_order_is_refused(
    plant: db.AsyncConn,
) -> None:
    with pytest.raises(NotFoundError, match="no customer 'ACME'"):
        await inq.create_inquiry(plant, AGENT, status_question(customer_id="ACME"))
    with pytest.raises(NotFoundError, match="no order 'ORD-99999'"):
        await inq.create_inquiry(plant, AGENT, status_question(order_id="ORD-99999"))
    with pytest.raises(ValidationError, match="ORD-10002 belongs to TESLA, not BOEING"):
        await inq.create_inquiry(plant, AGENT, status_question(order_id="ORD-10002"))

    assert await count(plant, "customer_inquiries") == 3
    assert await count(plant, "audit_log") == 0


@pytest.mark.anyio
async def test_answering_records_the_response_and_its_time(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    created = await inq.create_inquiry(plant, AGENT, status_question())
    fixed_clock.advance(timedelta(minutes=20))

    answered = await inq.answer_inquiry(
        plant, AGENT, created.inquiry_id, "  Both parts arrive on Thursday.  "
    )

    assert (answered.status, answered.response) == ("ANSWERED", "Both parts arrive on Thursday.")
    assert answered.answered_at == fixed_clock.now()
    logged = await events.since(plant, 0, type_prefix="inquiry.")
    assert [e.type for e in logged] == ["inquiry.created", "inquiry.answered"]


@pytest.mark.anyio
async def test_an_answer_needs_its_text_and_an_open_inquiry(plant: db.AsyncConn) -> None:
    created = await inq.create_inquiry(plant, AGENT, status_question())

    with pytest.raises(ValidationError, match="needs the response text"):
        await inq.answer_inquiry(plant, AGENT, created.inquiry_id, "   ")
    with pytest.raises(ValidationError, match="at most 5000"):
        await inq.answer_inquiry(plant, AGENT, created.inquiry_id, "x" * 5001)
    await inq.answer_inquiry(plant, AGENT, created.inquiry_id, "Thursday.")
    with pytest.raises(
        InvalidTransitionError,
        match="is ANSWERED and cannot be answered; from ANSWERED it can become CLOSED",
    ):
        await inq.answer_inquiry(plant, AGENT, created.inquiry_id, "Friday, actually.")
    with pytest.raises(NotFoundError, match="no inquiry 'INQ-1'"):
        await inq.answer_inquiry(plant, AGENT, "INQ-1", "Hello")

    assert (await inq.get_inquiry(plant, created.inquiry_id)).response == "Thursday."


@pytest.mark.anyio
async def test_closing_an_unanswered_inquiry_needs_a_reason_and_a_closed_one_stays_closed(
    plant: db.AsyncConn,
) -> None:
    created = await inq.create_inquiry(plant, AGENT, status_question())

    with pytest.raises(ValidationError, match="unanswered; closing it needs a reason"):
        await inq.close_inquiry(plant, AGENT, created.inquiry_id)
    closed = await inq.close_inquiry(plant, AGENT, created.inquiry_id, reason="answered by phone")
    assert closed.status == "CLOSED"
    with pytest.raises(
        InvalidTransitionError, match="is CLOSED, a final status: it cannot be closed"
    ):
        await inq.close_inquiry(plant, AGENT, created.inquiry_id, reason="again")
    with pytest.raises(InvalidTransitionError, match="is CLOSED"):
        await inq.answer_inquiry(plant, AGENT, created.inquiry_id, "Thursday.")

    cur = await plant.execute("select before, after from audit_log where action = 'close'")
    assert await cur.fetchall() == [
        {"before": {"status": "OPEN"}, "after": {"status": "CLOSED", "reason": "answered by phone"}}
    ]


@pytest.mark.anyio
async def test_the_same_idempotency_key_logs_one_inquiry(plant: db.AsyncConn) -> None:
    first = await inq.create_inquiry(plant, AGENT, status_question(), idempotency_key="mail-1")
    again = await inq.create_inquiry(plant, AGENT, status_question(), idempotency_key="mail-1")

    assert again == first
    assert await count(plant, "customer_inquiries") == 4
    assert await count(plant, "audit_log") == 1


@pytest.mark.anyio
async def test_racing_answers_answer_an_inquiry_once(plant: db.AsyncConn, db_url: str) -> None:
    created = await inq.create_inquiry(plant, AGENT, status_question())

    async def answer(n: int) -> str:
        async with db.connection(db_url) as conn:
            try:
                await inq.answer_inquiry(conn, AGENT, created.inquiry_id, f"answer {n}")
            except InvalidTransitionError:
                return "refused"
            return "answered"

    outcomes = await asyncio.gather(*(answer(n) for n in range(8)))

    assert sorted(outcomes) == ["answered"] + ["refused"] * 7
    assert await count(plant, "audit_log") == 2


@pytest.mark.anyio
async def test_inquiries_are_listed_by_customer_status_kind_and_order(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    fixed_clock.advance(timedelta(minutes=1))
    mine = await inq.create_inquiry(plant, AGENT, status_question())

    boeing = await inq.list_inquiries(plant, customer_id="BOEING")
    assert [i.inquiry_id for i in boeing] == [mine.inquiry_id, "INQ-9001"]
    opened = await inq.list_inquiries(plant, status="OPEN")
    assert {i.inquiry_id for i in opened} == {mine.inquiry_id, "INQ-9001", "INQ-9002"}
    assert [i.inquiry_id for i in await inq.list_inquiries(plant, kind="EXPEDITE")] == ["INQ-9001"]
    assert [i.inquiry_id for i in await inq.list_inquiries(plant, order_id="ORD-10003")] == [
        mine.inquiry_id
    ]
    assert len(await inq.list_inquiries(plant, limit=1)) == 1

    with pytest.raises(ValidationError, match="status 'PENDING' is not one of OPEN, ANSWERED"):
        await inq.list_inquiries(plant, status="PENDING")
    with pytest.raises(ValidationError, match="kind 'COMPLAINT' is not one of STATUS"):
        await inq.list_inquiries(plant, kind="COMPLAINT")
    with pytest.raises(ValidationError, match="limit must be between 1 and 1000"):
        await inq.list_inquiries(plant, limit=0)
    with pytest.raises(NotFoundError, match="no customer 'ACME'"):
        await inq.list_inquiries(plant, customer_id="ACME")


Step = tuple[str, bool]  # ("answer" | "close", with text)
# What the lifecycle allows: status → step → the status it leads to.
ALLOWED = {
    "OPEN": {("answer", True): "ANSWERED", ("close", True): "CLOSED"},
    "ANSWERED": {("close", True): "CLOSED", ("close", False): "CLOSED"},
    "CLOSED": {},
}


async def _apply(url: str, steps: list[Step]) -> None:
    async with db.connection(url) as conn:
        await conn.execute(
            "insert into customers (customer_id, name, region, priority, contract_valid_until, "
            "contact_email) values ('ACME', 'Acme', 'NA-WEST', 3, '2030-01-01', 'a@acme.example') "
            "on conflict do nothing"
        )
        await conn.commit()
        created = await inq.create_inquiry(conn, AGENT, status_question(None, "ACME"))
        expected = "OPEN"
        for action, with_text in steps:
            text = "done" if with_text else None
            try:
                if action == "answer":
                    await inq.answer_inquiry(conn, AGENT, created.inquiry_id, text or "")
                else:
                    await inq.close_inquiry(conn, AGENT, created.inquiry_id, reason=text)
            except TitanError as exc:
                assert (action, with_text) not in ALLOWED[expected], exc
                assert created.inquiry_id in str(exc)
            else:
                expected = ALLOWED[expected][action, with_text]
            assert (await inq.get_inquiry(conn, created.inquiry_id)).status == expected


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(st.sampled_from(["answer", "close"]), st.booleans()), max_size=6))
def test_any_sequence_of_steps_leaves_a_valid_status_and_refuses_the_invalid_ones(
    db_url: str, fixed_clock: FixedClock, steps: list[Step]
) -> None:
    asyncio.run(_apply(db_url, steps))
