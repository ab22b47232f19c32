"""Helpers for the console's browser tests: Debian's Chromium driven by Playwright, where the
screenshots go, and waits on the running service."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
from api_helpers import bearer
from playwright.async_api import Browser, async_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LAPTOP = {"width": 1440, "height": 900}
TV = {"width": 1920, "height": 1080}


def artifacts() -> Path:
    """Where screenshots go: $TITAN_CONSOLE_ARTIFACTS, else tests/artifacts/console."""
    chosen = os.environ.get("TITAN_CONSOLE_ARTIFACTS")
    folder = Path(chosen) if chosen else Path(__file__).parent / "artifacts" / "console"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Debian's headless Chromium (never a downloaded browser)."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


async def status_when(
    base: str, token: str, ready: Callable[[dict[str, Any]], bool], *, poll_s: float = 0.2
) -> dict[str, Any]:
    """The simulation's status once `ready` holds (bound the wait with anyio.fail_after)."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        while True:
            status: dict[str, Any] = (await http.get("/sim/status", headers=bearer(token))).json()
            if status["engine_lock"] is not None and status["state"] is not None and ready(status):
                return status
            await anyio.sleep(poll_s)
