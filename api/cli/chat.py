"""`titan chat`: ask the agent team, see which agents and tools ran, and decide on approvals."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.panel import Panel
from rich.prompt import Prompt

from api.cli.runner import console, prepared, run

if TYPE_CHECKING:
    from agents.runtime import Agents, ChatResult

out = console()
LOCAL_USER = "local"


@asynccontextmanager
async def _team() -> AsyncIterator[Agents]:
    from agents.runtime import open_agents  # the agent stack loads only when it is used

    async with prepared() as (location, _), open_agents(location.url) as agents:
        yield agents


def _show(result: ChatResult, screen: Console) -> None:
    if result.route:
        screen.print(f"[dim]agents:[/] {' → '.join(result.route)}")
    for call in result.tool_calls:
        mark = "[green]✓[/]" if call.ok else "[red]✗[/]"
        screen.print(f"[dim]  {mark} {call.agent}: {call.name}[/]")
    screen.print(result.answer)
    if result.approval:
        screen.print(
            Panel(
                result.approval.description,
                title=f"approval {result.approval.approval_id}",
                subtitle=f"needs {result.approval.required_role}",
            )
        )
    screen.print(f"[dim]thread {result.thread_id}[/]")


def _json(result: ChatResult) -> str:
    return json.dumps(
        result.model_dump(
            mode="json", include={"thread_id", "answer", "route", "tool_calls", "approval"}
        )
    )


async def _interactive(agents: Agents, thread_id: str | None) -> None:
    out.print("[bold]Titan[/] — ask about machines, stock, orders, shipments; empty line ends.")
    while True:
        message = Prompt.ask("[bold cyan]you[/]", default="", show_default=False)
        if not message.strip():
            return
        result = await agents.ask(message, thread_id, user=LOCAL_USER)
        thread_id = result.thread_id
        _show(result, out)
        while result.approval is not None:
            choice = Prompt.ask("approve, reject or skip?", choices=["approve", "reject", "skip"])
            if choice == "skip":
                break
            reason = Prompt.ask("reason") if choice == "reject" else None
            result = await agents.decide(thread_id, choice, reason=reason, user=LOCAL_USER)
            _show(result, out)


def chat(
    message: Annotated[
        str | None, typer.Argument(help="One request; leave out to converse.")
    ] = None,
    thread: Annotated[str | None, typer.Option(help="Continue or decide on this thread.")] = None,
    approve: Annotated[
        bool, typer.Option("--approve", help="Approve the thread's pending action.")
    ] = False,
    reject: Annotated[
        str | None, typer.Option(help="Reject the pending action with this reason.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Ask Titan's agent team; with --thread and --approve or --reject, decide an approval."""
    if (approve or reject is not None) and thread is None:
        out.print("--approve and --reject need --thread ID")
        raise typer.Exit(code=2)

    async def job() -> ChatResult | None:
        async with _team() as agents:
            if thread is not None and (approve or reject is not None):
                kind = "approve" if approve else "reject"
                return await agents.decide(thread, kind, reason=reject, user=LOCAL_USER)
            if message is None:
                if as_json or not sys.stdin.isatty():
                    raise typer.BadParameter("give a request to answer, or run in a terminal")
                await _interactive(agents, thread)
                return None
            return await agents.ask(message, thread, user=LOCAL_USER)

    result = run(job)
    if result is None:
        return
    if as_json:
        sys.stdout.write(_json(result) + "\n")
    else:
        _show(result, out)
