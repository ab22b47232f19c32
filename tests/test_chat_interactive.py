"""`titan chat` as a terminal conversation: ask, see the approval, decide, see the outcome."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time

import pytest

from tools.core import db


class Terminal:
    """A child process on a pseudo-terminal, read until what a person would wait for."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            args, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True
        )
        os.close(slave)
        self.screen = ""

    def wait_for(self, pattern: str, *, within: float = 120) -> None:
        deadline = time.monotonic() + within
        while not re.search(pattern, self.screen):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"never saw {pattern!r}; the screen:\n{self.screen}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    self.screen += os.read(self.master, 65536).decode(errors="replace")
                except OSError:  # the child closed the terminal
                    raise AssertionError(f"ended before {pattern!r}:\n{self.screen}") from None

    def type(self, line: str) -> None:
        os.write(self.master, (line + "\r").encode())

    def close(self) -> int:
        code = self.proc.wait(timeout=60)
        os.close(self.master)
        return code


@pytest.mark.slow
@pytest.mark.anyio
async def test_an_interactive_session_asks_for_the_approval_and_carries_out_the_decision(
    plant: db.AsyncConn, db_url: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TITAN_")}
    env |= {"DATABASE_URL": db_url, "COLUMNS": "200", "TERM": "dumb"}
    terminal = Terminal([sys.executable, "-m", "api.cli.main", "chat"], env)
    try:
        terminal.wait_for(r"you")
        terminal.type("Cancel order ORD-10020, the customer withdrew it")
        terminal.wait_for(r"approve, reject or skip\?")
        assert "cancel order ORD-10020" in terminal.screen
        terminal.type("approve")
        terminal.wait_for(r"(?i)cancelled")
        terminal.wait_for(r"you")
        terminal.type("")
    finally:
        code = terminal.close()

    assert code == 0, terminal.screen
    cur = await plant.execute("select status from orders where order_id = 'ORD-10020'")
    assert await cur.fetchone() == {"status": "CANCELLED"}
    cur = await plant.execute(
        "select status, decided_by from approvals where action = 'cancel_order'"
    )
    assert await cur.fetchall() == [{"status": "APPROVED", "decided_by": "local"}]
