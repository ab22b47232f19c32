"""`titan model check`: the offline model's cross-validated intent accuracy, its confusions,
and the fit of its plans to the MCP tools, printed."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from agents.mcp_tools import agent_schemas
from agents.offline.catalogue import load_catalogue
from agents.offline.check import VARIANTS, Folded, cross_validate, plan_problems, unreachable

# Read tools no intent needs, and why: people ask for them through an intent that reads more.
COVERED_READS = {
    "review_order": "governance.order_compliance checks the order against its contract and more",
    "get_approval": "a chat shows the approval it waits for itself; MCP clients follow theirs",
}


def _summary(results: list[Folded]) -> Table:
    table = Table(title="Intent accuracy, each example held out once")
    for column in ("matcher", "examples", "accuracy", "worst domain", "seconds"):
        table.add_column(column)
    for r in results:
        worst = min(r.by_domain.items(), key=lambda kv: kv[1])
        table.add_row(
            VARIANTS[r.variant],
            str(r.examples),
            f"{r.accuracy:.1%}",
            f"{worst[0]} {worst[1]:.0%}",
            f"{r.seconds:.0f}",
        )
    return table


def _matrix(result: Folded) -> Table:
    domains = sorted(result.domain_matrix)
    table = Table(title="Domains: expected (rows) × matched (columns)")
    table.add_column("expected")
    for d in domains:
        table.add_column(d[:6])
    for d in domains:
        row = result.domain_matrix[d]
        table.add_row(d, *(str(row.get(o, "")) for o in domains))
    return table


def _details(result: Folded) -> Table:
    table = Table(title="Most confused intents")
    table.add_column("expected")
    table.add_column("matched")
    table.add_column("examples")
    for a, b, n in result.confusions:
        table.add_row(a, b, str(n))
    return table


async def report_check(*, compare: bool, folds: int, as_json: bool) -> bool:
    """Print the check; False when a plan does not fit the tools."""
    catalogue = load_catalogue()
    variants = ["joint", "ngrams", "embedding"] if compare else ["joint"]
    results = [cross_validate(catalogue, variant=v, folds=folds) for v in variants]
    schemas, writes = await agent_schemas()
    problems = plan_problems(catalogue, schemas, writes)
    tools = {t for by in schemas.values() for t in by}
    missing = sorted(unreachable(catalogue, tools) - set(COVERED_READS))
    if as_json:
        print(  # noqa: T201 - the command's output, plain JSON on stdout
            json.dumps(
                {
                    "intents": len(catalogue.intents),
                    "results": [
                        r.__dict__
                        | {"domain_matrix": {k: dict(v) for k, v in r.domain_matrix.items()}}
                        for r in results
                    ],
                    "plan_problems": problems,
                    "unreachable_tools": missing,
                },
                indent=1,
                default=str,
            )
        )
        return not problems and not missing
    console = Console()
    console.print(
        f"{len(catalogue.intents)} intents, {results[0].examples} examples, {folds} folds"
    )
    console.print(_summary(results))
    console.print(_matrix(results[0]))
    console.print(_details(results[0]))
    worst = sorted(results[0].by_intent.items(), key=lambda kv: kv[1])[:10]
    console.print("Weakest intents: " + ", ".join(f"{i} {a:.0%}" for i, a in worst))
    if problems:
        console.print(f"[red]{len(problems)} plan(s) do not fit the tools:[/red]")
        for problem in problems:
            console.print(f"  - {problem}")
    else:
        console.print("Every plan fits the MCP tools of its agent.")
    if missing:
        console.print(f"[red]No intent reaches {', '.join(missing)}.[/red]")
    return not problems and not missing
