"""Governance reads: the audit trail, material batch traces, an order's traceability record."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pydantic
import pytest

from tools.core import db
from tools.core.clock import FixedClock
from tools.core.errors import NotFoundError, ValidationError
from tools.core.operations import Actor, atomic, record
from tools.governance import audit as governance
from tools.governance import traceability

PLANNER = Actor(type="user", id="planner", thread_id="thread-1")
AGENT = Actor(type="agent", id="scheduler", thread_id="thread-2", approval_id="APR-1")


async def rows(conn: db.AsyncConn, query: str, *params: object) -> list[dict[str, object]]:
    cur = await conn.execute(query, params)  # type: ignore[arg-type]
    return await cur.fetchall()


async def touch(
    conn: db.AsyncConn, actor: Actor, entity: str, entity_id: str, **after: str
) -> None:
    """An audited change, as a domain operation writes it."""
    async with atomic(conn):
        await record(
            conn,
            actor,
            event_type=f"{entity}.touched",
            entity_type=entity,
            entity_id=entity_id,
            action="touch",
            after=after,
            payload={"order_id": entity_id} if entity == "order" else {},
        )


async def approval(conn: db.AsyncConn, approval_id: str, *, order_id: str, at: datetime) -> None:
    await conn.execute(
        "insert into users (user_id, display_name, role) values ('dana', 'Dana Ops', "
        "'production_manager') on conflict do nothing"
    )
    await conn.execute(
        "insert into approvals (approval_id, thread_id, status, agent, action, arguments, reason, "
        "requested_at, decided_by, decided_at, decision_reason) values (%s, 'thread-2', "
        "'APPROVED', 'scheduler', 'expedite_order', %s, 'rush order for the 787 line', %s, "
        "'dana', %s, 'customer is AOG')",
        (approval_id, json.dumps({"order_id": order_id}), at, at + timedelta(minutes=3)),
    )
    await conn.commit()


# ───────────────────────── audit trail ─────────────────────────


@pytest.mark.anyio
async def test_the_audit_trail_answers_by_entity_actor_thread_approval_and_time(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    start = fixed_clock.now()
    await approval(plant, "APR-1", order_id="ORD-10013", at=start)
    await touch(plant, PLANNER, "order", "ORD-10013", status="VALIDATED")
    fixed_clock.advance(timedelta(hours=1))
    await touch(plant, AGENT, "order", "ORD-10013", status="RESERVED")
    await touch(plant, AGENT, "shipment", "SHP-7003")
    fixed_clock.advance(timedelta(hours=1))
    await touch(plant, PLANNER, "order", "ORD-10020")

    def ask(**kw: object) -> governance.AuditQuery:
        return governance.AuditQuery.model_validate(kw)

    by_order = await governance.audit_trail(plant, ask(entity_type="order", entity_id="ORD-10013"))
    assert [e.after for e in by_order.entries] == [{"status": "RESERVED"}, {"status": "VALIDATED"}]
    assert by_order.next_before_id is None
    by_agent = await governance.audit_trail(plant, ask(actor_type="agent", actor_id="scheduler"))
    assert [e.entity_id for e in by_agent.entries] == ["SHP-7003", "ORD-10013"]
    by_thread = await governance.audit_trail(plant, ask(thread_id="thread-1"))
    assert [e.entity_id for e in by_thread.entries] == ["ORD-10020", "ORD-10013"]
    by_approval = await governance.audit_trail(plant, ask(approval_id="APR-1"))
    assert len(by_approval.entries) == 2
    second_hour = ask(since=start + timedelta(minutes=30), until=start + timedelta(minutes=90))
    assert len((await governance.audit_trail(plant, second_hour)).entries) == 2

    page = await governance.audit_trail(plant, ask(limit=3))
    assert len(page.entries) == 3 and page.next_before_id == page.entries[-1].audit_id
    rest = await governance.audit_trail(plant, ask(limit=3, before_id=page.next_before_id))
    assert len(rest.entries) == 1 and rest.next_before_id is None


@pytest.mark.anyio
async def test_bad_audit_queries_are_refused_with_what_would_be_valid(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    now = fixed_clock.now()
    with pytest.raises(ValidationError, match="time range is empty"):
        await governance.audit_trail(plant, governance.AuditQuery(since=now, until=now))
    with pytest.raises(ValidationError, match="must carry a timezone"):
        naive = governance.AuditQuery(since=datetime(2026, 3, 1))
        await governance.audit_trail(plant, naive)
    with pytest.raises(ValidationError, match="needs its entity_type"):
        await governance.audit_trail(plant, governance.AuditQuery(entity_id="ORD-10001"))
    with pytest.raises(NotFoundError, match="no approval 'APR-404'"):
        await governance.audit_trail(plant, governance.AuditQuery(approval_id="APR-404"))
    with pytest.raises(pydantic.ValidationError, match="less than or equal to 1000"):
        governance.AuditQuery(limit=5000)


# ───────────────────────── batch trace ─────────────────────────


@pytest.mark.anyio
async def test_a_titanium_heat_traces_to_its_supplier_certificates_and_the_boeing_orders_it_fed(
    plant: db.AsyncConn,
) -> None:
    trace = await governance.trace_batch(plant, "B-TI64-PHX-3")

    assert (trace.sku, trace.supplier.supplier_id, trace.supplier.name) == (
        "SKU-RM-TI64",
        "TITANMET",
        "TitanMet Alloys",
    )
    assert sorted(c.kind for c in trace.certificates) == ["MATERIAL_TEST", "MILL_CERT"]
    assert trace.certified and {c.status for c in trace.certificates} == {"VALID"}
    used = await rows(
        plant,
        "select order_id, line_no, quantity, machine_id from batch_usage "
        "where batch_id = 'B-TI64-PHX-3'",
    )
    assert sorted((u.order_id, u.line_no) for u in trace.uses) == sorted(
        (u["order_id"], u["line_no"]) for u in used
    )
    assert {u.customer_id for u in trace.uses} >= {"BOEING"}
    assert trace.machines == sorted({str(u["machine_id"]) for u in used})
    assert trace.used_quantity + trace.remaining_quantity == trace.quantity
    assert trace.on_hand is not None and trace.on_hand > 0
    assert "LOT-10003-2" in trace.same_heat  # the blades machined from this heat


@pytest.mark.anyio
async def test_an_expired_certificate_shows_in_the_trace(plant: db.AsyncConn) -> None:
    await plant.execute(
        "update batch_certificates set valid_until = issued_on where batch_id = 'B-TI64-PHX-3'"
    )
    await plant.commit()

    trace = await governance.trace_batch(plant, "B-TI64-PHX-3")

    assert {c.status for c in trace.certificates} == {"EXPIRED"}
    assert not trace.certified


@pytest.mark.anyio
async def test_an_unknown_batch_is_not_found_with_the_id_format(plant: db.AsyncConn) -> None:
    with pytest.raises(NotFoundError, match="no material batch 'B-NOPE'.*B-TI64-PHX-1"):
        await governance.trace_batch(plant, "B-NOPE")


# ───────────────────────── an order's traceability ─────────────────────────


@pytest.mark.anyio
async def test_a_boeing_split_order_traces_material_machines_shipments_and_history(
    plant: db.AsyncConn,
) -> None:
    report = await traceability.order_traceability(plant, "ORD-10003")

    assert (report.order.customer_id, report.order.status) == ("BOEING", "SHIPPED")
    for line in report.lines:
        kinds = {c.kind for b in line.batches for c in b.certificates}
        assert {"MILL_CERT", "FAA_8130_3"} <= kinds, line.line_no
        assert any(b.sku == "SKU-RM-TI64" for b in line.batches)
    assert {"PHX-MILL", "PHX-QC"} <= set(report.work_centers)
    assert "PHX-CMM-001" in {m.machine_id for m in report.machines}
    assert len(report.shipments) == 2  # split between Phoenix and Munich
    assert {s.origin_facility_id for s in report.shipments} == {"PHX", "MUC"}
    assert all(s.tracking for s in report.shipments)
    shipped = {n: sum(s.lines.get(n, 0) for s in report.shipments) for n in (1, 2)}
    assert shipped == {line.line_no: line.quantity for line in report.lines}
    assert [h.to_status for h in report.status_history][-1] == "SHIPPED"
    assert report.gaps == []


@pytest.mark.anyio
async def test_the_report_holds_every_event_audit_row_and_approval_with_who_decided_it(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    await approval(plant, "APR-1", order_id="ORD-10013", at=fixed_clock.now())
    await approval(plant, "APR-2", order_id="ORD-10013", at=fixed_clock.now())
    await touch(plant, AGENT, "order", "ORD-10013", status="IN_PRODUCTION")
    await touch(plant, PLANNER, "order", "ORD-10020")

    report = await traceability.order_traceability(plant, "ORD-10013")

    assert [(e.type, e.entity_id) for e in report.events] == [("order.touched", "ORD-10013")]
    assert [(a.actor_id, a.approval_id) for a in report.audit] == [("scheduler", "APR-1")]
    assert [(a.approval_id, a.decided_by_name, a.decided_by_role) for a in report.approvals] == [
        ("APR-1", "Dana Ops", "production_manager"),
        ("APR-2", "Dana Ops", "production_manager"),
    ]
    assert not report.events_truncated


@pytest.mark.anyio
async def test_gaps_name_lines_without_material_or_machines(plant: db.AsyncConn) -> None:
    await plant.execute("delete from batch_usage where order_id = 'ORD-10001' and line_no = 3")
    await plant.commit()

    report = await traceability.order_traceability(plant, "ORD-10001")

    assert report.gaps == [
        "line 3 (SKU-EH-3001): no material batch is recorded for a certified product",
        "line 3 (SKU-EH-3001): no machine is recorded as having worked on it",
    ]


@pytest.mark.anyio
async def test_material_used_after_its_certificates_lapsed_is_a_gap(plant: db.AsyncConn) -> None:
    await plant.execute(
        "update batch_certificates set valid_until = issued_on where batch_id = 'B-IN718-PHX-1'"
    )
    await plant.commit()

    report = await traceability.order_traceability(plant, "ORD-10001")

    assert len(report.gaps) == 1
    assert report.gaps[0].startswith(
        "line 3 (SKU-EH-3001): batch B-IN718-PHX-1 had no certificate in force when used"
    )


@pytest.mark.anyio
async def test_an_unknown_order_has_no_traceability_report(plant: db.AsyncConn) -> None:
    with pytest.raises(NotFoundError, match="no order 'ORD-1'.*ORD-10001"):
        await traceability.order_traceability(plant, "ORD-1")
