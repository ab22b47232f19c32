"""A Markdown summary of a report, with a chart of success per domain."""

from __future__ import annotations

from evals.render import headline, pct
from evals.report import DOMAINS, Report

BAR_WIDTH = 20


def _bar(value: float | None) -> str:
    filled = round((value or 0.0) * BAR_WIDTH)
    return "█" * filled + "░" * (BAR_WIDTH - filled)


def domain_chart(report: Report) -> list[str]:
    """Success per domain: a Mermaid bar chart (GitHub draws it) and the same as text bars."""
    domains = [d for d in DOMAINS if d in report.by_tag]
    if not domains:
        return []
    values = [round((report.by_tag[d].success or 0.0) * 100) for d in domains]
    lines = [
        "```mermaid",
        "xychart-beta",
        '    title "Task success per domain (%)"',
        "    x-axis [" + ", ".join(domains) + "]",
        '    y-axis "success %" 0 --> 100',
        "    bar [" + ", ".join(str(v) for v in values) + "]",
        "```",
        "",
        "```text",
    ]
    width = max(len(d) for d in domains)
    for domain in domains:
        m = report.by_tag[domain]
        lines.append(f"{domain:<{width}}  {_bar(m.success)} {pct(m.success):>4} of {m.tasks}")
    lines.append("```")
    return lines


def markdown(report: Report) -> str:
    """The report as Markdown: settings, figures, the chart, per tag, the failed tasks."""
    k = report.repeat
    lines = [
        f"# Eval report: {report.model}",
        "",
        f"`{report.command}` — {report.started_at:%Y-%m-%d %H:%M} UTC, {report.wall_s:.1f} s "
        f"with {report.workers} worker(s) on {report.machine}.",
        "",
        "| figure | value |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in headline(report.overall)),
        "",
        "## Success per domain",
        "",
        *domain_chart(report),
        "",
        "## By tag",
        "",
        f"| tag | tasks | success | pass^{k} | route first hop | tool precision / recall |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for tag, m in report.by_tag.items():
        lines.append(
            f"| {tag} | {m.tasks} | {pct(m.success)} | {pct(m.pass_hat_k.get(k))} | "
            f"{pct(m.route.first_hop)} | {pct(m.tools.precision)} / {pct(m.tools.recall)} |"
        )
    failed = [t for t in report.tasks if t.passed < t.runs]
    lines += ["", f"## Failed tasks ({len(failed)})", ""]
    for task in failed:
        outcome = next(o for o in task.outcomes if not o.passed)
        lines.append(f"- **{task.id}** ({task.passed}/{task.runs}): {task.request[0]}")
        for g in outcome.grades:
            if not g.passed:
                got = g.got.replace("\n", " ")
                lines.append(f"  - {g.key}: expected {g.expected}; got {got}")
    return "\n".join(lines) + "\n"
