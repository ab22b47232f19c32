"""What a request names: IDs, the plant's names, the catalogue's vocabulary, numbers and times.

`find_mentions` reads a text into `Mention`s — typed values with where they were said — from
four sources: ID patterns (ORD-10013, WO 3005, "order 10013", "SKU-BRG-7014"), the plant's own
names (`PlantNames`: machines, sites, customers, suppliers, products, carriers, with near
misses), the vocabulary of the catalogue (fault types, sensors, priorities …), and numbers,
dates and periods. `mask` replaces IDs, names, numbers and times by their type (`<MACHINE>`,
`<ORDER>` …) so that the intent matcher sees the shape of a request, not its values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agents.offline.catalogue import Vocabulary
from agents.offline.names import PlantNames, bare_codes
from agents.offline.numbers import Amount, find_amounts
from agents.offline.times import When, find_times

_NUMBER_WORDS = r"(?:no\.?\s*|number\s*|#\s*|id\s*)?"
ID_PATTERNS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("approval", re.compile(r"\bAPR-([0-9A-F]{6,})\b", re.I), "APR-{0}"),
    ("order", re.compile(r"\bORD[\s#_-]*(\d{3,7})\b", re.I), "ORD-{0}"),
    ("order", re.compile(rf"\border\s+{_NUMBER_WORDS}(\d{{5}})\b", re.I), "ORD-{0}"),
    ("work_order", re.compile(r"\bWO[\s#_-]*(\d{3,6})\b", re.I), "WO-{0}"),
    ("work_order", re.compile(rf"\bwork\s*order\s+{_NUMBER_WORDS}(\d{{3,6}})\b", re.I), "WO-{0}"),
    ("purchase_order", re.compile(r"\bPO[\s#_-]*(\d{3,6})\b", re.I), "PO-{0}"),
    (
        "purchase_order",
        re.compile(rf"\bpurchase\s+order\s+{_NUMBER_WORDS}(\d{{3,6}})\b", re.I),
        "PO-{0}",
    ),
    ("shipment", re.compile(r"\bSHP[\s#_-]*(\d{3,6})\b", re.I), "SHP-{0}"),
    ("shipment", re.compile(rf"\bshipment\s+{_NUMBER_WORDS}(\d{{3,6}})\b", re.I), "SHP-{0}"),
    ("inquiry", re.compile(r"\bINQ[\s#_-]*(\d{3,6})\b", re.I), "INQ-{0}"),
    ("inquiry", re.compile(rf"\binquiry\s+{_NUMBER_WORDS}(\d{{3,6}})\b", re.I), "INQ-{0}"),
    ("batch", re.compile(r"\b(B-[A-Z0-9]+(?:-[A-Z0-9]+)+)\b", re.I), "{0}"),
    ("batch", re.compile(r"\bbatch\s+([A-Z0-9]+(?:-[A-Z0-9]+)+)\b", re.I), "{0}"),
    (
        "sku",
        re.compile(r"\b(?i:sku)[\s_-]*([A-Za-z]{2,3})[\s_-]*([A-Za-z0-9]*\d[A-Za-z0-9]*)\b"),
        "SKU-{0}-{1}",
    ),
    (
        "schedule",
        re.compile(rf"\b(?:schedule|proposal)\s+{_NUMBER_WORDS}(\d{{1,6}})\b", re.I),
        "{0}",
    ),
    (
        "notification",
        re.compile(rf"\b(?:notification|message|alert)\s+{_NUMBER_WORDS}(\d{{1,9}})\b", re.I),
        "{0}",
    ),
    ("tracking_number", re.compile(r"\b(\d{10,14})\b"), "{0}"),
    ("table", re.compile(r"\b([a-z][a-z0-9]*(?:_[a-z0-9]+)+)\b"), "{0}"),
    ("table", re.compile(r"\bthe\s+([a-z]+)\s+table\b", re.I), "{0}"),
)
_BARE_CODE = re.compile(
    r"\b(\d{4})(?:\s+[a-z-]+){0,2}\s+(bearings?|blades?|housings?|enclosures?|parts?)\b", re.I
)
MASKED = {
    "machine",
    "order",
    "sku",
    "customer",
    "supplier",
    "facility",
    "work_center",
    "shipment",
    "work_order",
    "purchase_order",
    "inquiry",
    "batch",
    "tracking_number",
    "approval",
    "schedule",
    "notification",
    "carrier",
    "table",
    "number",
    "money",
    "weight",
    "days",
    "datetime",
    "period",
}


@dataclass(frozen=True)
class Mention:
    """A typed value said in a text, and where."""

    type: str
    value: Any
    begin: int
    end: int
    text: str
    exact: bool = True
    derived: bool = False  # inferred from other words ("the grinder in Phoenix"), not said

    @property
    def masked(self) -> bool:
        return self.type in MASKED and not self.derived


def _ids(text: str) -> list[Mention]:
    found: list[Mention] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern, shape in ID_PATTERNS:
        for m in pattern.finditer(text):
            if any(not (m.end() <= b or m.start() >= e) for b, e in taken):
                continue
            value: Any = shape.format(
                *(g.upper() if kind != "table" else g.lower() for g in m.groups())
            )
            if kind in ("schedule", "notification"):
                value = int(value)
            found.append(Mention(kind, value, m.start(), m.end(), m.group(0)))
            taken.append(m.span())
    return found


_PATTERNS: dict[
    int, tuple[Mapping[str, Vocabulary], list[tuple[str, tuple[re.Pattern[str], dict[str, str]]]]]
] = {}


def _patterns(
    vocabularies: Mapping[str, Vocabulary],
) -> list[tuple[str, tuple[re.Pattern[str], dict[str, str]]]]:
    known = _PATTERNS.get(id(vocabularies))
    if known is None or known[0] is not vocabularies:
        known = (vocabularies, [(n, v.pattern()) for n, v in vocabularies.items()])
        _PATTERNS[id(vocabularies)] = known
    return known[1]


def _vocabulary(text: str, vocabularies: Mapping[str, Vocabulary]) -> list[Mention]:
    lowered = text.lower()
    found: list[Mention] = []
    for name, (pattern, values) in _patterns(vocabularies):
        for m in pattern.finditer(lowered):
            found.append(
                Mention(name, values[m.group(0)], m.start(), m.end(), text[m.start() : m.end()])
            )
    return found


def _amount(a: Amount) -> Mention:
    return Mention(a.kind, a.value, a.begin, a.end, a.text)


def _when(w: When) -> Mention:
    if w.is_period:
        return Mention("period", (w.start, w.end), w.begin, w.finish, w.text)
    return Mention("datetime", w.start, w.begin, w.finish, w.text)


def find_mentions(
    text: str,
    *,
    names: PlantNames,
    vocabularies: Mapping[str, Vocabulary],
    now: datetime,
) -> list[Mention]:
    """Everything `text` names, in the order said; vocabulary mentions may overlap others."""
    ids = _ids(text)
    taken = [(m.begin, m.end) for m in ids]
    plant = [
        Mention(f.type, f.value, f.begin, f.end, f.text, f.exact)
        for f in names.find(text)
        if all(f.end <= b or f.begin >= e for b, e in taken)
    ]
    taken += [(m.begin, m.end) for m in plant]
    codes = bare_codes(names)
    for m in _BARE_CODE.finditer(text):
        skus = codes.get(m.group(1), [])
        if len(skus) == 1 and all(m.end(1) <= b or m.start(1) >= e for b, e in taken):
            plant.append(Mention("sku", skus[0], m.start(1), m.end(1), m.group(1), False))
            taken.append(m.span(1))
    times = [
        _when(w)
        for w in find_times(text, now)
        if all(w.finish <= b or w.begin >= e for b, e in taken)
    ]
    taken += [(m.begin, m.end) for m in times]
    amounts = [_amount(a) for a in find_amounts(text, taken=taken)]
    words = _vocabulary(text, vocabularies)
    derived = _by_kind_and_site(plant, words, names)
    return sorted(
        [*ids, *plant, *times, *amounts, *words, *derived], key=lambda m: (m.begin, -m.end)
    )


def _by_kind_and_site(
    plant: list[Mention], words: list[Mention], names: PlantNames
) -> list[Mention]:
    """The machine or work center meant by its kind and site ("the heat treat furnace in
    Munich", "the Phoenix grinding cell"), when the plant has exactly one such."""
    sites = [m.value for m in plant if m.type == "facility"]
    if not sites or any(m.type in ("machine", "work_center") for m in plant):
        return []
    found: list[Mention] = []
    for kind in (m for m in words if m.type == "wc_type"):
        for entity in ("machine", "work_center"):
            fits = [
                e.value
                for e in names.of_type(entity)
                if e.facility in sites and e.detail.get("wc_type") == kind.value
            ]
            if len(fits) == 1:
                found.append(Mention(entity, fits[0], kind.begin, kind.end, kind.text, False, True))
    return found


def mask(text: str, mentions: list[Mention]) -> str:
    """`text` with each masked mention replaced by its type, e.g. 'Why is <MACHINE> hot?'."""
    out: list[str] = []
    at = 0
    for m in sorted((m for m in mentions if m.masked), key=lambda m: m.begin):
        if m.begin < at:
            continue
        out.append(text[at : m.begin])
        out.append(f"<{_TOKEN.get(m.type, m.type).upper()}>")
        at = m.end
    out.append(text[at:])
    return re.sub(r"\s+", " ", "".join(out)).strip()


# Kinds that read alike to the matcher share a token.
_TOKEN = {"datetime": "date", "period": "date", "weight": "number", "days": "number"}
