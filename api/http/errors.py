"""One error shape for the whole service: `{"error": {"code", "message", "details"}}`.

Domain errors map to HTTP once, here:

    NotFoundError           404 not_found
    ValidationError         422 validation_error   (pydantic request errors too, per field)
    InvalidTransitionError  409 invalid_transition
    InsufficientStockError  409 insufficient_stock
    ConflictError           409 conflict
    AuthenticationError     401 unauthenticated
    PermissionDeniedError   403 forbidden
    DatabaseError           503 database_unavailable
    any other error         500 internal_error     (logged; the body keeps internals out)

Requests larger than `MAX_BODY_BYTES` are refused with 413 before they are read whole.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import unquote_to_bytes

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from pydantic import BaseModel, Field, JsonValue
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tools.core.errors import (
    AuthenticationError,
    ConflictError,
    DatabaseError,
    InsufficientStockError,
    InvalidTransitionError,
    NotFoundError,
    PermissionDeniedError,
    TitanError,
    ValidationError,
)

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_048_576

_STATUS: tuple[tuple[type[TitanError], int, str], ...] = (
    (NotFoundError, 404, "not_found"),
    (ValidationError, 422, "validation_error"),
    (InvalidTransitionError, 409, "invalid_transition"),
    (InsufficientStockError, 409, "insufficient_stock"),
    (ConflictError, 409, "conflict"),
    (AuthenticationError, 401, "unauthenticated"),
    (PermissionDeniedError, 403, "forbidden"),
    (DatabaseError, 503, "database_unavailable"),
)
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "validation_error",
}


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[dict[str, JsonValue]] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    """What every error response carries."""

    error: ErrorBody


# Statuses any route may answer, documented once for all of them (an unknown ID, a state that
# forbids the change, a body too large, a database that cannot serve, a method it does not take).
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": what}
    for status, what in (
        (401, "No valid API key."),
        (403, "The key's role lacks the permission."),
        (404, "No such entity."),
        (405, "The route does not take this method (see Allow)."),
        (409, "The entity's state does not allow it, or it was decided already."),
        (413, "The body is too large."),
        (422, "The request is invalid: what is wrong and what is valid."),
        (503, "The database is unavailable (see Retry-After)."),
    )
}
# For a route that answers with a stream or a file: its errors are still JSON.
JSON_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
        "description": spec["description"],
    }
    for status, spec in COMMON_RESPONSES.items()
}


def error_response(
    status: int, code: str, message: str, details: list[dict[str, JsonValue]] | None = None
) -> JSONResponse:
    body = ErrorResponse(error=ErrorBody(code=code, message=message, details=details or []))
    headers = {"WWW-Authenticate": 'Bearer realm="titan"'} if status == 401 else None
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def status_of(exc: TitanError) -> tuple[int, str]:
    """The HTTP status and error code for a domain error."""
    for kind, status, code in _STATUS:
        if isinstance(exc, kind):
            return status, code
    return 400, "bad_request"


async def _titan(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TitanError)
    status = status_of(exc)[0]
    response = error_response(status, exc.code, exc.message, exc.details)
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


async def _invalid(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details: list[dict[str, JsonValue]] = [
        {
            "field": ".".join(str(part) for part in problem.get("loc", ())),
            "reason": str(problem.get("msg", "")),
            "type": str(problem.get("type", "")),
        }
        for problem in exc.errors()
    ]
    fields = ", ".join(str(d["field"]) for d in details)
    return error_response(422, "validation_error", f"the request is invalid: {fields}", details)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    response = error_response(exc.status_code, code, str(exc.detail))
    for name, value in (exc.headers or {}).items():
        response.headers.setdefault(name, value)
    if exc.status_code == 405:
        response.headers["Allow"] = ", ".join(_methods_at(request))
    return response


def _methods_at(request: Request) -> list[str]:
    """Every method some route at the request's path takes (a path's GET and POST are often
    two routes, and a 405 names the methods of the whole path)."""
    from api.http.auth import api_routes

    methods: set[str] = set()
    for path, route in api_routes(request.app):
        if compile_path(path)[0].fullmatch(request.url.path):
            methods |= route.methods or set()
    return sorted(methods)


RETRY_AFTER_S = 5


async def _database_down(request: Request, exc: Exception) -> JSONResponse:
    """The database cannot serve the request (no connection free in time, or it is gone):
    503 with Retry-After, and the cause in the log only (it may name the host)."""
    log.warning("%s %s: the database is unavailable: %s", request.method, request.url.path, exc)
    response = error_response(
        503, "database_unavailable",
        "the database is unavailable right now; nothing was changed, try again in a few seconds",
    )  # fmt: skip
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return error_response(
        500, "internal_error", f"the request failed inside Titan ({type(exc).__name__})"
    )


def install(app: FastAPI) -> None:
    """Register the handlers and the body size limit on `app`."""
    app.add_exception_handler(TitanError, _titan)
    app.add_exception_handler(PoolTimeout, _database_down)
    app.add_exception_handler(psycopg.OperationalError, _database_down)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(psycopg.DataError, _unstorable)
    app.add_exception_handler(Exception, _unexpected)
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)


async def _unstorable(request: Request, exc: Exception) -> JSONResponse:
    """A value the database cannot hold (a NUL in text, a number out of its range) that got
    past the checks at the boundary: the request's fault, refused, nothing changed."""
    log.warning("%s %s: a value cannot be stored: %s", request.method, request.url.path, exc)
    return error_response(
        422, "validation_error",
        f"a value in the request cannot be stored ({str(exc).splitlines()[0][:200]}); nothing "
        "was changed",
    )  # fmt: skip


MAX_JSON_DEPTH = 64


def json_depth(body: bytes) -> int:
    """How deeply a JSON text nests arrays and objects (strings skipped), without parsing it."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def unreadable(text: bytes, what: str) -> str | None:
    """Why a path, query or body cannot be taken as text, or None: not UTF-8, or a NUL."""
    try:
        decoded = unquote_to_bytes(text).decode() if what != "body" else text.decode()
    except UnicodeDecodeError:
        return f"the request's {what} is not valid UTF-8"
    if "\x00" in decoded or (what == "body" and "\\u0000" in decoded.lower()):
        return f"the request's {what} holds a NUL character (\\u0000), which no text may hold"
    return None


class BodyLimit:
    """ASGI middleware: refuse request bodies over `limit` bytes with 413, and text Titan
    cannot take with 422 — a path or query that is not UTF-8 or holds a NUL, a body that is not
    UTF-8, holds a NUL or nests JSON deeper than `MAX_JSON_DEPTH`.

    Bodies are read here, up to the limit, and replayed to the app: JSON requests are small,
    and a body cut off half-way must never reach a route.
    """

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = unreadable(scope.get("raw_path") or scope["path"].encode(), "path")
        problem = problem or unreadable(scope.get("query_string", b""), "query")
        if problem:
            await error_response(422, "validation_error", problem)(scope, receive, send)
            return
        if scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        body = await self._read(scope, receive, send)
        if body is None:
            return
        problem = unreadable(body, "body")
        if problem is None and json_depth(body) > MAX_JSON_DEPTH:
            problem = f"the request's JSON nests deeper than {MAX_JSON_DEPTH} levels"
        if problem:
            await error_response(422, "validation_error", problem)(scope, receive, send)
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _read(self, scope: Scope, receive: Receive, send: Send) -> bytes | None:
        """The whole body, or None when it was refused as too large (or the client left)."""
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await self._refuse(scope, receive, send)
                return None
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return None  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(scope, receive, send)
                return None
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            413, "too_large", f"request bodies are at most {self.limit} bytes"
        )
        await response(scope, receive, send)
