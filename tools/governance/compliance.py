"""Compliance checks: an order or a customer against its contract terms. Every finding is
COMPLIANT, NON_COMPLIANT or NEEDS_REVIEW, with its reason and the evidence it rests on (reports
over a period are `tools.governance.reports`).

Contract rules, for every order: the contract was in force, the products are of divisions the
customer may buy, a rush order is allowed. Then one rule per requirement in
`customer_compliance`:

- AS9100: each made line has an inspection step in its routing; once produced, each certified
  line is traced to material batches.
- FAA_8130_3: each certified line carries an FAA 8130-3 release tag in force: pending before final
  inspection, NON_COMPLIANT once shipped without one.
- MATERIAL_CERT: each certified line's material had a mill certificate, material test or
  certificate of conformance in force when it was used, and no batch used was uncertified.
- ITAR: every facility that held, made or shipped the order is in the US, and it ships to North
  America.
- IATF16949: each made line has an inspection step (control plan); once produced, a machine is
  recorded for it.
- ISO9001: each of the order's status changes has an audit row (status history from before the
  audit trail began, when the demo plant was loaded, needs review instead).

Rules that need production records give NEEDS_REVIEW ("pending: ...") before production starts.
Certificates count when they were in force on the day their batch was used.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel

from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.errors import NotFoundError, ValidationError
from tools.governance.audit import UsedBatch, check_range, line_materials

Verdict = Literal["COMPLIANT", "NON_COMPLIANT", "NEEDS_REVIEW"]
MAX_PERIOD = timedelta(days=366)
MATERIAL_CERTS = ("MILL_CERT", "MATERIAL_TEST", "CERT_OF_CONFORMANCE")
FAA_CERTS = ("FAA_8130_3", "MILL_CERT")
RANK: dict[Verdict, int] = {"COMPLIANT": 0, "NEEDS_REVIEW": 1, "NON_COMPLIANT": 2}


class Finding(BaseModel):
    """One rule applied to one subject."""

    subject: str
    rule: str
    status: Verdict
    reason: str
    evidence: list[str] = []


class OrderCompliance(BaseModel):
    """An order checked against its customer's contract."""

    order_id: str
    customer_id: str
    status: Verdict
    requirements: list[str]
    findings: list[Finding]
    checked_at: datetime


class CustomerCompliance(BaseModel):
    """A customer's contract and each of its orders in a period, checked."""

    customer_id: str
    status: Verdict
    requirements: list[str]
    contract: list[Finding]
    orders: list[OrderCompliance]
    checked_at: datetime


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    """The most severe verdict (COMPLIANT when there is none)."""
    return max(verdicts, key=RANK.__getitem__, default="COMPLIANT")


def finding(
    subject: str, rule: str, status: Verdict, reason: str, evidence: Iterable[str] = ()
) -> Finding:
    return Finding(
        subject=subject, rule=rule, status=status, reason=reason, evidence=list(evidence)
    )


# ───────────────────────── loading an order for checking ─────────────────────────

_ORDERS = """
select o.order_id, o.customer_id, o.status, o.is_rush, o.facility_id, o.ship_to_region,
    o.created_at, c.rush_allowed, c.contract_valid_until,
    array(select requirement from customer_compliance cc where cc.customer_id = o.customer_id
          order by requirement) as requirements,
    array(select division_id from customer_divisions cd where cd.customer_id = o.customer_id)
        as divisions,
    o.status in ('IN_PRODUCTION', 'READY', 'SHIPPED', 'DELIVERED', 'COMPLETED') or exists (
        select 1 from order_events oe where oe.order_id = o.order_id
        and oe.to_status = 'IN_PRODUCTION') as produced,
    o.status in ('SHIPPED', 'DELIVERED', 'COMPLETED') or exists (
        select 1 from order_events oe where oe.order_id = o.order_id
        and oe.to_status = 'SHIPPED') as shipped,
    coalesce((select jsonb_agg(jsonb_build_object(
        'line_no', l.line_no, 'sku', l.sku, 'division_id', p.division_id,
        'certified', p.requires_certification, 'made', p.is_manufactured,
        'inspected', exists (select 1 from routings r where r.sku = l.sku
                             and r.wc_type = 'INSPECTION'),
        'worked', exists (select 1 from batch_usage u where (u.order_id, u.line_no)
                            = (l.order_id, l.line_no) and u.machine_id is not null)
                  or exists (select 1 from schedule_slots ss join schedules s
                             on s.schedule_id = ss.schedule_id and s.applied_at is not null
                             where (ss.order_id, ss.line_no) = (l.order_id, l.line_no)))
        order by l.line_no)
        from order_lines l join products p on p.sku = l.sku where l.order_id = o.order_id),
        '[]') as lines,
    array(select distinct f.facility_id || ' (' || f.country || ')'
          from facilities f where f.country <> 'US' and f.facility_id in (
              select o.facility_id union select facility_id from stock_reservations r
              where r.order_id = o.order_id and r.status <> 'RELEASED'
              union select origin_facility_id from shipments s
              where s.order_id = o.order_id union select e.facility_id from batch_usage u
              join equipment e on e.machine_id = u.machine_id where u.order_id = o.order_id
              union select e.facility_id from schedule_slots ss join equipment e
              on e.machine_id = ss.machine_id where ss.order_id = o.order_id)) as foreign_sites
from orders o join customers c on c.customer_id = o.customer_id
where o.order_id = any(%s) order by o.created_at, o.order_id
"""

# An order status change counts as audited when an audit row of the order lies within a second
# of it and (when it records a status) records the same one.
_STATUS_CHANGES = """
with start as (select max(occurred_at) as at from event_log where type = 'plant.seeded')
select oe.order_id, oe.from_status, oe.to_status, oe.at,
    oe.at < coalesce((select at from start), '-infinity') as imported,
    exists (select 1 from audit_log a where a.entity_type = 'order' and a.entity_id = oe.order_id
            and a.at between oe.at - interval '1 second' and oe.at + interval '1 second'
            and coalesce(a.after ->> 'status', oe.to_status) = oe.to_status) as audited
from order_events oe
where oe.order_id = any(%(orders)s)
  and (%(since)s::timestamptz is null or oe.at >= %(since)s)
  and (%(until)s::timestamptz is null or oe.at < %(until)s)
order by oe.order_id, oe.at, oe.order_event_id
"""


async def _orders(conn: AsyncConn, order_ids: list[str]) -> list[dict[str, Any]]:
    cur = await conn.execute(_ORDERS, (order_ids,))
    return await cur.fetchall()


async def status_changes(
    conn: AsyncConn, order_ids: list[str], since: datetime | None, until: datetime | None
) -> dict[str, list[dict[str, Any]]]:
    cur = await conn.execute(_STATUS_CHANGES, {"orders": order_ids, "since": since, "until": until})
    found: dict[str, list[dict[str, Any]]] = {o: [] for o in order_ids}
    for row in await cur.fetchall():
        found[row["order_id"]].append(row)
    return found


# ───────────────────────── the rules ─────────────────────────


def _contract(order: dict[str, Any]) -> list[Finding]:
    oid, until = order["order_id"], order["contract_valid_until"]
    placed = order["created_at"].astimezone(UTC).date()
    still_open = order["status"] not in ("DELIVERED", "COMPLETED", "CANCELLED")
    valid: tuple[Verdict, str] = ("COMPLIANT", f"placed on {placed}; the contract runs to {until}")
    if placed > until:
        valid = "NON_COMPLIANT", f"placed on {placed} after the contract ended on {until}"
    elif still_open and clock.now().date() > until:
        valid = "NON_COMPLIANT", f"still open, but the contract ended on {until}"
    outside = [
        f"line {x['line_no']} {x['sku']} ({x['division_id']})"
        for x in order["lines"]
        if x["division_id"] not in order["divisions"]
    ]
    allowed = ", ".join(sorted(order["divisions"])) or "none"
    findings = [
        finding(oid, "CONTRACT_VALID", *valid),
        finding(
            oid,
            "CONTRACT_DIVISIONS",
            "NON_COMPLIANT" if outside else "COMPLIANT",
            f"products outside the divisions the customer may buy ({allowed})"
            if outside
            else f"every product is of a division the customer buys ({allowed})",
            outside,
        ),
    ]
    if order["is_rush"]:
        ok = order["rush_allowed"]
        verdict: Verdict = "COMPLIANT" if ok else "NON_COMPLIANT"
        why = "the contract allows rush orders" if ok else "a rush order; the contract forbids rush"
        findings.append(finding(oid, "CONTRACT_RUSH", verdict, why))
    return findings


def _line_rules(
    requirement: str, order: dict[str, Any], materials: dict[tuple[str, int], list[UsedBatch]]
) -> list[Finding]:
    findings = []
    for line in order["lines"]:
        subject = f"{order['order_id']} line {line['line_no']} ({line['sku']})"
        batches = materials.get((order["order_id"], line["line_no"]), [])
        outcome = _LINE_RULES[requirement](order, line, batches)
        if outcome is not None:
            status, reason, evidence = outcome
            findings.append(finding(subject, requirement, status, reason, evidence))
    return findings


Outcome = tuple[Verdict, str, list[str]] | None


def _as9100(order: dict[str, Any], line: dict[str, Any], batches: list[UsedBatch]) -> Outcome:
    if line["made"] and not line["inspected"]:
        return "NON_COMPLIANT", "the routing has no inspection operation", []
    if not line["certified"]:
        return "COMPLIANT", "inspection planned; the product needs no material certification", []
    if not order["produced"]:
        return "NEEDS_REVIEW", "pending: traceability is checked once production starts", []
    if not batches:
        return "NON_COMPLIANT", "produced, but traced to no material batch", []
    return "COMPLIANT", "inspected and traced to material", [b.describe() for b in batches]


def _faa_8130_3(order: dict[str, Any], line: dict[str, Any], batches: list[UsedBatch]) -> Outcome:
    if not line["certified"]:
        return None
    tagged = [b for b in batches if b.certified_on_use(("FAA_8130_3",))]
    if tagged:
        return (
            "COMPLIANT",
            "released with an FAA 8130-3 tag",
            [b.describe(("FAA_8130_3",)) for b in tagged],
        )
    if order["shipped"]:
        return (
            "NON_COMPLIANT",
            "shipped without an FAA 8130-3 release tag in force",
            [b.describe() for b in batches],
        )
    return (
        "NEEDS_REVIEW",
        "pending: the 8130-3 tag is issued at final inspection, before shipping",
        [],
    )


def _material_cert(
    order: dict[str, Any], line: dict[str, Any], batches: list[UsedBatch]
) -> Outcome:
    if not line["certified"]:
        return None
    if not order["produced"]:
        return "NEEDS_REVIEW", "pending: material is checked once it is issued to production", []
    if not batches:
        return "NON_COMPLIANT", "produced, but traced to no material batch", []
    bare = [b for b in batches if not b.certified_on_use()]
    certified = [b for b in batches if b.certified_on_use(MATERIAL_CERTS)]
    if bare:
        return (
            "NON_COMPLIANT",
            "material used without a certificate in force",
            [b.lapsed() for b in bare],
        )
    if not certified:
        return (
            "NON_COMPLIANT",
            "no mill certificate, material test or conformance certificate",
            [b.describe() for b in batches],
        )
    return (
        "COMPLIANT",
        "material certified when used",
        [b.describe(MATERIAL_CERTS) for b in certified],
    )


def _iatf16949(order: dict[str, Any], line: dict[str, Any], batches: list[UsedBatch]) -> Outcome:
    if not line["made"]:
        return None
    if not line["inspected"]:
        return "NON_COMPLIANT", "the control plan (routing) has no inspection operation", []
    if not order["produced"]:
        return (
            "NEEDS_REVIEW",
            "pending: production traceability is checked once production starts",
            [],
        )
    if not line["worked"]:
        return (
            "NEEDS_REVIEW",
            "no production record (batch usage or applied schedule) names a machine",
            [],
        )
    return "COMPLIANT", "inspection in the control plan and the producing machines recorded", []


_LINE_RULES = {
    "AS9100": _as9100,
    "FAA_8130_3": _faa_8130_3,
    "MATERIAL_CERT": _material_cert,
    "IATF16949": _iatf16949,
}


def _itar(order: dict[str, Any]) -> Finding:
    oid = order["order_id"]
    if order["foreign_sites"]:
        return finding(
            oid,
            "ITAR",
            "NON_COMPLIANT",
            "ITAR-controlled work held, made or shipped outside the US",
            order["foreign_sites"],
        )
    if not order["ship_to_region"].startswith("NA-"):
        return finding(
            oid,
            "ITAR",
            "NON_COMPLIANT",
            f"ships to {order['ship_to_region']}, outside North America",
        )
    return finding(oid, "ITAR", "COMPLIANT", "held, made and shipped in the US, to North America")


def audit_coverage(order_id: str, changes: list[dict[str, Any]]) -> Finding:
    def label(c: dict[str, Any]) -> str:
        return f"{c['from_status'] or 'new'} -> {c['to_status']} at {c['at'].isoformat()}"

    missing = [label(c) for c in changes if not c["audited"] and not c["imported"]]
    imported = [label(c) for c in changes if not c["audited"] and c["imported"]]
    if missing:
        return finding(
            order_id,
            "ISO9001",
            "NON_COMPLIANT",
            f"{len(missing)} status change(s) without an audit row",
            missing,
        )
    if imported:
        return finding(
            order_id,
            "ISO9001",
            "NEEDS_REVIEW",
            "status history from before the audit trail began has no audit rows",
            imported,
        )
    return finding(
        order_id, "ISO9001", "COMPLIANT", f"all {len(changes)} status change(s) have audit rows"
    )


async def _check(conn: AsyncConn, orders: list[dict[str, Any]]) -> list[OrderCompliance]:
    ids = [o["order_id"] for o in orders]
    materials = await line_materials(conn, ids)
    changes = await status_changes(conn, ids, None, None)
    checked = []
    for order in orders:
        findings = _contract(order)
        for requirement in order["requirements"]:
            if requirement in _LINE_RULES:
                findings += _line_rules(requirement, order, materials)
            elif requirement == "ITAR":
                findings.append(_itar(order))
            elif requirement == "ISO9001":
                findings.append(audit_coverage(order["order_id"], changes[order["order_id"]]))
        checked.append(
            OrderCompliance(
                order_id=order["order_id"],
                customer_id=order["customer_id"],
                status=worst(f.status for f in findings),
                requirements=order["requirements"],
                findings=findings,
                checked_at=clock.now(),
            )
        )
    return checked


async def check_order(conn: AsyncConn, order_id: str) -> OrderCompliance:
    """One order checked against its customer's contract terms and compliance requirements."""
    orders = await _orders(conn, [order_id])
    if not orders:
        raise NotFoundError(
            f"no order {order_id!r} to check; order IDs look like ORD-10001",
            entity="order",
            id=str(order_id),
        )
    return (await _check(conn, orders))[0]


async def check_customer(
    conn: AsyncConn, customer_id: str, *, since: datetime, until: datetime
) -> CustomerCompliance:
    """A customer's contract, and every order of theirs active in [since, until), checked."""
    check_period(since, until)
    cur = await conn.execute(
        "select contract_valid_until, array(select requirement from customer_compliance cc "
        "where cc.customer_id = c.customer_id order by requirement) as requirements "
        "from customers c where customer_id = %s",
        (customer_id,),
    )
    customer = await cur.fetchone()
    if customer is None:
        raise NotFoundError(
            f"no customer {customer_id!r} to check", entity="customer", id=str(customer_id)
        )
    cur = await conn.execute(
        "select order_id from orders where customer_id = %(customer)s and created_at < %(until)s "
        "and updated_at >= %(since)s order by created_at, order_id",
        {"customer": customer_id, "since": since, "until": until},
    )
    ids = [r["order_id"] for r in await cur.fetchall()]
    orders = await _check(conn, await _orders(conn, ids)) if ids else []
    ends, today = customer["contract_valid_until"], clock.now().date()
    left = (ends - today).days
    contract = [
        finding(
            customer_id,
            "CONTRACT_VALID",
            "NON_COMPLIANT" if left < 0 else "NEEDS_REVIEW" if left <= 30 else "COMPLIANT",
            f"the contract ended on {ends}"
            if left < 0
            else f"the contract runs to {ends} ({left} days left)",
        )
    ]
    return CustomerCompliance(
        customer_id=customer_id,
        status=worst([*(f.status for f in contract), *(o.status for o in orders)]),
        requirements=customer["requirements"],
        contract=contract,
        orders=orders,
        checked_at=clock.now(),
    )


def check_period(since: datetime, until: datetime) -> None:
    """Refuse naive times, empty periods and periods longer than MAX_PERIOD."""
    check_range(since, until)
    if until - since > MAX_PERIOD:
        raise ValidationError(
            f"a compliance period may span at most {MAX_PERIOD.days} days; "
            f"{since.date()} to {until.date()} spans {(until - since).days}"
        )
