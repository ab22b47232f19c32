"""What the offline model tells people: per intent, a short paragraph with the IDs, numbers and
units that matter, and a compact table where a list is the answer.

Each intent of the catalogue names its renderer; renderers live by domain in this package and
register with `@answer("name")`. A renderer gets the task's progress (its slots and results)
and writes the answer; what failed, what a person refused, and what was asked for but cannot be
done here are said plainly by `say()`, around the renderer.
"""

from __future__ import annotations

from collections.abc import Callable

from agents.offline.answers.common import failure_sentence
from agents.offline.answers.lifecycle import not_allowed
from agents.offline.planner import Progress

Renderer = Callable[[Progress], str]
RENDERERS: dict[str, Renderer] = {}


def answer(name: str) -> Callable[[Renderer], Renderer]:
    def register(fn: Renderer) -> Renderer:
        if name in RENDERERS:
            raise ValueError(f"answer renderer {name!r} registered twice")
        RENDERERS[name] = fn
        return fn

    return register


def say(progress: Progress) -> str:
    """The answer for one task."""
    intent = progress.intent
    if progress.missing:
        slot = intent.slots[progress.missing[0]]
        return slot.ask or f"Which {progress.missing[0]}?"
    if progress.failed is not None:
        before = ""
        # What the reads before a failed change found is not said: a change's answer would
        # read as if it had been made.
        if len(progress.calls) > 1 and not intent.writes:
            earlier = Progress(progress.task, intent, progress.values, progress.calls[:-1])
            try:
                before = RENDERERS[intent.answer or ""](earlier).strip()
            except (KeyError, TypeError, AttributeError, IndexError, ValueError):
                before = ""
        sentence = failure_sentence(intent, progress.failed)
        return f"{before}\n\n{sentence}".strip() if before else sentence
    blocked = not_allowed(progress) if intent.writes else ""
    if blocked:
        return blocked
    which = _which_one(progress)
    if which:
        return which
    if not progress.calls:
        if progress.unavailable:
            return (
                f"I can't {intent.summary.split('(')[0].strip()} here: the tool for it "
                f"({', '.join(progress.unavailable)}) is not on this server."
            )
        return f"There was nothing to look up for that ({intent.summary.split('(')[0].strip()})."
    renderer = RENDERERS[intent.answer or ""]
    return renderer(progress).strip()


_LOOKUPS = {
    "list_orders": ("order_id", "orders"),
    "list_purchase_orders": ("po_id", "purchase orders"),
    "list_work_orders": ("work_order_id", "work orders"),
    "list_inquiries": ("inquiry_id", "inquiries"),
}


def _which_one(progress: Progress) -> str:
    """When a write was asked for by description and the description fits several (or none)
    of the things looked up, the question which one — with what was found."""
    intent = progress.intent
    if not intent.writes or any(
        s.tool not in _LOOKUPS and s.tool != "get_order" for s, _ in progress.calls
    ):
        return ""
    for step, outcome in reversed(progress.calls):  # the last, widest look
        if step.tool in _LOOKUPS and isinstance(outcome.data, list):
            key, what = _LOOKUPS[step.tool]
            found = [str(r.get(key)) for r in outcome.data if isinstance(r, dict) and r.get(key)]
            ask = intent.needs_ask or next((s.ask for s in intent.slots.values() if s.ask), "")
            question = ask.split("?")[0] + "?" if ask else "Which one do you mean?"
            if not found:
                return f"No {what} fit what you described. {question}"
            shown = ", ".join(found[:8]) + (f" and {len(found) - 8} more" if len(found) > 8 else "")
            return f"More than one of the {what} fits: {shown}. {question}"
    return ""


def _load() -> None:
    from agents.offline.answers import (  # noqa: F401 - registration
        communications,
        governance,
        inventory,
        logistics,
        maintenance,
        orders,
        scheduling,
    )


_load()
