"""Compliance reports over a period [since, until), every item COMPLIANT, NON_COMPLIANT or
NEEDS_REVIEW with its reason and evidence.

- FAA_AUDIT: every line of an aerospace (AERO) order produced and active in the period is traced
  to a batch with an FAA 8130-3 tag or a mill certificate in force when the batch was used.
- ISO_9001: audit completeness (every order status change in the period has an audit row; history
  from before the audit trail began is one item to review) and non-conformances: customer quality
  complaints, shipments in EXCEPTION, machines whose defect rate exceeds DEFECT_LIMIT.
- MATERIAL_TRACEABILITY: every batch received or used in the period is certified, was certified
  at each use and was not over-used; every certified line produced in the period is traced.
- SUPPLIER_QUALITY: per supplier with purchase orders or batches in the period: on-time delivery
  (late receipts, overdue and delayed orders), reliability, status, uncertified material.

An order is active in the period when it was created before its end and last changed after its
start; it counts as produced once it has reached IN_PRODUCTION.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any, Literal, LiteralString

from pydantic import BaseModel

from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.errors import ValidationError
from tools.governance.audit import certificates, line_materials
from tools.governance.compliance import (
    FAA_CERTS,
    RANK,
    Finding,
    Verdict,
    audit_coverage,
    check_period,
    finding,
    status_changes,
    worst,
)

ReportKind = Literal["FAA_AUDIT", "ISO_9001", "MATERIAL_TRACEABILITY", "SUPPLIER_QUALITY"]
REPORT_KINDS: tuple[ReportKind, ...] = (
    "FAA_AUDIT",
    "ISO_9001",
    "MATERIAL_TRACEABILITY",
    "SUPPLIER_QUALITY",
)
DEFECT_LIMIT = 0.05  # a machine's share of defective parts above which it needs review
ON_TIME_FLOOR = 0.8  # a supplier's on-time share below which it is non-compliant
RELIABILITY_FLOOR = 0.9  # a supplier's rated reliability below which it needs review


class ComplianceReport(BaseModel):
    """A compliance report over a period: every item with its verdict, and the totals."""

    kind: ReportKind
    since: datetime
    until: datetime
    status: Verdict
    summary: dict[str, int]
    items: list[Finding]
    generated_at: datetime


async def compliance_report(
    conn: AsyncConn, kind: str, *, since: datetime, until: datetime
) -> ComplianceReport:
    """The `kind` report (FAA_AUDIT, ISO_9001, MATERIAL_TRACEABILITY or SUPPLIER_QUALITY) over
    [since, until)."""
    if kind not in REPORT_KINDS:
        raise ValidationError(f"report kind {kind!r} is not one of {', '.join(REPORT_KINDS)}")
    check_period(since, until)
    period = {"since": since, "until": until}
    items = await _BUILDERS[kind](conn, period)
    return ComplianceReport(
        kind=kind,
        since=since.astimezone(UTC),
        until=until.astimezone(UTC),
        status=worst(i.status for i in items),
        summary={v: sum(1 for i in items if i.status == v) for v in RANK},
        items=items,
        generated_at=clock.now(),
    )


async def _rows(
    conn: AsyncConn, query: LiteralString, params: dict[str, Any]
) -> list[dict[str, Any]]:
    cur = await conn.execute(query, params)
    return await cur.fetchall()


_PRODUCED_LINES = """
select o.order_id, o.customer_id, l.line_no, l.sku
from orders o join order_lines l on l.order_id = o.order_id join products p on p.sku = l.sku
where o.created_at < %(until)s and o.updated_at >= %(since)s
  and (%(division)s::text is null or p.division_id = %(division)s)
  and (not %(certified_only)s or p.requires_certification)
  and (o.status in ('IN_PRODUCTION', 'READY', 'SHIPPED', 'DELIVERED', 'COMPLETED')
       or exists (select 1 from order_events oe where oe.order_id = o.order_id
                  and oe.to_status = 'IN_PRODUCTION'))
order by o.created_at, o.order_id, l.line_no
"""


async def _traced_lines(
    conn: AsyncConn,
    period: dict[str, Any],
    *,
    rule: str,
    kinds: tuple[str, ...] | None,
    **where: Any,
) -> list[Finding]:
    lines = await _rows(
        conn, _PRODUCED_LINES, period | {"division": None, "certified_only": False} | where
    )
    materials = await line_materials(conn, sorted({r["order_id"] for r in lines}))
    items = []
    for line in lines:
        subject = (
            f"{line['order_id']} line {line['line_no']} ({line['sku']}) for {line['customer_id']}"
        )
        batches = materials.get((line["order_id"], line["line_no"]), [])
        good = [b for b in batches if b.certified_on_use(kinds)]
        if not batches:
            items.append(finding(subject, rule, "NON_COMPLIANT", "traced to no material batch"))
        elif not good:
            wanted = " or ".join(kinds) if kinds else "any certificate"
            items.append(
                finding(
                    subject,
                    rule,
                    "NON_COMPLIANT",
                    f"no batch it used had {wanted} in force when used",
                    [e for b in batches for e in (b.describe(), b.lapsed())],
                )
            )
        else:
            items.append(
                finding(
                    subject,
                    rule,
                    "COMPLIANT",
                    "traced to certified material",
                    [b.describe(kinds) for b in good],
                )
            )
    return items


async def _faa_audit(conn: AsyncConn, period: dict[str, Any]) -> list[Finding]:
    return await _traced_lines(
        conn, period, rule="FAA_TRACEABILITY", kinds=FAA_CERTS, division="AERO"
    )


# ───────────────────────── ISO 9001 ─────────────────────────

_QUALITY_INQUIRIES = """
select inquiry_id, customer_id, order_id, status, subject from customer_inquiries
where kind = 'QUALITY' and received_at >= %(since)s and received_at < %(until)s
order by received_at, inquiry_id
"""
_EXCEPTIONS = """
select s.shipment_id, s.order_id, (select note from shipment_events se
    where se.shipment_id = s.shipment_id order by at desc limit 1) as note
from shipments s where s.status = 'EXCEPTION' and s.created_at < %(until)s
  and coalesce(s.delivered_at, %(until)s) >= %(since)s
order by s.shipment_id
"""
_DEFECTS = """
select machine_id, sum(parts_produced) as produced, sum(parts_defective) as defective
from production_counters
where shift_date >= %(since)s::date and shift_date < %(until)s::date
group by machine_id having sum(parts_produced) > 0 order by machine_id
"""


async def _iso_9001(conn: AsyncConn, period: dict[str, Any]) -> list[Finding]:
    cur = await conn.execute(
        "select distinct order_id from order_events where at >= %(since)s and at < %(until)s "
        "order by order_id",
        period,
    )
    ids = [r["order_id"] for r in await cur.fetchall()]
    changes = await status_changes(conn, ids, period["since"], period["until"])
    items: list[Finding] = []
    imported = 0
    for order_id in ids:
        live = [c for c in changes[order_id] if not c["imported"]]
        imported += len(changes[order_id]) - len(live)
        if live:
            items.append(audit_coverage(order_id, live))
    if imported:
        items.append(
            finding(
                "audit trail",
                "ISO9001_AUDIT",
                "NEEDS_REVIEW",
                f"{imported} order status change(s) in the period predate the audit trail "
                "(history loaded with the plant); they have no audit rows",
            )
        )
    for q in await _rows(conn, _QUALITY_INQUIRIES, period):
        handled = q["status"] != "OPEN"
        items.append(
            finding(
                q["inquiry_id"],
                "ISO9001_NONCONFORMANCE",
                "COMPLIANT" if handled else "NEEDS_REVIEW",
                f"customer quality complaint from {q['customer_id']}, "
                + ("answered" if handled else "still open"),
                [q["subject"], *([f"order {q['order_id']}"] if q["order_id"] else [])],
            )
        )
    for s in await _rows(conn, _EXCEPTIONS, period):
        items.append(
            finding(
                s["shipment_id"],
                "ISO9001_NONCONFORMANCE",
                "NEEDS_REVIEW",
                f"shipment of {s['order_id']} in EXCEPTION",
                [s["note"] or "no tracking note"],
            )
        )
    within = 0
    for m in await _rows(conn, _DEFECTS, period):
        rate = m["defective"] / m["produced"]
        if rate > DEFECT_LIMIT:
            items.append(
                finding(
                    m["machine_id"],
                    "ISO9001_NONCONFORMANCE",
                    "NEEDS_REVIEW",
                    f"defect rate {rate:.1%} exceeds {DEFECT_LIMIT:.0%}",
                    [f"{m['defective']} of {m['produced']} parts defective"],
                )
            )
        else:
            within += 1
    if within:
        items.append(
            finding(
                "production",
                "ISO9001_NONCONFORMANCE",
                "COMPLIANT",
                f"{within} machine(s) within the {DEFECT_LIMIT:.0%} defect limit",
            )
        )
    return items


# ───────────────────────── material traceability ─────────────────────────

_BATCHES = """
select b.batch_id, b.sku, b.quantity, b.received_at, s.name as supplier_name,
    s.status as supplier_status,
    coalesce((select jsonb_agg(jsonb_build_object('order_id', u.order_id, 'line_no', u.line_no,
        'quantity', u.quantity, 'used_at', u.used_at) order by u.used_at)
        from batch_usage u where u.batch_id = b.batch_id), '[]') as uses
from material_batches b join suppliers s on s.supplier_id = b.supplier_id
where (b.received_at >= %(since)s and b.received_at < %(until)s)
   or exists (select 1 from batch_usage u where u.batch_id = b.batch_id
              and u.used_at >= %(since)s and u.used_at < %(until)s)
order by b.batch_id
"""


async def _material_traceability(conn: AsyncConn, period: dict[str, Any]) -> list[Finding]:
    batches = await _rows(conn, _BATCHES, period)
    certs = await certificates(conn, [b["batch_id"] for b in batches])
    items: list[Finding] = []
    for b in batches:
        held = certs.get(b["batch_id"], [])
        used = sum(u["quantity"] for u in b["uses"])
        bare = [
            f"{u['order_id']} line {u['line_no']} on {day.isoformat()}"
            for u in b["uses"]
            if not any(c.valid_on(day := _day(u["used_at"])) for c in held)
        ]
        evidence = [f"{c.kind} {c.certificate_id} ({c.document_ref})" for c in held]
        evidence.append(f"received {b['quantity']}, used {used}, from {b['supplier_name']}")
        subject, rule = f"batch {b['batch_id']} ({b['sku']})", "MATERIAL_CERTIFIED"
        if not held:
            items.append(
                finding(subject, rule, "NON_COMPLIANT", "the batch has no certificate", evidence)
            )
        elif bare:
            items.append(
                finding(
                    subject,
                    rule,
                    "NON_COMPLIANT",
                    "used while no certificate was in force",
                    bare + evidence,
                )
            )
        elif used > b["quantity"]:
            items.append(
                finding(subject, rule, "NON_COMPLIANT", "more used than was received", evidence)
            )
        elif b["supplier_status"] == "BLOCKED":
            items.append(
                finding(subject, rule, "NEEDS_REVIEW", "its supplier is now BLOCKED", evidence)
            )
        else:
            items.append(
                finding(
                    subject, rule, "COMPLIANT", "certified, and certified at every use", evidence
                )
            )
    return items + await _traced_lines(
        conn, period, rule="LINE_TRACED", kinds=None, certified_only=True
    )


def _day(iso: str) -> date:
    return datetime.fromisoformat(iso).astimezone(UTC).date()


# ───────────────────────── supplier quality ─────────────────────────

_SUPPLIERS = """
select s.supplier_id, s.name, s.reliability, s.status,
    coalesce((select jsonb_agg(jsonb_build_object('po_id', po.po_id, 'status', po.status,
        'expected_at', po.expected_at, 'received_at', po.received_at,
        'delay_reason', po.delay_reason) order by po.ordered_at)
        from purchase_orders po where po.supplier_id = s.supplier_id
        and po.ordered_at >= %(since)s and po.ordered_at < %(until)s), '[]') as pos,
    array(select b.batch_id from material_batches b join products p on p.sku = b.sku
          where b.supplier_id = s.supplier_id and not p.is_manufactured
          and b.received_at >= %(since)s and b.received_at < %(until)s
          and not exists (select 1 from batch_certificates c where c.batch_id = b.batch_id
                          and c.kind in ('MILL_CERT', 'CERT_OF_CONFORMANCE'))
          order by b.batch_id) as uncertified
from suppliers s
where exists (select 1 from purchase_orders po where po.supplier_id = s.supplier_id
              and po.ordered_at >= %(since)s and po.ordered_at < %(until)s)
   or exists (select 1 from material_batches b where b.supplier_id = s.supplier_id
              and b.received_at >= %(since)s and b.received_at < %(until)s)
order by s.supplier_id
"""


def _delivery(pos: list[dict[str, Any]], now: datetime) -> tuple[int, list[str]]:
    """How many orders can be judged on time or late, and the late ones described."""
    judged, late = 0, []
    for po in pos:
        if po["status"] == "CANCELLED":
            continue
        expected = datetime.fromisoformat(po["expected_at"])
        received = datetime.fromisoformat(po["received_at"]) if po["received_at"] else None
        if received is not None:
            judged += 1
            if received > expected:
                late.append(f"{po['po_id']}: received {(received - expected).days} day(s) late")
        elif po["status"] == "DELAYED" or expected < now:
            judged += 1
            why = f" ({po['delay_reason']})" if po["delay_reason"] else ""
            overdue = max((now - expected).days, 0)
            late.append(
                f"{po['po_id']}: {po['status']}{why}, {overdue} day(s) past its expected date"
            )
    return judged, late


async def _supplier_quality(conn: AsyncConn, period: dict[str, Any]) -> list[Finding]:
    items = []
    now = clock.now()
    for s in await _rows(conn, _SUPPLIERS, period):
        judged, late = _delivery(s["pos"], now)
        on_time = (judged - len(late)) / judged if judged else None
        evidence = [
            f"{len(s['pos'])} purchase order(s) in the period, {judged} due or received",
            f"on time: {on_time:.0%}" if on_time is not None else "on time: nothing due yet",
            f"rated reliability {s['reliability']}, status {s['status']}",
            *late,
            *(
                f"batch {b} has no mill certificate or certificate of conformance"
                for b in s["uncertified"]
            ),
        ]
        reasons: dict[Verdict, list[str]] = defaultdict(list)
        if s["status"] == "BLOCKED":
            reasons["NON_COMPLIANT"].append("the supplier is BLOCKED")
        if on_time is not None and on_time < ON_TIME_FLOOR:
            reasons["NON_COMPLIANT"].append(
                f"on-time delivery {on_time:.0%} is under {ON_TIME_FLOOR:.0%}"
            )
        if s["uncertified"]:
            reasons["NON_COMPLIANT"].append("material delivered without a certificate")
        if late:
            reasons["NEEDS_REVIEW"].append(f"{len(late)} late or delayed purchase order(s)")
        if s["status"] == "ON_HOLD":
            reasons["NEEDS_REVIEW"].append("the supplier is ON_HOLD")
        if s["reliability"] < RELIABILITY_FLOOR:
            reasons["NEEDS_REVIEW"].append(
                f"rated reliability {s['reliability']} is under {RELIABILITY_FLOOR}"
            )
        verdict = worst(reasons) if reasons else "COMPLIANT"
        reason = "; ".join(reasons[verdict]) if reasons else "on time, certified and reliable"
        items.append(
            finding(
                f"supplier {s['supplier_id']} ({s['name']})",
                "SUPPLIER_QUALITY",
                verdict,
                reason,
                evidence,
            )
        )
    return items


_BUILDERS = {
    "FAA_AUDIT": _faa_audit,
    "ISO_9001": _iso_9001,
    "MATERIAL_TRACEABILITY": _material_traceability,
    "SUPPLIER_QUALITY": _supplier_quality,
}
