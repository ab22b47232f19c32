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

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from pydantic import BaseModel, Field, JsonValue
from starlette.exceptions import HTTPException as StarletteHTTPException
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


async def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail))


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
    app.add_exception_handler(Exception, _unexpected)
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)


class BodyLimit:
    """ASGI middleware: refuse request bodies over `limit` bytes with 413.

    Bodies are read here, up to the limit, and replayed to the app: JSON requests are small,
    and a body cut off half-way must never reach a route.
    """

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await self._refuse(scope, receive, send)
                return
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            413, "too_large", f"request bodies are at most {self.limit} bytes"
        )
        await response(scope, receive, send)
