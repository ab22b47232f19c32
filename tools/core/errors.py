"""Titan's domain errors. Every message names the entity, the problem and what would be valid.

    TitanError
    ├── DatabaseError            the database could not be reached or set up
    │   └── MigrationError       a migration failed or an applied one was changed
    ├── NotFoundError            an ID that names nothing
    ├── ValidationError          input that breaks a rule (a CHECK, a range, a format)
    ├── InvalidTransitionError   a status change the lifecycle does not allow
    ├── InsufficientStockError   more asked for than is available
    ├── ConflictError            a duplicate, or a row someone else changed first
    ├── AuthenticationError      no API key, or one that is unknown or revoked
    ├── PermissionDeniedError    a role too low for what was asked
    └── ApprovalRequiredError    a guarded write waits for a person (nothing was done)

Each error has a stable `code` (what a client branches on) and `fields` naming what went wrong
(the entity and ID, the status and the statuses allowed, the table and the rule...);
`error_body()` is the one shape the HTTP API and the MCP servers both answer with:
`{"code", "message", "details": [fields]}`. Foreign errors are wrapped at the boundary
(`raise ValidationError(...) from exc`); the HTTP and MCP layers each map this hierarchy once.
"""

from __future__ import annotations

from typing import Any, ClassVar

import psycopg
from psycopg import errors as pg_errors
from psycopg.rows import tuple_row

Field = str | int | float | bool | None | list[str] | dict[str, Any]


def error_body(
    code: str, message: str, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The one error body of the HTTP API and of MCP over HTTP: `{"error": {"code", "message",
    "details"}}`; an MCP tool error carries the same object as its structured content."""
    return {"error": {"code": code, "message": message, "details": details or []}}


class TitanError(Exception):
    """Base of every error Titan reports to a user: a message for people, a code and fields for
    programs."""

    code: ClassVar[str] = "error"

    def __init__(self, message: str, **fields: Field) -> None:
        super().__init__(message)
        self.message = message
        self.fields: dict[str, Field] = {k: v for k, v in fields.items() if v is not None}

    @property
    def details(self) -> list[dict[str, Any]]:
        return [dict(self.fields)] if self.fields else []

    def error_body(self) -> dict[str, Any]:
        """`{"code", "message", "details"}`: what the HTTP API and the MCP servers answer."""
        return {"code": self.code, "message": self.message, "details": self.details}


class DatabaseError(TitanError):
    """The database could not be reached or prepared."""

    code = "database_unavailable"


class MigrationError(DatabaseError):
    """A migration failed, or one already applied no longer matches its file."""

    code = "migration_failed"


class NotFoundError(TitanError):
    """An ID that names nothing."""

    code = "not_found"


class ValidationError(TitanError):
    """Input that breaks a rule of the plant's data."""

    code = "validation_error"


class InvalidTransitionError(TitanError):
    """A status change that the entity's lifecycle does not allow."""

    code = "invalid_transition"


class InsufficientStockError(TitanError):
    """More stock asked for than is available."""

    code = "insufficient_stock"


class ConflictError(TitanError):
    """A duplicate, or a row changed by someone else first."""

    code = "conflict"


class AuthenticationError(TitanError):
    """No API key, or one that is unknown or revoked."""

    code = "unauthenticated"


class PermissionDeniedError(TitanError):
    """The caller's role is below what the action needs."""

    code = "forbidden"


class ApprovalRequiredError(TitanError):
    """A guarded write that waits for a person: nothing was done, a request was raised."""

    code = "approval_required"


# Constraint messages live in the schema (COMMENT ON CONSTRAINT); this query finds them.
_CONSTRAINT_COMMENT_SQL = """
select coalesce(obj_description(c.oid, 'pg_constraint'),
                'must satisfy ' || pg_get_constraintdef(c.oid)) as comment
from pg_constraint c
join pg_class t on t.oid = c.conrelid
where c.conname = %(name)s and t.relname = %(table)s
"""


async def explain_integrity_error(
    conn: psycopg.AsyncConnection[Any], exc: psycopg.errors.IntegrityError
) -> TitanError:
    """The domain error for a database constraint violation, worded for a user.

    `conn` must be usable (outside the failed transaction) to read the constraint's comment.
    """
    diag = exc.diag
    table = diag.table_name or "?"
    name = diag.constraint_name or ""
    comment: str | None = None
    if name:
        # Its own (sub)transaction: never leave an implicit transaction open on the caller.
        async with conn.transaction(), conn.cursor(row_factory=tuple_row) as cur:
            await cur.execute(_CONSTRAINT_COMMENT_SQL, {"name": name, "table": table})
            row = await cur.fetchone()
        comment = row[0] if row else None
    return integrity_error(exc, comment=comment)


def integrity_error(exc: psycopg.errors.IntegrityError, *, comment: str | None) -> TitanError:
    """Map an IntegrityError (and its constraint's comment, if known) to a domain error."""
    diag = exc.diag
    table = diag.table_name or "?"
    name = diag.constraint_name or "?"
    detail = diag.message_detail or ""
    if isinstance(exc, pg_errors.UniqueViolation):
        return ConflictError(
            f"{table}: {comment or 'already exists'} ({detail})".strip(), table=table, rule=name
        )
    if isinstance(exc, pg_errors.ForeignKeyViolation):
        return NotFoundError(
            f"{table}: {comment or 'refers to something that does not exist'} ({detail})",
            table=table,
            rule=name,
        )
    if isinstance(exc, pg_errors.NotNullViolation):
        column = diag.column_name or "?"
        return ValidationError(f"{table}: {column} is required", table=table, field=column)
    message = comment or f"violates rule {name}"
    return ValidationError(
        f"{table}: {message} (rule {name})", table=table, rule=name, field=diag.column_name
    )
