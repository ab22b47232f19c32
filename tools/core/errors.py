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
    └── PermissionDeniedError    a role too low for what was asked

Foreign errors are wrapped at the boundary (`raise ValidationError(...) from exc`); the HTTP and
MCP layers each map this hierarchy once.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.rows import tuple_row


class TitanError(Exception):
    """Base of every error Titan reports to a user."""


class DatabaseError(TitanError):
    """The database could not be reached or prepared."""


class MigrationError(DatabaseError):
    """A migration failed, or one already applied no longer matches its file."""


class NotFoundError(TitanError):
    """An ID that names nothing."""


class ValidationError(TitanError):
    """Input that breaks a rule of the plant's data."""


class InvalidTransitionError(TitanError):
    """A status change that the entity's lifecycle does not allow."""


class InsufficientStockError(TitanError):
    """More stock asked for than is available."""


class ConflictError(TitanError):
    """A duplicate, or a row changed by someone else first."""


class AuthenticationError(TitanError):
    """No API key, or one that is unknown or revoked."""


class PermissionDeniedError(TitanError):
    """The caller's role is below what the action needs."""


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
        return ConflictError(f"{table}: {comment or 'already exists'} ({detail})".strip())
    if isinstance(exc, pg_errors.ForeignKeyViolation):
        return NotFoundError(
            f"{table}: {comment or 'refers to something that does not exist'} ({detail})"
        )
    if isinstance(exc, pg_errors.NotNullViolation):
        column = diag.column_name or "?"
        return ValidationError(f"{table}: {column} is required")
    message = comment or f"violates rule {name}"
    return ValidationError(f"{table}: {message} (rule {name})")
