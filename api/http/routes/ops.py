"""Operations: liveness, readiness, Prometheus metrics. These need no API key (probes and
scrapers call them); they reveal no plant data."""

from __future__ import annotations

import os

import psycopg
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from psycopg.rows import dict_row
from pydantic import BaseModel, Field

from api.http.service import service_of
from tools.core.migrations import available, current_version
from tools.machine_data.ingest_status import ingest_statuses

router = APIRouter(tags=["ops"])

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
    """200 when a fresh connection to the database opens and its schema is at the newest
    migration; 503 saying which is not the case otherwise."""
    service = service_of(request)
    expected = available()[-1].version
    try:
        conn = await psycopg.AsyncConnection.connect(
            service.url, connect_timeout=READY_TIMEOUT_S, row_factory=dict_row, autocommit=True
        )
    except psycopg.OperationalError as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        body = Readiness(
            ready=False, database="unreachable", expected_migration=expected, detail=detail
        )
        return JSONResponse(body.model_dump(), status_code=503)
    async with conn:
        level = await current_version(conn)
    version = level[0] if level else None
    current = version == expected
    body = Readiness(
        ready=current,
        database="reachable",
        migration=version,
        expected_migration=expected,
        detail="" if current else f"the schema is at {version}, migrations pending to {expected}",
    )
    return JSONResponse(body.model_dump(), status_code=200 if current else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    service = service_of(request)
    async with service.pool.connection() as conn, conn.transaction():
        cur = await conn.execute("select count(*) as n from approvals where status = 'PENDING'")
        row = await cur.fetchone()
        ingests = await ingest_statuses(conn)
    service.metrics.approvals_pending.set(row["n"] if row else 0)
    service.metrics.ingests(ingests)  # as of this scrape
    return Response(service.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
