"""Operations: liveness, readiness, Prometheus metrics. Liveness and readiness need no API key
(probes call them) and reveal no plant data, nor where the database is; metrics need report.view
unless `TITAN_METRICS_PUBLIC` opens them to a scraper."""

from __future__ import annotations

import logging
import os
from typing import Annotated

import psycopg
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from psycopg.rows import dict_row
from pydantic import BaseModel, Field

from api.http.auth import NeedsUnlessOpen
from api.http.service import service_of
from tools.accounts.accounts import Principal
from tools.accounts.permissions import Permission as P
from tools.core.migrations import available, current_version
from tools.core.settings import get_settings
from tools.machine_data.ingest_status import ingest_statuses

router = APIRouter(tags=["ops"])
log = logging.getLogger(__name__)

READY_TIMEOUT_S = 2  # psycopg's smallest connect timeout


class Health(BaseModel):
    status: str
    process: int = Field(
        description="The ID of the service process that answered (one of several under "
        "`titan serve --workers N`)."
    )


class Readiness(BaseModel):
    ready: bool
    database: str
    migration: int | None = None
    expected_migration: int
    detail: str = ""
    down: list[str] = Field(
        default_factory=list,
        description="Background tasks that failed and wait to be restarted (the log says why).",
    )


# What keeps a connection from opening, said without where the database is (the log has it).
_UNREACHABLE = (
    ("timeout", f"the database did not answer within {READY_TIMEOUT_S} s"),
    ("authentication", "the database refused the service's credentials"),
    ("does not exist", "the service's database does not exist"),
    ("not currently accepting", "the database is not accepting connections"),
    ("too many", "the database has no connection slot free"),
    ("starting up", "the database is starting up"),
    ("shutting down", "the database is shutting down"),
)


def unreachable_because(exc: Exception) -> str:
    """Why a connection could not be opened, in words that name no host, port or user."""
    text = str(exc).lower()
    for clue, said in _UNREACHABLE:
        if clue in text:
            return said
    return "the database cannot be reached"


@router.get("/health", response_model=Health, summary="Is the process up")
async def health() -> Health:
    return Health(status="ok", process=os.getpid())


@router.get(
    "/ready",
    response_model=Readiness,
    responses={503: {"model": Readiness}},
    summary="Can it serve: database reachable, migrations current",
)
async def ready(request: Request) -> JSONResponse:
    """200 when a fresh connection to the database opens, its schema is at the newest
    migration and no background task is down; 503 saying which is not the case otherwise."""
    service = service_of(request)
    expected = available()[-1].version
    try:
        conn = await psycopg.AsyncConnection.connect(
            service.url, connect_timeout=READY_TIMEOUT_S, row_factory=dict_row, autocommit=True
        )
    except psycopg.OperationalError as exc:
        log.warning("readiness: the database cannot be reached: %s", str(exc).strip())
        body = Readiness(
            ready=False, database="unreachable", expected_migration=expected,
            detail=unreachable_because(exc),
        )  # fmt: skip
        return JSONResponse(body.model_dump(), status_code=503)
    async with conn:
        level = await current_version(conn)
    version = level[0] if level else None
    current = version == expected
    down = sorted(service.supervisor.down)
    detail = "" if current else f"the schema is at {version}, migrations pending to {expected}"
    if down:
        detail = "; ".join(
            filter(None, [detail, f"background work is down and restarting: {', '.join(down)}"])
        )
    body = Readiness(
        ready=current and not down,
        database="reachable",
        migration=version,
        expected_migration=expected,
        detail=detail,
        down=down,
    )
    return JSONResponse(body.model_dump(), status_code=200 if body.ready else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(
    request: Request,
    _: Annotated[
        Principal | None,
        Depends(NeedsUnlessOpen(P.REPORT_VIEW, lambda: get_settings().metrics_public)),
    ],
) -> Response:
    service = service_of(request)
    async with service.pool.connection() as conn, conn.transaction():
        cur = await conn.execute("select count(*) as n from approvals where status = 'PENDING'")
        row = await cur.fetchone()
        ingests = await ingest_statuses(conn)
    service.metrics.approvals_pending.set(row["n"] if row else 0)
    service.metrics.ingests(ingests)  # as of this scrape
    return Response(service.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
