"""The audit trail: who changed what and when, to read (JSON, a page at a time) or to export
(CSV, every row of a time range, for an auditor's spreadsheet)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BeforeValidator

from api.http.auth import needs
from api.http.errors import JSON_ERRORS
from api.http.service import service_of
from tools.accounts.accounts import Principal
from tools.accounts.permissions import Permission as P
from tools.governance import audit
from tools.governance.audit import MAX_AUDIT_ROWS, AuditQuery, AuditTrail


def _iso_only(value: object) -> object:
    if isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit():
        raise ValueError("a time is written like 2026-03-02T06:00:00Z, not as a number")
    return value


# A time in a query: ISO 8601 only (a bare number is not read as seconds since 1970).
Instant = Annotated[datetime, BeforeValidator(_iso_only)]

router = APIRouter(tags=["governance"])

Filter = Annotated[str | None, Query(max_length=100)]
EXPORT_MAX_ROWS = 100_000
CSV_COLUMNS = (
    "audit_id", "at", "actor_type", "actor_id", "action", "entity_type", "entity_id",
    "thread_id", "approval_id", "before", "after",
)  # fmt: skip


@router.get("/audit", response_model=AuditTrail, summary="The audit trail")
async def audit_trail(
    request: Request,
    _: Annotated[Principal, needs(P.REPORT_VIEW)],
    entity_type: Filter = None,
    entity_id: Filter = None,
    actor_id: Filter = None,
    since: Instant | None = None,
    until: Instant | None = None,
    before_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_AUDIT_ROWS)] = 100,
) -> AuditTrail:
    """Audit rows, newest first; `next_before_id` pages on."""
    query = AuditQuery(
        entity_type=entity_type, entity_id=entity_id, actor_id=actor_id, since=since,
        until=until, before_id=before_id, limit=limit,
    )  # fmt: skip
    async with service_of(request).pool.connection() as conn, conn.transaction():
        return await audit.audit_trail(conn, query)


@router.get(
    "/audit/export",
    response_class=StreamingResponse,
    responses=JSON_ERRORS,
    summary="Export as CSV",
)
async def export_audit(
    request: Request,
    _: Annotated[Principal, needs(P.REPORT_EXPORT)],
    since: Instant,
    until: Instant,
    entity_type: Filter = None,
    actor_id: Filter = None,
) -> StreamingResponse:
    """Every audit row from `since` to `until` (at most 100,000), newest first, as CSV."""
    first = AuditQuery(
        entity_type=entity_type, actor_id=actor_id, since=since, until=until,
        limit=MAX_AUDIT_ROWS,
    )  # fmt: skip
    audit.check_range(since, until)
    pool = service_of(request).pool

    async def rows() -> AsyncIterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        query, sent = first, 0
        while sent < EXPORT_MAX_ROWS:
            async with pool.connection() as conn, conn.transaction():
                page = await audit.audit_trail(conn, query)
            for e in page.entries:
                writer.writerow(
                    [e.audit_id, e.at.isoformat(), e.actor_type, e.actor_id, e.action,
                     e.entity_type, e.entity_id, e.thread_id or "", e.approval_id or "",
                     json.dumps(e.before) if e.before is not None else "",
                     json.dumps(e.after) if e.after is not None else ""]
                )  # fmt: skip
            sent += len(page.entries)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            if page.next_before_id is None:
                break
            query = query.model_copy(update={"before_id": page.next_before_id})

    name = f"titan-audit-{since:%Y%m%d%H%M}-{until:%Y%m%d%H%M}.csv"
    return StreamingResponse(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
