"""What the offline model says when it does not route: questions back, a choice between two
intents, greetings, help, refusals — and how it joins the specialists' answers into one."""

from __future__ import annotations

import re

from agents.offline.answers import say
from agents.offline.planner import Progress
from agents.offline.understanding import Brain, Reading
from agents.report import Report

EXAMPLES_PER_DOMAIN = 2


def capabilities(brain: Brain) -> str:
    """What Titan can help with, one line per domain, from the catalogue."""
    lines = []
    for domain, about in sorted(brain.catalogue.domains.items()):
        if domain == "conversation":
            continue
        lines.append(f"- {about}")
    return "\n".join(lines)


def _examples(brain: Brain) -> str:
    shown: list[str] = []
    for domain in sorted(brain.catalogue.domains):
        intents = [i for i in brain.catalogue.intents.values() if i.domain == domain and i.agent]
        for intent in intents[:EXAMPLES_PER_DOMAIN]:
            shown.append(f"“{intent.examples[0]}”")
    return ", ".join(shown[:8])


def reply(brain: Brain, reading: Reading) -> str:
    """The supervisor's own answer to a turn it does not route."""
    if reading.act in ("ask", "clarify"):
        return reading.reply
    if reading.act == "greet":
        return (
            "Hello — I'm Titan, the plant's operations assistant. Ask me about machines, stock, "
            "orders, shipments, schedules, compliance or customer messages, for example "
            f"{_examples(brain)}."
        )
    if reading.act == "thanks":
        return "You're welcome."
    if reading.act == "help":
        return (
            "I work on the plant's live data and can answer questions or take actions about:\n"
            f"{capabilities(brain)}\n\nFor example: {_examples(brain)}. Risky actions (cancelling "
            "an order, writing to a customer, large purchase orders, taking a machine down) wait "
            "for a person's approval."
        )
    if reading.act in ("approve", "reject"):
        return "Nothing in this conversation is waiting for your decision."
    lead = (
        "That isn't something I can help with: I work on the plant's operations."
        if reading.understood
        else "I didn't understand that as a request about the plant."
    )
    return f"{lead} I can help with:\n{capabilities(brain)}\n\nFor example: {_examples(brain)}."


def specialist_answer(brain: Brain, agent: str, progress: list[Progress], notes: str) -> str:
    """A specialist's answer: one paragraph per task it carried out, in order."""
    if not progress:
        return f"There was nothing for the {agent or 'specialist'} to do in this request."
    return "\n\n".join(say(p) for p in progress if p is not None).strip()


def compose(report: Report) -> str:
    """The one answer: each specialist's part, then what was refused or failed that no part
    already says."""
    parts = [body for _, body in report.findings if body.strip()]
    said = "\n".join(parts)
    for line in report.not_done:
        line = re.sub(r"Error executing tool \w+:\s*", "", line)
        action = re.split(r" \(\w+\): ", line, maxsplit=1)
        if action[-1].strip()[:40] not in said:
            parts.append(f"Not done: {line}")
    if not parts:
        return "I found nothing to report for this request."
    return "\n\n".join(parts)
