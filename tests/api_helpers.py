"""Helpers for the service's tests: the app with its lifespan running, an HTTP client on it,
a real uvicorn on loopback for streams, API keys per role, and a Server-Sent Events reader."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import uvicorn
from fastapi import FastAPI

from api.http.app import create_app
from tools.accounts import accounts
from tools.core import db
from tools.core.operations import SYSTEM

STARTUP_S = 60


async def key(conn: db.AsyncConn, role: accounts.Role) -> str:
    """A new API key of `role` (its user named after the role)."""
    return (await accounts.create_key(conn, SYSTEM, role=role)).token


async def committed_rows(conn: db.AsyncConn, sql: str, *params: object) -> list[dict[str, Any]]:
    """The rows of `sql`, then a commit: the next read sees what other connections wrote."""
    cur = await conn.execute(sql, params)  # type: ignore[arg-type]
    rows = await cur.fetchall()
    await conn.commit()
    return rows


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def running_app(url: str, **options: Any) -> AsyncIterator[FastAPI]:
    """The app on `url` with its lifespan entered (as a server would run it)."""
    app = create_app(database_url=url, **options)
    async with app.router.lifespan_context(app):
        yield app


@asynccontextmanager
async def client_for(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://titan", timeout=60) as c:
        yield c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def served(url: str, **options: Any) -> AsyncIterator[str]:
    """The app on `url` behind a real uvicorn on loopback; yields its base URL."""
    port = free_port()
    app = create_app(database_url=url, **options)
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
            timeout_graceful_shutdown=5,
        )
    )  # fmt: skip
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(server.serve)
        with anyio.fail_after(STARTUP_S):
            while not server.started:
                await anyio.sleep(0.02)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True


@dataclass
class Sse:
    event: str
    data: Any
    id: str | None


async def read_sse(response: httpx.Response, count: int) -> list[Sse]:
    """The next `count` messages of an SSE response (comments and pings skipped)."""
    found: list[Sse] = []
    event, data, ident = "message", [], None
    async for line in response.aiter_lines():
        if line.startswith(":"):
            continue
        if line == "":
            if data:
                found.append(Sse(event=event, data=json.loads("\n".join(data)), id=ident))
                if len(found) == count:
                    return found
            event, data, ident = "message", [], None
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            event = value
        elif field == "data":
            data.append(value)
        elif field == "id":
            ident = value
    return found
