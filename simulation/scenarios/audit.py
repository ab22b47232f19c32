"""The FAA audit scenario: the traceability record of the aerospace orders (see
`simulation.scenarios.run`)."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import JsonValue

from simulation.context import rows
from simulation.scenarios.run import Plan, ScenarioRun, tell_role
from tools.governance.compliance import check_order
from tools.governance.traceability import order_traceability


def faa_audit(run: ScenarioRun) -> Plan:
    conn = run.conn
    summary: list[str] = []

    async def traced() -> None:
        aero = await rows(
            conn,
            "select distinct o.order_id from orders o "
            "join order_lines l on l.order_id = o.order_id "
            "join products p on p.sku = l.sku and p.division_id = 'AERO' "
            "where o.status <> 'CANCELLED' and exists (select 1 from customer_compliance c "
            "where c.customer_id = o.customer_id and c.requirement in ('FAA_8130_3', 'AS9100')) "
            "order by o.order_id limit 25",
        )
        records: dict[str, JsonValue] = {}
        gaps = 0
        for row in aero:
            async with conn.transaction():
                trace = await order_traceability(conn, row["order_id"])
                verdict = await check_order(conn, row["order_id"])
            batches = [b for line in trace.lines for b in line.batches]
            records[row["order_id"]] = {
                "customer": trace.order.customer_id,
                "status": trace.order.status,
                "batches": _names(b.batch_id for b in batches),
                "suppliers": _names(b.supplier_id for b in batches),
                "certificates": _names(c.certificate_id for b in batches for c in b.certificates),
                "machines": _names(mu.machine_id for mu in trace.machines),
                "events": len(trace.events),
                "approvals": len(trace.approvals),
                "people": _names(a.actor_id for a in trace.audit),
                "gaps": _names(trace.gaps),
                "compliance": verdict.status,
            }
            gaps += bool(trace.gaps)
            summary.append(
                f"{row['order_id']}: {verdict.status}; batches "
                f"{', '.join(sorted({b.batch_id for b in batches})) or 'none'}; machines "
                f"{', '.join(sorted({mu.machine_id for mu in trace.machines})) or 'none'}"
            )
        run.facts["records"] = records
        run.note(
            "traceability records",
            f"{len(records)} aerospace orders traced; {gaps} with gaps",
            ok=bool(records),
        )

    async def reported() -> None:
        sent = await tell_role(
            run,
            "quality_manager",
            facility_id=None,
            subject=f"FAA audit: traceability of {len(summary)} aerospace orders",
            body="Material batch, supplier, certificates and machines per order:\n"
            + "\n".join(summary),
        )
        run.note("audit report sent", f"{len(sent)} message(s) to quality", ok=bool(sent))

    return [(0, "traceability records", traced), (5, "audit report sent", reported)]


def _names(items: Iterable[str]) -> list[JsonValue]:
    names: list[JsonValue] = []
    names.extend(sorted(set(items)))
    return names
