"""MCP tools of the governance domain: audit trail, traceability, compliance, data catalog."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from mcp.server.fastmcp import Context
from pydantic import Field

from mcp_servers.runtime import ToolBox, domain_tool, plant_of
from tools.accounts.permissions import Permission as P
from tools.governance import audit as governance
from tools.governance import catalog, compliance, traceability
from tools.governance import reports as compliance_reports
from tools.governance.reports import ReportKind

OrderId = Annotated[str, Field(pattern=r"^ORD-\d+$", description="An order ID, e.g. ORD-10001.")]
Since = Annotated[datetime, Field(description="Start of the period (ISO 8601 with timezone).")]
Until = Annotated[
    datetime, Field(description="End of the period, exclusive (ISO 8601 with timezone).")
]
TableName = Annotated[
    str, Field(pattern=r"^[a-z_]+$", description="A table name, e.g. orders or stock_levels.")
]


def register(box: ToolBox) -> None:
    tool = domain_tool

    @tool(box, P.REPORT_VIEW, title="Audit trail")
    async def audit_trail(
        ctx: Context,  # type: ignore[type-arg]
        entity_type: Annotated[
            str | None, Field(description="order, shipment, machine, work_order, …")
        ] = None,
        entity_id: Annotated[str | None, Field(description="e.g. ORD-10001")] = None,
        actor_id: Annotated[str | None, Field(description="who acted, e.g. a user ID")] = None,
        thread_id: Annotated[str | None, Field(description="a chat thread's ID")] = None,
        approval_id: Annotated[str | None, Field(description="an approval's ID")] = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: Annotated[int, Field(ge=1, le=1000)] = 50,
    ) -> governance.AuditTrail:
        """Who changed what and when, newest first: the audit rows for an entity, an actor, a
        chat thread or an approval within a time range. Use it to answer "who cancelled
        ORD-10007?" or "what did this conversation change?"."""
        query = governance.AuditQuery(
            entity_type=entity_type, entity_id=entity_id, actor_id=actor_id, thread_id=thread_id,
            approval_id=approval_id, since=since, until=until, limit=limit,
        )  # fmt: skip
        async with plant_of(ctx).pool.connection() as conn:
            return await governance.audit_trail(conn, query)

    @tool(box, P.REPORT_VIEW, title="Trace a material batch")
    async def trace_batch(
        ctx: Context,  # type: ignore[type-arg]
        batch_id: Annotated[str, Field(description="A material batch (lot) ID, e.g. TI-HT-2401.")],
    ) -> governance.BatchTrace:
        """A material batch's supplier, certificates (with validity), the stock it sits in and
        every order line and machine it went into."""
        async with plant_of(ctx).pool.connection() as conn:
            return await governance.trace_batch(conn, batch_id)

    @tool(box, P.REPORT_VIEW, title="Order traceability report")
    async def order_traceability(
        ctx: Context,  # type: ignore[type-arg]
        order_id: OrderId,
    ) -> traceability.TraceabilityReport:
        """The full traceability record of an order, as an auditor (e.g. the FAA) asks for it:
        its lines, material batches and certificates, machines and work centers that made it,
        stock moves, shipments with tracking, every event, approvals and who decided them, and
        the gaps found."""
        async with plant_of(ctx).pool.connection() as conn:
            return await traceability.order_traceability(conn, order_id)

    @tool(box, P.REPORT_VIEW, title="Check an order's compliance")
    async def check_order_compliance(ctx: Context, order_id: OrderId) -> compliance.OrderCompliance:  # type: ignore[type-arg]
        """Check one order against its customer's contract terms and compliance requirements
        (AS9100, FAA 8130-3, ITAR, IATF 16949, ISO 9001, material certificates): each rule
        COMPLIANT, NON_COMPLIANT or NEEDS_REVIEW with its evidence."""
        async with plant_of(ctx).pool.connection() as conn:
            return await compliance.check_order(conn, order_id)

    @tool(box, P.REPORT_VIEW, title="Check a customer's compliance")
    async def check_customer_compliance(
        ctx: Context,  # type: ignore[type-arg]
        customer_id: Annotated[str, Field(description="A customer ID, e.g. BOEING or TESLA.")],
        since: Since,
        until: Until,
    ) -> compliance.CustomerCompliance:
        """A customer's contract and every order of theirs active in the period, checked."""
        async with plant_of(ctx).pool.connection() as conn:
            return await compliance.check_customer(conn, customer_id, since=since, until=until)

    @tool(box, P.REPORT_VIEW, title="Compliance report")
    async def compliance_report(
        ctx: Context,  # type: ignore[type-arg]
        kind: Annotated[ReportKind, Field(description="Which report to produce.")],
        since: Since,
        until: Until,
    ) -> compliance_reports.ComplianceReport:
        """A compliance report over a period: FAA_AUDIT (aerospace lines traced to certified
        material), ISO_9001 (audit completeness, defects), MATERIAL_TRACEABILITY, or
        SUPPLIER_QUALITY (delays, reliability). Each item is marked with its reason."""
        async with plant_of(ctx).pool.connection() as conn:
            return await compliance_reports.compliance_report(conn, kind, since=since, until=until)

    @tool(box, P.REPORT_VIEW, title="List Titan's tables")
    async def list_tables(ctx: Context) -> list[catalog.TableSummary]:  # type: ignore[type-arg]
        """The data catalog: every table Titan keeps, with its description and row count."""
        async with plant_of(ctx).pool.connection() as conn:
            return await catalog.list_tables(conn)

    @tool(box, P.REPORT_VIEW, title="Describe a table")
    async def describe_table(ctx: Context, table: TableName) -> catalog.TableInfo:  # type: ignore[type-arg]
        """A table's description, columns (type, nullability, meaning), constraints and rows."""
        async with plant_of(ctx).pool.connection() as conn:
            return await catalog.describe_table(conn, table)

    @tool(box, P.REPORT_VIEW, title="Table lineage")
    async def table_lineage(
        ctx: Context,  # type: ignore[type-arg]
        table: TableName,
        depth: Annotated[int, Field(ge=1, le=6, description="Foreign-key hops to follow.")] = 2,
    ) -> catalog.Lineage:
        """What a table depends on (upstream) and what depends on it (downstream), along
        foreign keys."""
        async with plant_of(ctx).pool.connection() as conn:
            return await catalog.lineage(conn, table, depth=depth)

    @tool(box, P.REPORT_VIEW, title="Data quality of a table")
    async def data_quality(ctx: Context, table: TableName) -> catalog.QualityReport:  # type: ignore[type-arg]
        """Data-quality checks on a table: null rates per column and orphaned references."""
        async with plant_of(ctx).pool.connection() as conn:
            return await catalog.data_quality(conn, table)
