"""Numbers as people write them: quantities, money, weights and day counts.

"20 units", "-100 blades", "500,000 motor housings", "10^23", "a dozen", "two days late",
"$5,000", "5k USD", "120 kg". Each is read with its sign and size as written, never clipped or
made positive: deciding whether a value can be right is the caller's job (see `understanding`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

NumberKind = Literal["quantity", "money", "weight", "days", "number"]

WORDS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "hundred": 100,
    "a dozen": 12,
    "dozen": 12,
    "a couple of": 2,
    "a couple": 2,
    "couple of": 2,
    "a pair of": 2,
    "a few": 3,
}
_WORD = "|".join(sorted((re.escape(w) for w in WORDS), key=len, reverse=True))
# A number starts where a run of digits does (never inside one): a long run is then tried once,
# not from each of its digits, which made a message of 4,000 digits take seconds to read.
_DIGITS = (
    r"(?:[-−–]\s?)?(?<![\d,.])\d[\d,]*(?:\.\d+)?"
    r"(?:\s*(?:[x×*]\s*10\s*\^\s*-?\d+|e\+?\d+|\^\s*\d+))?"
)
_AMOUNT = rf"(?:{_DIGITS}|\b(?:{_WORD})\b)"

_MONEY = re.compile(
    rf"(?:(?:\$|US\$|USD\s?|€|EUR\s?)\s?(?P<a>{_DIGITS})\s*(?P<ak>k|m|thousand|million)?\b"
    rf"|(?P<b>{_DIGITS})\s*(?P<bk>k|m|thousand|million)?\s*(?:USD|dollars?|bucks|EUR|euros?)\b)",
    re.I,
)
_WEIGHT = re.compile(
    rf"(?P<n>{_AMOUNT})\s*(?P<u>kg|kgs|kilos?|kilograms?|tonnes?|tons?|t|lbs?|pounds)\b", re.I
)
_DAYS = re.compile(
    rf"(?P<n>{_AMOUNT}|\ban?\b)\s*(?P<u>days?|weeks?|working days?)\b"
    r"(?=\s*(?:late|later|behind|delay|"
    rf"overdue|early|earlier|ahead|sooner|out|slip|\.|,|$))",
    re.I,
)
_PRONOUN_ONE = {
    "the",
    "that",
    "this",
    "which",
    "each",
    "any",
    "every",
    "no",
    "another",
    "other",
    "munich",
    "phoenix",
    "detroit",
    "new",
    "old",
    "same",
    "first",
    "last",
    "next",
}
_NUMBER = re.compile(rf"(?<![\w.-]){_AMOUNT}(?![\w-])", re.I)


@dataclass(frozen=True)
class Amount:
    """A number said, what kind of number it is, and where."""

    kind: NumberKind
    value: Decimal
    begin: int
    end: int
    text: str
    unit: str = ""


def word_number(raw: str) -> Decimal | None:
    """The value of a number written in digits or words; None if it is not one."""
    text = raw.strip().lower().replace("−", "-").replace("–", "-")
    if text in WORDS:
        return Decimal(WORDS[text])
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text).replace(" ", "")
    power = re.fullmatch(r"(-?\d+(?:\.\d+)?)(?:[x×*]10\^(-?\d+)|\^(\d+))", text)
    try:
        if power:
            base = Decimal(power.group(1))
            if power.group(2) is not None:
                exponent = int(power.group(2))
                return base * (Decimal(10) ** exponent) if abs(exponent) < 400 else None
            exponent = int(power.group(3))
            return base**exponent if exponent < 400 and abs(base) < 10**6 else None
        return Decimal(text)
    except (InvalidOperation, ValueError, OverflowError):
        return None


def _scale(value: Decimal, suffix: str | None) -> Decimal:
    scale = {"k": 1_000, "thousand": 1_000, "m": 1_000_000, "million": 1_000_000}
    return value * scale.get((suffix or "").lower(), 1)


def find_amounts(text: str, *, taken: list[tuple[int, int]] | None = None) -> list[Amount]:
    """Every number in `text` outside the spans `taken` (IDs, dates and times), by kind."""
    blocked = list(taken or [])
    found: list[Amount] = []

    def free(begin: int, end: int) -> bool:
        return all(end <= b or begin >= e for b, e in blocked)

    def add(kind: NumberKind, value: Decimal | None, m: re.Match[str], unit: str = "") -> None:
        begin, end = m.span()
        if value is None or not free(begin, end):
            return
        found.append(Amount(kind, value, begin, end, m.group(0).strip(), unit))
        blocked.append((begin, end))

    for m in _MONEY.finditer(text):
        raw, suffix = (
            (m.group("a"), m.group("ak")) if m.group("a") else (m.group("b"), m.group("bk"))
        )
        value = word_number(raw)
        add("money", _scale(value, suffix) if value is not None else None, m, "USD")
    for m in _WEIGHT.finditer(text):
        value = word_number(m.group("n"))
        unit = m.group("u").lower()
        if value is not None and (unit.startswith(("tonne", "ton")) or unit == "t"):
            value *= 1000
        elif value is not None and unit.startswith(("lb", "pound")):
            value = (value * Decimal("0.4536")).quantize(Decimal("0.1"))
        add("weight", value, m, "kg")
    for m in _DAYS.finditer(text):
        value = Decimal(1) if m.group("n").lower() in ("a", "an") else word_number(m.group("n"))
        if value is not None and m.group("u").lower().startswith("week"):
            value *= 7
        add("days", value, m, "days")
    for m in _NUMBER.finditer(text):
        before = text[max(0, m.start() - 12) : m.start()].lower().split()
        if m.group(0).lower() == "one" and before and before[-1] in _PRONOUN_ONE:
            continue  # "the Munich one", "which one": a pronoun, not a quantity
        add("number", word_number(m.group(0)), m)
    return sorted(found, key=lambda a: a.begin)
