"""Governance: the audit trail and material batch traces (an order's whole traceability record
is `tools.governance.traceability`).

All reads. The audit trail answers "who changed what, when, in which conversation and under which
approval"; a batch trace follows a material batch from its supplier and certificates to the
orders and machines it went into.

A certificate's `status` is as of the plant's clock; whether it was valid when its batch was used
is `valid_on(day)`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field, JsonValue

from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.errors import NotFoundError, ValidationError
from tools.core.operations import ActorType

MAX_AUDIT_ROWS = 1000


# ───────────────────────── the audit trail ─────────────────────────


class AuditQuery(BaseModel):
    """Which audit rows to read; every field narrows the query."""

    entity_type: str | None = None
    entity_id: str | None = None
    actor_type: ActorType | None = None
    actor_id: str | None = None
    thread_id: str | None = None
    approval_id: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = Field(default=None, description="page: rows older than this audit_id")
    limit: int = Field(default=100, ge=1, le=MAX_AUDIT_ROWS)


class AuditEntry(BaseModel):
    """One audit row: who did what to which entity, with the state before and after."""

    audit_id: int
    actor_type: ActorType
    actor_id: str
    action: str
    entity_type: str
    entity_id: str
    before: dict[str, JsonValue] | None
    after: dict[str, JsonValue] | None
    thread_id: str | None
    approval_id: str | None
    at: datetime


class AuditTrail(BaseModel):
    """Audit rows, newest first; `next_before_id` pages on when there may be more."""

    entries: list[AuditEntry]
    next_before_id: int | None


def check_range(since: datetime | None, until: datetime | None) -> None:
    """Refuse naive times and empty ranges."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.utcoffset() is None:
            raise ValidationError(f"{name} must carry a timezone, got {value.isoformat()}")
    if since is not None and until is not None and since >= until:
        raise ValidationError(
            f"the time range is empty: since ({since.isoformat()}) must be before until "
            f"({until.isoformat()})"
        )


AUDIT_COLUMNS = """audit_id, actor_type, actor_id, action, entity_type, entity_id, before, after,
    thread_id, approval_id, at"""


async def audit_trail(conn: AsyncConn, query: AuditQuery) -> AuditTrail:
    """The audit rows matching `query`, newest first, at most `query.limit` of them."""
    check_range(query.since, query.until)
    if query.entity_id is not None and query.entity_type is None:
        raise ValidationError("an audit query by entity_id needs its entity_type (order, ...)")
    if query.approval_id is not None:
        cur = await conn.execute(
            "select 1 from approvals where approval_id = %s", (query.approval_id,)
        )
        if await cur.fetchone() is None:
            raise NotFoundError(
                f"no approval {query.approval_id!r} whose audit trail to read",
                entity="approval",
                id=str(query.approval_id),
            )
    cur = await conn.execute(
        f"select {AUDIT_COLUMNS} from audit_log "
        "where (%(entity_type)s::text is null or entity_type = %(entity_type)s) "
        "and (%(entity_id)s::text is null or entity_id = %(entity_id)s) "
        "and (%(actor_type)s::text is null or actor_type = %(actor_type)s) "
        "and (%(actor_id)s::text is null or actor_id = %(actor_id)s) "
        "and (%(thread_id)s::text is null or thread_id = %(thread_id)s) "
        "and (%(approval_id)s::text is null or approval_id = %(approval_id)s) "
        "and (%(action)s::text is null or action = %(action)s) "
        "and (%(since)s::timestamptz is null or at >= %(since)s) "
        "and (%(until)s::timestamptz is null or at < %(until)s) "
        "and (%(before_id)s::bigint is null or audit_id < %(before_id)s) "
        "order by audit_id desc limit %(fetch)s",
        query.model_dump() | {"fetch": query.limit + 1},
    )
    rows = [AuditEntry.model_validate(r) for r in await cur.fetchall()]
    more = len(rows) > query.limit
    entries = rows[: query.limit]
    return AuditTrail(entries=entries, next_before_id=entries[-1].audit_id if more else None)


# ───────────────────────── certificates, and the batches order lines used ─────────────────────────

CertificateKind = Literal["MILL_CERT", "CERT_OF_CONFORMANCE", "FAA_8130_3", "MATERIAL_TEST"]


class Certificate(BaseModel):
    """A certificate of a batch; `status` is as of the plant's clock."""

    certificate_id: str
    batch_id: str
    kind: CertificateKind
    issued_by: str
    issued_on: date
    valid_until: date | None
    document_ref: str
    status: Literal["VALID", "EXPIRED", "NOT_YET_VALID"]

    def valid_on(self, day: date) -> bool:
        """Whether the certificate was in force on `day`."""
        return self.issued_on <= day and (self.valid_until is None or day <= self.valid_until)


class UsedBatch(BaseModel):
    """A material batch that went into an order line, where and when, with its certificates."""

    batch_id: str
    sku: str
    supplier_id: str
    supplier_name: str
    heat_number: str | None
    quantity: int
    machine_id: str | None
    used_at: datetime
    certificates: list[Certificate]

    def certified_on_use(self, kinds: tuple[str, ...] | None = None) -> list[Certificate]:
        """Its certificates (of `kinds`) that were in force when it was used."""
        day = self.used_at.astimezone(UTC).date()
        return [
            c for c in self.certificates if c.valid_on(day) and (kinds is None or c.kind in kinds)
        ]

    def describe(self, kinds: tuple[str, ...] | None = None) -> str:
        """One line of evidence: the batch, where it came from, its certificates in force at use."""
        held = self.certified_on_use(kinds)
        certs = ", ".join(f"{c.kind} {c.certificate_id} ({c.document_ref})" for c in held)
        machine = f" on {self.machine_id}" if self.machine_id else ""
        return (
            f"{self.batch_id} (heat {self.heat_number or 'n/a'}, {self.supplier_name}){machine} "
            f"{self.used_at.astimezone(UTC).date().isoformat()}: certificates in force "
            f"{certs or 'none'}"
        )

    def lapsed(self) -> str:
        """One line of evidence: its certificates that were not in force when it was used."""
        day = self.used_at.astimezone(UTC).date()
        out = [
            f"{c.kind} {c.certificate_id} valid {c.issued_on.isoformat()} to "
            f"{c.valid_until.isoformat() if c.valid_until else 'open'}"
            for c in self.certificates
            if not c.valid_on(day)
        ]
        lapsed = "; ".join(out) or ("none lapsed" if self.certificates else "no certificates")
        return f"{self.batch_id} used {day.isoformat()}, not in force: {lapsed}"


_CERTIFICATES = """
select certificate_id, batch_id, kind, issued_by, issued_on, valid_until, document_ref,
    case when valid_until < %(today)s then 'EXPIRED'
         when issued_on > %(today)s then 'NOT_YET_VALID' else 'VALID' end as status
from batch_certificates where batch_id = any(%(batches)s) order by batch_id, kind, certificate_id
"""


async def certificates(conn: AsyncConn, batch_ids: list[str]) -> dict[str, list[Certificate]]:
    """The certificates of each batch, by batch ID."""
    cur = await conn.execute(_CERTIFICATES, {"batches": batch_ids, "today": clock.now().date()})
    found: dict[str, list[Certificate]] = defaultdict(list)
    for row in await cur.fetchall():
        found[row["batch_id"]].append(Certificate.model_validate(row))
    return found


async def line_materials(
    conn: AsyncConn, order_ids: list[str]
) -> dict[tuple[str, int], list[UsedBatch]]:
    """The batches each line of these orders used, by (order ID, line number)."""
    cur = await conn.execute(
        "select u.order_id, u.line_no, u.batch_id, b.sku, b.supplier_id, s.name as supplier_name, "
        "b.heat_number, u.quantity, u.machine_id, u.used_at "
        "from batch_usage u join material_batches b on b.batch_id = u.batch_id "
        "join suppliers s on s.supplier_id = b.supplier_id "
        "where u.order_id = any(%s) order by u.order_id, u.line_no, u.used_at, u.batch_id",
        (order_ids,),
    )
    rows = await cur.fetchall()
    certs = await certificates(conn, sorted({r["batch_id"] for r in rows}))
    found: dict[tuple[str, int], list[UsedBatch]] = defaultdict(list)
    for r in rows:
        found[r["order_id"], r["line_no"]].append(
            UsedBatch.model_validate(r | {"certificates": certs.get(r["batch_id"], [])})
        )
    return found


# ───────────────────────── material batch trace ─────────────────────────


class Supplier(BaseModel):
    supplier_id: str
    name: str
    country: str
    region: str
    reliability: Decimal
    status: str
    contact_email: str


class StockMovement(BaseModel):
    movement_id: int
    sku: str
    facility_id: str
    quantity: int
    kind: str
    reference_type: str | None
    reference_id: str | None
    batch_id: str | None
    at: datetime
    actor: str


class BatchUse(BaseModel):
    """An order line the batch went into, and the machine that used it."""

    order_id: str
    line_no: int
    customer_id: str
    order_status: str
    line_sku: str
    quantity: int
    machine_id: str | None
    work_center_id: str | None
    used_at: datetime


class BatchTrace(BaseModel):
    """A material batch from its supplier and certificates to the orders and machines it fed."""

    batch_id: str
    sku: str
    product_name: str
    category: str
    facility_id: str
    heat_number: str | None
    quantity: int
    received_at: datetime
    supplier: Supplier
    certificates: list[Certificate]
    certified: bool  # at least one certificate in force today
    on_hand: int | None  # the SKU's stock at the batch's facility
    reserved: int | None
    movements: list[StockMovement]
    used_quantity: int
    remaining_quantity: int
    uses: list[BatchUse]
    orders: list[str]
    machines: list[str]
    same_heat: list[str]  # other batches of the same heat (raw heats and the lots made of them)


MOVEMENT_COLUMNS = """movement_id, sku, facility_id, quantity, kind, reference_type,
    reference_id, batch_id, at, actor"""


async def trace_batch(conn: AsyncConn, batch_id: str) -> BatchTrace:
    """The trace of one material batch."""
    cur = await conn.execute(
        "select b.batch_id, b.sku, p.name as product_name, p.category, b.facility_id, "
        "b.heat_number, b.quantity, b.received_at, row_to_json(s.*) as supplier, "
        "sl.on_hand, sl.reserved "
        "from material_batches b join products p on p.sku = b.sku "
        "join suppliers s on s.supplier_id = b.supplier_id "
        "left join stock_levels sl on (sl.sku, sl.facility_id) = (b.sku, b.facility_id) "
        "where b.batch_id = %s",
        (batch_id,),
    )
    batch = await cur.fetchone()
    if batch is None:
        raise NotFoundError(
            f"no material batch {batch_id!r}; batch IDs look like B-TI64-PHX-1 (a raw heat) or "
            "LOT-10001-2 (a finished lot)"
        )
    cur = await conn.execute(
        "select u.order_id, u.line_no, o.customer_id, o.status as order_status, "
        "l.sku as line_sku, u.quantity, u.machine_id, e.work_center_id, u.used_at "
        "from batch_usage u join orders o on o.order_id = u.order_id "
        "join order_lines l on (l.order_id, l.line_no) = (u.order_id, u.line_no) "
        "left join equipment e on e.machine_id = u.machine_id "
        "where u.batch_id = %s order by u.used_at, u.order_id, u.line_no",
        (batch_id,),
    )
    uses = [BatchUse.model_validate(r) for r in await cur.fetchall()]
    cur = await conn.execute(
        f"select {MOVEMENT_COLUMNS} from stock_movements where batch_id = %s order by at",
        (batch_id,),
    )
    movements = [StockMovement.model_validate(r) for r in await cur.fetchall()]
    cur = await conn.execute(
        "select batch_id from material_batches where heat_number = %s and batch_id <> %s "
        "order by batch_id",
        (batch["heat_number"], batch_id),
    )
    same_heat = [r["batch_id"] for r in await cur.fetchall()]
    certs = (await certificates(conn, [batch_id])).get(batch_id, [])
    used = sum(u.quantity for u in uses)
    return BatchTrace.model_validate(
        batch
        | {
            "certificates": certs,
            "certified": any(c.status == "VALID" for c in certs),
            "movements": movements,
            "used_quantity": used,
            "remaining_quantity": batch["quantity"] - used,
            "uses": uses,
            "orders": sorted({u.order_id for u in uses}),
            "machines": sorted({u.machine_id for u in uses if u.machine_id}),
            "same_heat": same_heat,
        }
    )
