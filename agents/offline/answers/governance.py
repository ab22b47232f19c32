"""Answers about the audit trail, traceability, compliance and Titan's own data."""

from __future__ import annotations

from typing import Any

from agents.offline.answers import answer
from agents.offline.answers.common import day, label, listing, plural, rows_of, table, when, words
from agents.offline.planner import Progress


@answer("traceability")
def traceability(p: Progress) -> str:
    d = p.result("order_traceability") or {}
    order = d.get("order") or {}
    lines = [ln for ln in d.get("lines") or [] if isinstance(ln, dict)]
    rows: list[list[Any]] = []
    for ln in lines:
        for b in ln.get("batches") or []:
            certs = listing(
                [
                    f"{c.get('kind')} {c.get('certificate_id')} ({words(c.get('status'))})"
                    for c in b.get("certificates") or []
                ],
                3,
            )
            rows.append(
                [
                    ln.get("line_no"),
                    ln.get("sku"),
                    b.get("batch_id"),
                    b.get("supplier_name") or b.get("supplier_id"),
                    b.get("heat_number"),
                    b.get("machine_id"),
                    certs or "—",
                ]
            )
    machines = sorted(
        {str(m.get("machine_id")) for m in d.get("machines") or [] if isinstance(m, dict)}
    )
    shipments = [s for s in d.get("shipments") or [] if isinstance(s, dict)]
    lead = (
        f"Traceability of {order.get('order_id')} for "
        f"{order.get('customer_name') or order.get('customer_id')} "
        f"({words(order.get('status'))}): {plural(len(lines), 'line')}, material from "
        f"{plural(len(rows), 'batch', 'batches')}"
    )
    if machines:
        lead += f", made on {listing(machines)}"
    if shipments:
        lead += f", shipped in {listing([str(s.get('shipment_id')) for s in shipments])}"
    lead += (
        f"; {plural(len(d.get('events') or []), 'event')} and "
        f"{plural(len(d.get('audit') or []), 'audit entry', 'audit entries')} on record."
    )
    grid = table(
        ["Line", "SKU", "Batch", "Supplier", "Heat", "Machine", "Certificates"], rows, limit=15
    )
    return (
        f"{lead}\n\n{grid}" if grid else lead + " No material batches are recorded for its lines."
    )


@answer("batch")
def batch(p: Progress) -> str:
    d = p.result("trace_batch") or {}
    supplier = d.get("supplier") or {}
    certs = [c for c in d.get("certificates") or [] if isinstance(c, dict)]
    lead = (
        f"Batch {d.get('batch_id')} ({d.get('product_name') or d.get('sku')}, heat "
        f"{d.get('heat_number')}) came from "
        f"{supplier.get('name') or supplier.get('supplier_id')} on {day(d.get('received_at'))}: "
        f"{d.get('quantity')} received, {d.get('used_quantity')} used, "
        f"{d.get('remaining_quantity')} left at "
        f"{label('facility', d.get('facility_id'))}. It is "
        f"{'certified' if d.get('certified') else 'NOT certified'}"
    )
    if certs:
        lead += (
            " ("
            + listing(
                [
                    f"{c.get('kind')} {c.get('certificate_id')}, {words(c.get('status'))}, valid "
                    f"until {day(c.get('valid_until'))}"
                    for c in certs
                ],
                3,
            )
            + ")"
        )
    orders = d.get("orders") or []
    lead += f". Used in {listing([str(o) for o in orders]) if orders else 'no order yet'}"
    machines = d.get("machines") or []
    if machines:
        lead += f", on {listing([str(m) for m in machines])}"
    return lead + "."


def _findings(findings: list[dict[str, Any]]) -> str:
    failed = [f for f in findings if f.get("status") not in ("PASS", "OK", "PASSED")]
    if not failed:
        return ""
    return "; ".join(f"{f.get('subject')}: {f.get('rule')} — {f.get('reason')}" for f in failed[:5])


@answer("compliance")
def compliance(p: Progress) -> str:
    d = p.result("check_order_compliance") or {}
    findings = [f for f in d.get("findings") or [] if isinstance(f, dict)]
    problems = _findings(findings)
    reqs = listing(d.get("requirements") or [], 6)
    head = f"{d.get('order_id')} for {label('customer', d.get('customer_id'))}"
    if not problems:
        return f"{head} is compliant: all {plural(len(findings), 'check')} pass ({reqs})."
    return f"{head} is {words(d.get('status'))}: {problems}."


@answer("customer_compliance")
def customer_compliance(p: Progress) -> str:
    d = p.result("check_customer_compliance") or {}
    orders = [o for o in d.get("orders") or [] if isinstance(o, dict)]
    bad = [o for o in orders if o.get("status") not in ("COMPLIANT", "PASS", "OK")]
    contract = _findings([f for f in d.get("contract") or [] if isinstance(f, dict)])
    lead = (
        f"{label('customer', d.get('customer_id'))} is {words(d.get('status'))}: "
        f"{plural(len(orders), 'order')} checked, {len(bad)} with findings"
    )
    if contract:
        lead += f"; contract: {contract}"
    grid = table(
        ["Order", "Status", "Findings"],
        [
            [
                o.get("order_id"),
                words(o.get("status")),
                _findings([f for f in o.get("findings") or [] if isinstance(f, dict)]) or "—",
            ]
            for o in orders
        ],
    )
    return f"{lead}.\n\n{grid}" if grid else lead + "."


@answer("report")
def report(p: Progress) -> str:
    d = p.result("compliance_report") or {}
    items = [i for i in d.get("items") or [] if isinstance(i, dict)]
    failed = [i for i in items if i.get("status") not in ("PASS", "OK", "PASSED")]
    summary = d.get("summary") or {}
    lead = (
        f"{words(d.get('kind')).upper() if d.get('kind') == 'FAA_AUDIT' else words(d.get('kind'))} "
        "report from "
        f"{day(d.get('since'))} to {day(d.get('until'))}: {words(d.get('status'))}, "
        f"{plural(len(items), 'item')} checked, {len(failed)} with findings"
    )
    if summary:
        lead += (
            " ("
            + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in list(summary.items())[:5])
            + ")"
        )
    grid = table(
        ["Subject", "Rule", "Status", "Why"],
        [
            [i.get("subject"), i.get("rule"), words(i.get("status")), i.get("reason")]
            for i in (failed or items)
        ],
        limit=12,
    )
    return f"{lead}.\n\n{grid}" if grid else lead + "."


def _change(entry: dict[str, Any]) -> str:
    before, after = entry.get("before") or {}, entry.get("after") or {}
    if isinstance(after, dict) and "status" in after:
        was = before.get("status") if isinstance(before, dict) else None
        return f"{words(was) + ' → ' if was else ''}{words(after['status'])}"
    return ""


@answer("audit")
def audit(p: Progress) -> str:
    d = p.result("audit_trail") or {}
    entries = [e for e in d.get("entries") or [] if isinstance(e, dict)]
    entity = p.calls[-1][1].args.get("entity_id") if p.calls else None
    if not entries:
        return f"The audit trail has nothing{(' on ' + str(entity)) if entity else ''}."
    grid = table(
        ["When", "Who", "Did", "What", "Change", "Approval"],
        [
            [
                when(e.get("at")),
                f"{e.get('actor_id')} ({e.get('actor_type')})",
                e.get("action"),
                f"{e.get('entity_type')} {e.get('entity_id')}",
                _change(e),
                e.get("approval_id"),
            ]
            for e in entries
        ],
        limit=15,
    )
    people = sorted({str(e.get("actor_id")) for e in entries})
    lead = (
        f"{plural(len(entries), 'change')}{(' to ' + str(entity)) if entity else ''}, newest "
        f"first, by {listing(people)}:"
    )
    return f"{lead}\n\n{grid}"


@answer("approvals")
def approvals(p: Progress) -> str:
    trail = [e for e in (p.result("audit_trail") or {}).get("entries") or [] if isinstance(e, dict)]
    decided = [e for e in (p.result("decisions") or {}).get("entries") or [] if isinstance(e, dict)]
    entries = decided or trail
    decisions = [e for e in entries if str(e.get("action", "")).startswith("approval.decide")]
    requests = [e for e in entries if str(e.get("action", "")).startswith("approval.request")]
    if not decisions:
        entity = p.calls[0][1].args.get("entity_id") if p.calls else None
        gated = [e for e in trail if e.get("approval_id")]
        if gated:
            return (
                f"{gated[0].get('entity_type')} {gated[0].get('entity_id')} was changed under "
                f"approval {gated[0]['approval_id']}, but the record has no decision on it."
            )
        return f"No approval is on record{(' for ' + str(entity)) if entity else ''}."
    lines = []
    for e in decisions:
        after = e.get("after") or {}
        status = words(after.get("status")) if isinstance(after, dict) else "decided"
        reason = after.get("reason") if isinstance(after, dict) else None
        asked = next((r for r in requests if r.get("entity_id") == e.get("entity_id")), None)
        what = next((t for t in trail if t.get("approval_id") == e.get("entity_id")), None)
        line = f"{e.get('entity_id')} was {status} by {e.get('actor_id')} on {when(e.get('at'))}"
        if what is not None:
            line += f" — {what.get('action')} of {what.get('entity_type')} {what.get('entity_id')}"
        if asked is not None:
            line += f"; asked for by {asked.get('actor_id')} on {when(asked.get('at'))}"
        if reason:
            line += f"; reason: {reason}"
        lines.append(line + ".")
    return " ".join(lines)


@answer("tables")
def tables(p: Progress) -> str:
    rows = rows_of(p.result("list_tables"))
    grid = table(
        ["Table", "Rows", "What it holds"],
        [[r.get("table"), r.get("rows"), r.get("description")] for r in rows],
        limit=200,
    )
    return f"Titan keeps {plural(len(rows), 'table')}:\n\n{grid}"


@answer("table")
def table_description(p: Progress) -> str:
    d = p.result("describe_table") or {}
    q = p.result("data_quality") or {}
    cols = [c for c in d.get("columns") or [] if isinstance(c, dict)]
    lead = (
        f"{d.get('table')}: {d.get('description')} {d.get('rows')} rows, "
        f"{plural(len(cols), 'column')}."
    )
    issues = q.get("issues") or []
    if q:
        lead += (
            " Data quality: "
            + (
                "; ".join(str(i) for i in issues[:4])
                if issues
                else "no issues found (no orphans, nulls only where allowed)"
            )
            + "."
        )
    grid = table(
        ["Column", "Type", "Null", "Meaning"],
        [
            [
                c.get("name"),
                c.get("type"),
                "yes" if c.get("nullable") else "no",
                c.get("description"),
            ]
            for c in cols
        ],
        limit=30,
    )
    return f"{lead}\n\n{grid}"


@answer("lineage")
def lineage(p: Progress) -> str:
    d = p.result("table_lineage") or {}
    up = sorted({str(e.get("to_table")) for e in d.get("upstream") or [] if isinstance(e, dict)})
    down = sorted(
        {str(e.get("from_table")) for e in d.get("downstream") or [] if isinstance(e, dict)}
    )
    return (
        f"{d.get('table')} depends on {listing(up, 12) or 'no other table'}; "
        f"{listing(down, 12) or 'no table'} depend{'s' if len(down) == 1 else ''} on it."
    )
