"""Running the command line's async jobs: settings, logging, the database, and clean errors."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import typer
from pydantic import ValidationError as PydanticValidationError
from rich.console import Console

from tools.core import admin, db
from tools.core.errors import TitanError
from tools.core.settings import Settings, configure_logging, get_settings, setting_env_name

T = TypeVar("T")

err = Console(stderr=True, soft_wrap=True)


def console() -> Console:
    """Standard output for people; piped output keeps whole lines rather than 80 columns."""
    return Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)


def settings_or_exit() -> Settings:
    """The settings, or the command ends naming each bad setting and what it must be."""
    try:
        return get_settings()
    except PydanticValidationError as exc:
        for problem in exc.errors():
            field = str(problem["loc"][0]) if problem["loc"] else "?"
            err.print(f"[bold red]error:[/] setting {setting_env_name(field)}: {problem['msg']}")
        raise typer.Exit(code=2) from exc


def run(job: Callable[[], Awaitable[T]]) -> T:
    """Run an async job with logging configured; domain errors end the command with a message."""
    settings = settings_or_exit()
    configure_logging(settings.log_level)
    try:
        return asyncio.run(job())  # type: ignore[arg-type]
    except TitanError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(code=1) from exc


@asynccontextmanager
async def prepared() -> AsyncIterator[tuple[db.DatabaseLocation, db.AsyncConn]]:
    """The located database, migrated, and a connection to it for the job."""
    location = await asyncio.to_thread(db.locate)
    async with db.connection(location.url) as conn:
        await admin.prepare(conn)
        yield location, conn
