"""Filling an intent's slots from what was said, and refusing values that cannot be right.

A slot is filled from the clause first, then the rest of the request, then the conversation
(the entities the earlier turns named, newest first), and at a specialist also from what the
team found before it. Values are checked where they are read: a quantity of -100 or 10^23, a
date in 9999, a machine the plant does not have — each becomes a question back, never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from rapidfuzz import process

from agents.offline.catalogue import ID_TYPES, Catalogue, Intent, Slot
from agents.offline.entities import Mention
from agents.offline.names import PlantNames

MAX_QUANTITY = 1_000_000
MAX_MONEY = Decimal(100_000_000)
# Past and future limits of any date a request may name, from now.
PAST_LIMIT = timedelta(days=5 * 365)
FUTURE_LIMIT = timedelta(days=2 * 366)
# Values the conversation carries from earlier turns: IDs, and a fault found.
CARRIED = {*ID_TYPES, "fault", "sensor"}
# ID types the plant directory knows, so a value it lacks is a mistake.
DIRECTORY_TYPES = {"machine", "facility", "work_center", "customer", "supplier", "sku", "carrier"}
LABELS = {
    "machine": "machine",
    "facility": "site",
    "work_center": "work center",
    "customer": "customer",
    "supplier": "supplier",
    "sku": "product",
    "carrier": "carrier",
}
PERIOD_DEFAULTS = {
    "last_7_days": timedelta(days=7),
    "last_30_days": timedelta(days=30),
    "last_90_days": timedelta(days=90),
    "last_24_hours": timedelta(hours=24),
}
_REASON = re.compile(
    r"(?:\b(?:because|since|due to|until|till|reason(?: is)?:?)\b|[,;:—–]|\s-\s)\s*(.+)$",
    re.I,
)
_STRONG_REASON = re.compile(
    r"\b(?:because|since|due to|until|till|the reason is|reason:)\s+(.+)$", re.I
)
_LEADING_VERB = re.compile(r"^(?:is|was|has been|have been|got|it's|it is|as)\s+", re.I)
_MESSAGE = re.compile(r"(?:\b(?:that|saying|to say|know|about)\b|[:—–]|\s-\s)\s*(.+)$", re.I)
_MESSAGE_NOISE = re.compile(
    r"^(?:an?\s+)?(?:e-?mail|note|message|line|update|quick note|heads-up)"
    r"\s*(?:to say|saying|that)?\s*",
    re.I,
)


@dataclass
class Filled:
    """An intent's slots as filled, what is still missing, and what cannot be right."""

    values: dict[str, Any] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    from_team: list[str] = field(default_factory=list)
    came_from: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Sources:
    """Where slot values can come from, in order of preference."""

    clause: Sequence[Mention]
    request: Sequence[Mention]
    context: Sequence[Mention]  # newest first
    team: Sequence[Mention] = ()
    clause_text: str = ""
    request_text: str = ""
    team_expected: bool = False  # an earlier specialist runs first and may find the value


def accepts(slot: Slot, mention: Mention) -> bool:
    """Whether a mention can fill a slot of this type."""
    kind = slot.type
    if kind == "quantity":
        return mention.type == "number"
    if kind == "number":
        return mention.type in ("number", "weight", "money")
    if kind == "datetime":
        return mention.type in ("datetime", "period")
    return mention.type == kind


def _pool(slot: Slot, sources: Sources, source: str) -> Sequence[Mention]:
    if source == "clause":
        return sources.clause
    if source == "request":
        return sources.request
    if source == "context":
        return sources.context if slot.type in CARRIED else ()
    if source == "team":
        return sources.team
    return ()


def _after(slot: Slot, mentions: Sequence[Mention], text: str, offset: int) -> list[Mention]:
    """The mentions that follow one of the slot's introducing words."""
    if not slot.after:
        return list(mentions)
    lowered = text.lower()
    chosen: list[Mention] = []
    for m in mentions:
        at = m.begin - offset
        before = lowered[max(0, at - 30) : max(0, at)]
        if any(re.search(rf"\b{re.escape(w)}\s*$", before) for w in slot.after):
            chosen.append(m)
    return chosen


def _value(slot: Slot, mention: Mention) -> Any:
    if slot.type == "datetime" and mention.type == "period":
        return mention.value[0]
    return mention.value


def _text(  # noqa: C901 - one rule per kind of text slot
    slot: Slot, sources: Sources, taken: Sequence[Mention]
) -> str | None:
    clause = sources.clause_text.strip()
    how = slot.text
    if how == "clause":
        return clause or None
    if how == "request":
        return sources.request_text.strip() or None
    if slot.after:
        lowered = clause.lower()
        at = max(
            (m.end() for w in slot.after for m in re.finditer(rf"\b{re.escape(w)}\s+", lowered)),
            default=-1,
        )
        if at >= 0:
            return clause[at:].strip(" .,;") or None
        return None
    pattern = _REASON if how == "reason" else _MESSAGE
    # A reason is read after the last ID the clause names ("cancel WO-3005, it was a false
    # alarm"); a message after whom it goes to ("tell Airbus their certificates are ready").
    anchor = 0
    for m in sources.clause:
        if how == "message" and m.type in ("customer", "staff"):
            anchor = m.end - _offset(sources)
            break
        if how == "reason" and m.masked and m.type in ID_TYPES and m.type not in _WHO:
            anchor = max(anchor, m.end - _offset(sources))
    tail = clause[anchor:] if anchor < len(clause) else ""
    found = pattern.search(tail) or pattern.search(clause)
    # Without a word that introduces it, a message is what follows whom it is for.
    text = found.group(1) if found else (tail if how == "message" and anchor else "")
    if how == "reason":
        strong = _STRONG_REASON.search(clause)
        said = _LEADING_VERB.sub("", tail.strip(" ,.;:—–-"))
        sentences = [x for x in re.split(r"(?<=[.!?])\s+|\s+[-–—]\s+", clause) if x.strip()]
        if _ASKED.match(said):
            said = ""
        first = clause.split()[0].lower() if clause.split() else ""
        told = [x for x in sentences if not _ASKED.match(x) and x.split()[0].lower() != first]
        if strong:
            text = (
                strong.group(0)
                if strong.group(0).lower().startswith(("until", "till"))
                else strong.group(1)
            )
        elif anchor and len(said.split()) >= 2:
            text = said
        elif len(sentences) > 1:
            text = " ".join(told or sentences[:-1])
    if how == "message":
        text = _MESSAGE_NOISE.sub("", text.strip())
        text = re.sub(r"^(?:know|that)\s+", "", text, flags=re.I)
    if how == "reason" and _ASKED.match(text):
        text = ""  # "…, please close it off" asks; it gives no reason
    if not text and how == "reason":
        # "Rivian has withdrawn ORD-10021. Please cancel it.": the stated fact is the reason.
        sentences = [x for x in re.split(r"(?<=[.!?])\s+", clause) if x.strip()]
        rest = " ".join(sentences[:-1]) if len(sentences) > 1 else ""
        if not rest:
            rest = sources.request_text.replace(sources.clause_text, " ").strip(" .")
        text = rest if len(rest) > 3 else ""
    text = text.strip(" .,;")
    return text[:1000] or None


_WHO = ("customer", "staff", "supplier", "carrier")
_ASKED = re.compile(r"\s*(?:(?:can|could|would|will)\s+(?:you|we|u)|please|pls)\b", re.I)


def _offset(sources: Sources) -> int:
    at = sources.request_text.find(sources.clause_text) if sources.clause_text else 0
    return max(at, 0)


def fill(  # noqa: C901 - each slot tried source by source, then its fallbacks
    intent: Intent, sources: Sources, *, stage: str = "supervisor"
) -> Filled:
    """The intent's slots from `sources`; `stage` 'specialist' may also read the team's notes."""
    filled = Filled()
    used: set[tuple[int, int, str]] = set()
    for name, slot in intent.slots.items():
        if slot.type == "text":
            filled.values[name] = _text(slot, sources, [])
            continue
        chosen: list[Mention] = []
        for source in slot.sources:
            if source == "team" and stage != "specialist":
                continue
            pool = [
                m
                for m in _pool(slot, sources, source)
                if accepts(slot, m) and (m.begin, m.end, m.type) not in used
            ]
            if source == "clause":
                pool = _after(slot, pool, sources.clause_text, _offset(sources))
            elif slot.after:
                pool = []  # a value introduced by its words is read only where it was said
            if pool:
                chosen = pool if slot.many else [pool[0]]
                break
        if chosen:
            if not slot.many and source in ("clause", "request"):
                used.add((chosen[0].begin, chosen[0].end, chosen[0].type))
            values = list(dict.fromkeys(_value(slot, m) for m in chosen))
            filled.values[name] = values if slot.many else values[0]
            filled.came_from[name] = source
        elif slot.default is not None:
            filled.values[name] = slot.default
        elif slot.required:
            if "team" in slot.sources and (sources.team_expected or stage == "specialist"):
                filled.from_team.append(name)
            else:
                filled.missing.append(name)
    return filled


# ───────────────────────── checking the values ─────────────────────────


def problems(
    intent: Intent, filled: Filled, mentions: Sequence[Mention], names: PlantNames, now: datetime
) -> list[str]:
    """What cannot be right in the request's values, each said as the question to ask."""
    found: list[str] = []
    for name, slot in intent.slots.items():
        value = filled.values.get(name)
        if value is None:
            continue
        values = value if isinstance(value, list) else [value]
        for v in values:
            problem = _check(slot, v, names, now)
            if problem and problem not in found:
                found.append(problem)
    return found


PAST_GRACE = timedelta(hours=1)


def _when(at: datetime) -> str:
    shown = f"{at:%a} {at.day} {at:%b %Y}"
    return shown if (at.hour, at.minute) == (0, 0) else f"{shown} {at:%H:%M}"


def _check(slot: Slot, value: Any, names: PlantNames, now: datetime) -> str | None:
    kind = slot.type
    if kind in DIRECTORY_TYPES and not names.empty and not names.known(kind, str(value)):
        return unknown(kind, str(value), names)
    if kind == "quantity":
        return _quantity(value, signed=slot.signed)
    if kind == "money" and (not isinstance(value, Decimal) or value <= 0 or value > MAX_MONEY):
        return f"{value} is not an amount I can use; give a price above 0 in USD."
    if kind in ("datetime", "period"):
        stamps = [value] if isinstance(value, datetime) else list(value)
        ends = [s for s in stamps[-1:] if isinstance(s, datetime)]
        if slot.future and ends and ends[0] < now - PAST_GRACE:
            return (
                f"{_when(stamps[0])} is in the past (it is now {_when(now)} UTC). Which date do "
                "you mean?"
            )
        for stamp in stamps:
            if isinstance(stamp, datetime) and not (
                now - PAST_LIMIT <= stamp <= now + FUTURE_LIMIT
            ):
                return (
                    f"{stamp:%Y-%m-%d} cannot be right: I plan at most two years ahead. Which "
                    "date do you mean?"
                )
    return None


def _quantity(value: Any, *, signed: bool) -> str | None:
    if not isinstance(value, Decimal):
        return None
    shown = _shown(value)
    if value != value.to_integral_value():
        return f"{shown} is not a whole number of units; how many units do you mean?"
    if signed and value != 0 and abs(value) <= MAX_QUANTITY:
        return None
    if value <= 0:
        return f"A quantity of {shown} cannot be right; how many units (above 0) do you mean?"
    if value > MAX_QUANTITY:
        return (
            f"{shown} units is more than I can book at once (at most {MAX_QUANTITY:,}); how "
            "many do you mean?"
        )
    return None


def _shown(value: Decimal) -> str:
    if abs(value) >= 10**9:
        return f"{value:.3g}".replace("E+", "×10^").replace("e+", "×10^")
    return (
        f"{value:,f}".rstrip("0").rstrip(".")
        if value != value.to_integral_value()
        else f"{int(value):,}"
    )


def unknown(kind: str, value: str, names: PlantNames) -> str:
    """The question for an ID the plant does not have, with the nearest ones it does."""
    label = LABELS.get(kind, kind)
    known = [e.value for e in names.of_type(kind)]
    if kind == "machine":
        site = value.split("-")[0]
        near = names.machines_of(site) or known
    else:
        near = [m[0] for m in process.extract(value, known, limit=4)]
    listed = ", ".join(near[:8])
    return f"I can't find {label} {value} in the plant. Did you mean one of {listed}?"


def missing_question(catalogue: Catalogue, intent: Intent, missing: Sequence[str]) -> str:
    """The question for the first missing slot."""
    slot = intent.slots[missing[0]]
    return slot.ask or f"Which {missing[0].replace('_', ' ')}?"
