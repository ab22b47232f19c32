"""Compliance: orders and customers against their contract terms, and reports over a period."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tools.core import db
from tools.core.clock import FixedClock
from tools.core.errors import NotFoundError, ValidationError
from tools.core.operations import Actor, atomic, record
from tools.governance import compliance
from tools.governance.reports import ComplianceReport, compliance_report

SYSTEM = Actor(type="system", id="titan")


async def execute(conn: db.AsyncConn, query: str, *params: object) -> None:
    await conn.execute(query, params)  # type: ignore[arg-type]
    await conn.commit()


def by_rule(check: compliance.OrderCompliance, rule: str) -> dict[str, str]:
    return {f.subject: f.status for f in check.findings if f.rule == rule}


def period(clock: FixedClock) -> dict[str, datetime]:
    return {"since": clock.now() - timedelta(days=90), "until": clock.now() + timedelta(days=1)}


async def report(conn: db.AsyncConn, kind: str, clock: FixedClock) -> ComplianceReport:
    return await compliance_report(conn, kind, **period(clock))


def item(found: ComplianceReport, subject_start: str) -> compliance.Finding:
    [match] = [i for i in found.items if i.subject.startswith(subject_start)]
    return match


# ───────────────────────── an order against its contract ─────────────────────────


@pytest.mark.anyio
async def test_a_shipped_boeing_blade_order_meets_every_term_of_its_contract(
    plant: db.AsyncConn,
) -> None:
    check = await compliance.check_order(plant, "ORD-10003")

    assert check.status == "COMPLIANT"
    assert check.requirements == ["AS9100", "FAA_8130_3", "MATERIAL_CERT"]
    assert {f.rule for f in check.findings} == {
        "CONTRACT_VALID",
        "CONTRACT_DIVISIONS",
        "AS9100",
        "FAA_8130_3",
        "MATERIAL_CERT",
    }
    tags = [f for f in check.findings if f.rule == "FAA_8130_3"]
    assert len(tags) == 2 and all("FAA_8130_3 CERT-" in f.evidence[0] for f in tags)


@pytest.mark.anyio
async def test_engine_housings_shipped_without_an_8130_3_tag_are_non_compliant(
    plant: db.AsyncConn,
) -> None:
    check = await compliance.check_order(plant, "ORD-10001")

    assert check.status == "NON_COMPLIANT"
    assert by_rule(check, "FAA_8130_3") == {
        "ORD-10001 line 1 (SKU-EH-3002)": "NON_COMPLIANT",
        "ORD-10001 line 2 (SKU-TB-1002)": "COMPLIANT",
        "ORD-10001 line 3 (SKU-EH-3001)": "NON_COMPLIANT",
    }
    assert set(by_rule(check, "MATERIAL_CERT").values()) == {"COMPLIANT"}


@pytest.mark.anyio
async def test_material_used_after_its_certificates_expired_breaks_material_cert(
    plant: db.AsyncConn,
) -> None:
    await execute(
        plant,
        "update batch_certificates set valid_until = issued_on where batch_id = 'B-IN718-PHX-1'",
    )

    check = await compliance.check_order(plant, "ORD-10001")

    [lapsed] = [f for f in check.findings if f.rule == "MATERIAL_CERT" and f.status != "COMPLIANT"]
    assert lapsed.subject == "ORD-10001 line 3 (SKU-EH-3001)"
    assert lapsed.reason == "material used without a certificate in force"
    assert "MILL_CERT CERT-0002 valid 2025-10-18 to 2025-10-18" in lapsed.evidence[0]


@pytest.mark.anyio
async def test_an_order_not_yet_in_production_is_pending_review(plant: db.AsyncConn) -> None:
    check = await compliance.check_order(plant, "ORD-10013")  # Boeing's rush order, RESERVED

    assert check.status == "NEEDS_REVIEW"
    assert by_rule(check, "CONTRACT_RUSH") == {"ORD-10013": "COMPLIANT"}
    pending = [f for f in check.findings if f.status == "NEEDS_REVIEW"]
    assert pending and all(f.reason.startswith("pending:") for f in pending)


@pytest.mark.anyio
async def test_itar_work_outside_the_us_is_non_compliant(plant: db.AsyncConn) -> None:
    assert by_rule(await compliance.check_order(plant, "ORD-10007"), "ITAR") == {
        "ORD-10007": "COMPLIANT"
    }
    await execute(plant, "update orders set facility_id = 'MUC' where order_id = 'ORD-10022'")

    check = await compliance.check_order(plant, "ORD-10022")

    [itar] = [f for f in check.findings if f.rule == "ITAR"]
    assert (itar.status, itar.evidence) == ("NON_COMPLIANT", ["MUC (DE)"])


@pytest.mark.anyio
async def test_contract_terms_refuse_rush_other_divisions_and_lapsed_contracts(
    plant: db.AsyncConn,
) -> None:
    await execute(plant, "update orders set is_rush = true where order_id = 'ORD-10019'")
    await execute(
        plant,
        "insert into order_lines (order_id, line_no, sku, quantity, unit_price) "
        "values ('ORD-10019', 9, 'SKU-TB-1001', 2, 2850)",
    )
    await execute(
        plant,
        "update customers set contract_valid_until = '2026-01-31' where customer_id = 'TESLA'",
    )

    check = await compliance.check_order(plant, "ORD-10019")  # Tesla, VALIDATED

    found = {f.rule: f for f in check.findings if f.subject == "ORD-10019"}
    assert found["CONTRACT_RUSH"].status == "NON_COMPLIANT"
    assert found["CONTRACT_DIVISIONS"].evidence == ["line 9 SKU-TB-1001 (AERO)"]
    assert found["CONTRACT_VALID"].status == "NON_COMPLIANT"
    assert found["CONTRACT_VALID"].reason.endswith("after the contract ended on 2026-01-31")
    assert check.status == "NON_COMPLIANT"


@pytest.mark.anyio
async def test_iatf_traceability_wants_the_machines_that_made_each_line(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    before = await compliance.check_order(plant, "ORD-10002")  # Tesla, DELIVERED
    assert set(by_rule(before, "IATF16949").values()) == {"NEEDS_REVIEW"}
    now = fixed_clock.now()
    await execute(
        plant,
        "insert into schedules (schedule_id, status, objective, solver_status, horizon_start, "
        "horizon_end, created_at, created_by, applied_at) values (1, 'APPLIED', 'makespan', "
        "'OPTIMAL', %s, %s, %s, 'test', %s)",
        now - timedelta(days=20),
        now,
        now,
        now,
    )
    await execute(
        plant,
        "insert into schedule_slots (schedule_id, order_id, line_no, op_seq, machine_id, "
        "starts_at, ends_at) select 1, order_id, line_no, 1, 'DET-CNC-001', %s, %s "
        "from order_lines where order_id = 'ORD-10002'",
        now - timedelta(days=15),
        now - timedelta(days=14),
    )

    after = await compliance.check_order(plant, "ORD-10002")

    assert set(by_rule(after, "IATF16949").values()) == {"COMPLIANT"}


async def new_order(conn: db.AsyncConn, order_id: str, at: datetime, *, audited: bool) -> None:
    """An order created after the plant was loaded, as the orders module writes one."""
    async with atomic(conn):
        await conn.execute(
            "insert into orders (order_id, customer_id, facility_id, ship_to_region, due_at, "
            "created_at, updated_at) values (%(id)s, 'RIVIAN', 'DET', 'NA-EAST', "
            "%(due)s, %(at)s, %(at)s)",
            {"id": order_id, "due": at + timedelta(days=30), "at": at},
        )
        await conn.execute(
            "insert into order_lines (order_id, line_no, sku, quantity, unit_price) "
            "values (%s, 1, 'SKU-MH-4001', 100, 385)",
            (order_id,),
        )
        await conn.execute(
            "insert into order_events (order_id, from_status, to_status, at, actor) "
            "values (%s, null, 'CREATED', %s, 'user:planner')",
            (order_id, at),
        )
        if audited:
            await record(
                conn,
                SYSTEM,
                event_type="order.created",
                entity_type="order",
                entity_id=order_id,
                action="create",
                after={"status": "CREATED"},
            )


@pytest.mark.anyio
async def test_iso9001_wants_an_audit_row_for_every_status_change(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    seeded = await compliance.check_order(plant, "ORD-10005")  # Rivian, loaded with the plant
    assert by_rule(seeded, "ISO9001") == {"ORD-10005": "NEEDS_REVIEW"}
    later = fixed_clock.advance(timedelta(hours=1))

    await new_order(plant, "ORD-90001", later, audited=True)
    await new_order(plant, "ORD-90002", later, audited=False)

    assert by_rule(await compliance.check_order(plant, "ORD-90001"), "ISO9001") == {
        "ORD-90001": "COMPLIANT"
    }
    unaudited = await compliance.check_order(plant, "ORD-90002")
    [iso] = [f for f in unaudited.findings if f.rule == "ISO9001"]
    assert iso.status == "NON_COMPLIANT"
    assert iso.evidence[0].startswith("new -> CREATED at ")


@pytest.mark.anyio
async def test_a_customer_check_covers_its_contract_and_its_orders_in_the_period(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    check = await compliance.check_customer(plant, "GE_AEROSPACE", **period(fixed_clock))

    assert sorted(o.order_id for o in check.orders) == ["ORD-10007", "ORD-10014", "ORD-10022"]
    assert check.requirements == ["AS9100", "ITAR", "MATERIAL_CERT"]
    assert check.contract[0].status == "COMPLIANT"
    assert check.status == "NEEDS_REVIEW"  # two orders not yet produced

    await execute(
        plant,
        "update customers set contract_valid_until = %s where customer_id = 'GE_AEROSPACE'",
        (fixed_clock.now() + timedelta(days=10)).date(),
    )
    soon = await compliance.check_customer(plant, "GE_AEROSPACE", **period(fixed_clock))
    assert soon.contract[0].reason.endswith("(10 days left)")


@pytest.mark.anyio
async def test_unknown_ids_and_bad_periods_are_refused(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    now = fixed_clock.now()
    with pytest.raises(NotFoundError, match="no order 'ORD-1'"):
        await compliance.check_order(plant, "ORD-1")
    with pytest.raises(NotFoundError, match="no customer 'ACME'"):
        await compliance.check_customer(plant, "ACME", **period(fixed_clock))
    with pytest.raises(ValidationError, match="time range is empty"):
        await compliance.check_customer(plant, "BOEING", since=now, until=now - timedelta(days=1))
    with pytest.raises(ValidationError, match="at most 366 days"):
        await compliance_report(plant, "FAA_AUDIT", since=now - timedelta(days=400), until=now)
    with pytest.raises(ValidationError, match="report kind 'SOX' is not one of FAA_AUDIT"):
        await compliance_report(plant, "SOX", **period(fixed_clock))


# ───────────────────────── reports over a period ─────────────────────────


@pytest.mark.anyio
async def test_the_faa_audit_of_the_demo_plant_traces_every_aerospace_line_to_certified_material(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    found = await report(plant, "FAA_AUDIT", fixed_clock)

    assert found.status == "COMPLIANT"
    assert found.summary == {"COMPLIANT": len(found.items), "NEEDS_REVIEW": 0, "NON_COMPLIANT": 0}
    subjects = [i.subject for i in found.items]
    assert "ORD-10003 line 1 (SKU-TB-1001) for BOEING" in subjects
    assert not any(s.startswith(("ORD-10013", "ORD-10002")) for s in subjects)  # unmade, MOBILITY
    for i in found.items:
        assert any("MILL_CERT" in e or "FAA_8130_3" in e for e in i.evidence), i.subject


@pytest.mark.anyio
async def test_an_expired_mill_certificate_fails_the_faa_audit_of_the_lines_it_fed(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    await execute(
        plant,
        "update batch_certificates set valid_until = issued_on "
        "where batch_id = 'B-IN718-PHX-1' and kind = 'MILL_CERT'",
    )

    found = await report(plant, "FAA_AUDIT", fixed_clock)

    failing = [i for i in found.items if i.status == "NON_COMPLIANT"]
    assert [i.subject for i in failing] == [
        "ORD-10001 line 3 (SKU-EH-3001) for BOEING",
        "ORD-10009 line 3 (SKU-EH-3001) for BOEING",
    ]
    assert failing[0].reason == "no batch it used had FAA_8130_3 or MILL_CERT in force when used"
    assert found.status == "NON_COMPLIANT"
    # the material test still certifies the batch for material traceability
    material = await report(plant, "MATERIAL_TRACEABILITY", fixed_clock)
    assert item(material, "batch B-IN718-PHX-1").status == "COMPLIANT"


@pytest.mark.anyio
async def test_a_line_with_its_batch_usage_removed_fails_the_faa_audit(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    await execute(plant, "delete from batch_usage where order_id = 'ORD-10003' and line_no = 2")

    found = await report(plant, "FAA_AUDIT", fixed_clock)

    missing = item(found, "ORD-10003 line 2")
    assert (missing.status, missing.reason) == ("NON_COMPLIANT", "traced to no material batch")


@pytest.mark.anyio
async def test_iso_9001_reviews_imported_history_quality_complaints_and_missing_audit_rows(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    found = await report(plant, "ISO_9001", fixed_clock)
    imported = item(found, "audit trail")
    assert imported.status == "NEEDS_REVIEW" and "predate the audit trail" in imported.reason
    assert not [i for i in found.items if i.status == "NON_COMPLIANT"]

    await execute(
        plant,
        "insert into customer_inquiries (customer_id, order_id, channel, kind, subject, body, "
        "received_at) values ('BMW', 'ORD-10006', 'EMAIL', 'QUALITY', 'Burrs on housings', "
        "'Burrs on the flange bores.', %s)",
        fixed_clock.now(),
    )
    await new_order(plant, "ORD-90002", fixed_clock.advance(timedelta(hours=1)), audited=False)

    found = await report(plant, "ISO_9001", fixed_clock)
    complaint = item(found, "INQ-")
    assert (complaint.status, complaint.evidence[0]) == ("NEEDS_REVIEW", "Burrs on housings")
    assert item(found, "ORD-90002").status == "NON_COMPLIANT"
    assert found.status == "NON_COMPLIANT"


@pytest.mark.anyio
async def test_material_traceability_flags_uncertified_and_overused_batches(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    assert (await report(plant, "MATERIAL_TRACEABILITY", fixed_clock)).status == "COMPLIANT"
    await execute(plant, "delete from batch_certificates where batch_id = 'B-TI64-MUC-1'")
    await execute(plant, "update material_batches set quantity = 1 where batch_id = 'B-TI64-PHX-2'")

    found = await report(plant, "MATERIAL_TRACEABILITY", fixed_clock)

    assert item(found, "batch B-TI64-MUC-1").reason == "the batch has no certificate"
    assert item(found, "batch B-TI64-PHX-2").reason == "more used than was received"
    # ORD-10004 line 1 also used a lot with its 8130-3 tag; ORD-10010's line only the bare heat
    lines = [i for i in found.items if i.rule == "LINE_TRACED" and i.status != "COMPLIANT"]
    assert [i.subject for i in lines] == ["ORD-10010 line 1 (SKU-TB-2001) for AIRBUS"]


@pytest.mark.anyio
async def test_supplier_quality_rates_delays_reliability_and_certification(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    found = await report(plant, "SUPPLIER_QUALITY", fixed_clock)
    assert {i.subject: i.status for i in found.items} == {
        "supplier ALUFORM (AluForm Metals)": "COMPLIANT",
        "supplier NIPPONBEARING (NipponBearing)": "NEEDS_REVIEW",  # rated 0.88
        "supplier RHEINTECH (RheinTech Industriebedarf GmbH)": "COMPLIANT",
        "supplier TITANMET (TitanMet Alloys)": "COMPLIANT",
    }

    await execute(
        plant,
        "update purchase_orders set status = 'DELAYED', delay_reason = 'port congestion' "
        "where supplier_id = 'NIPPONBEARING'",
    )
    found = await report(plant, "SUPPLIER_QUALITY", fixed_clock)

    nippon = item(found, "supplier NIPPONBEARING")
    assert nippon.status == "NON_COMPLIANT"
    assert nippon.reason.startswith("on-time delivery 0% is under 80%")
    assert any("DELAYED (port congestion)" in e for e in nippon.evidence)
