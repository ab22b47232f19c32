"""The plant's names, as the offline model recognises them in what people type.

`PlantNames` is built from the plant directory (the `titan://directory` MCP resource: machines,
facilities, work centers, customers, suppliers, products, carriers), so it knows this plant and
no list in code. Besides exact IDs it finds what people write instead: "PHX CNC 7" or "cnc 7 in
phoenix" for PHX-CNC-007, "Nippon bearing" for NIPPONBEARING, "munich" for MUC, "the 6205
bearings" for SKU-BRG-6205, and near misses of names ("Boieng", "Detriot").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz.distance import DamerauLevenshtein

# Words that are never names, however close they come to one.
_COMMON = {
    "bearing",
    "bearings",
    "boring",
    "order",
    "orders",
    "border",
    "motor",
    "notes",
    "testa",
    "phone",
    "munch",
    "detail",
    "detect",
    "airbag",
    "rivals",
    "delta",
    "being",
    "bring",
}
# First words of company names that name something else here: Titan is the plant's own name.
_NOT_A_NAME = {"titan", "beta", "cell", "mori"}
# Codes that are also ordinary words: they name something only in capitals.
_WORDS_IN_LOWER_CASE = {"ge", "ups", "in"}
_TOKEN = re.compile(r"[A-Za-zÀ-ÿ0-9][A-Za-zÀ-ÿ0-9'&.-]*")
_MACHINE = re.compile(
    r"\b([A-Z]{3})[\s_-]*([A-Z]{2,5})[\s_-]*#?\s*0*(\d{1,3})\b(?![-/]\d)", re.IGNORECASE
)
_CANONICAL = re.compile(r"[A-Za-z]{3}-[A-Za-z]{2,5}-\d{3}")
_MACHINE_NO_SITE = re.compile(
    r"\b(CNC|CMM|GRD|HT|ASM|mill|lathe|grinder|furnace)[\s_-]*(?:no\.?\s*|number\s*|#\s*)?0*(\d{1,3})\b",
    re.IGNORECASE,
)
_KIND_WORDS = {"mill": "CNC", "lathe": "CNC", "grinder": "GRD", "furnace": "HT"}


@dataclass(frozen=True)
class Named:
    """One thing of the plant with a name: its type, ID, label and the phrases naming it."""

    type: str
    value: str
    label: str
    phrases: tuple[str, ...]
    facility: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Found:
    """A name found in a text."""

    type: str
    value: str
    begin: int
    end: int
    text: str
    exact: bool = True


def _words(text: str) -> list[str]:
    return re.findall(r"[a-zà-ÿ0-9]+", re.sub(r"['’]s\b", "", text.lower()))


def _camel(text: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)


def _company_phrases(identifier: str, name: str) -> set[str]:
    phrases = {identifier.lower(), identifier.lower().replace("_", " "), name.lower()}
    plain = re.sub(
        r"\b(the|inc|se|gmbh|group|company|co|ltd|llc|ag|alloys|metals)\b\.?", "", name, flags=re.I
    )
    plain = re.sub(r"[,.]", " ", plain).strip()
    if plain:
        phrases.add(" ".join(_words(plain)))
        phrases.add(" ".join(_words(_camel(plain))))
        first = _words(_camel(plain))[0]
        if len(first) >= 4 and first not in _NOT_A_NAME:
            phrases.add(first)
    return {p for p in phrases if p}


class PlantNames:
    """What the plant calls its machines, sites, customers, suppliers, products and carriers."""

    def __init__(self, entries: Iterable[Named] = (), *, fingerprint: str = "") -> None:
        self.entries = list(entries)
        self.fingerprint = fingerprint
        self.by_id = {(e.type, e.value): e for e in self.entries}
        self._phrases: dict[tuple[str, ...], list[Named]] = {}
        for entry in self.entries:
            for phrase in entry.phrases:
                key = tuple(_words(phrase))
                if key:
                    self._phrases.setdefault(key, [])
                    if entry not in self._phrases[key]:
                        self._phrases[key].append(entry)
        self._longest = max((len(k) for k in self._phrases), default=1)
        self._fuzzy = {k[0]: v for k, v in self._phrases.items() if len(k) == 1 and len(k[0]) >= 5}

    def known(self, kind: str, value: str) -> bool:
        return (kind, value) in self.by_id

    def of_type(self, kind: str) -> list[Named]:
        return [e for e in self.entries if e.type == kind]

    def label(self, kind: str, value: str) -> str:
        entry = self.by_id.get((kind, value))
        return entry.label if entry else value

    def get(self, kind: str, value: str) -> Named | None:
        return self.by_id.get((kind, value))

    @property
    def empty(self) -> bool:
        return not self.entries

    def machines_of(self, facility: str) -> list[str]:
        return sorted(e.value for e in self.of_type("machine") if e.facility == facility)

    # ───────────────────────── finding names in a text ─────────────────────────

    def find(self, text: str) -> list[Found]:
        """Every name in `text`, longest first where they overlap, in the order said."""
        found = self._machines(text)
        taken = [(f.begin, f.end) for f in found]
        tokens = [(m.group(0), m.start(), m.end()) for m in _TOKEN.finditer(text)]
        i = 0
        while i < len(tokens):
            hit = self._phrase_at(tokens, i, text)
            if hit is None:
                i += 1
                continue
            entry_list, length, exact = hit
            begin, end = tokens[i][1], tokens[i + length - 1][2]
            if all(end <= b or begin >= e for b, e in taken):
                for entry in entry_list:
                    found.append(Found(entry.type, entry.value, begin, end, text[begin:end], exact))
                taken.append((begin, end))
            i += length
        return sorted(found, key=lambda f: (f.begin, f.type))

    def _phrase_at(
        self, tokens: list[tuple[str, int, int]], i: int, text: str
    ) -> tuple[list[Named], int, bool] | None:
        for length in range(min(self._longest, len(tokens) - i), 0, -1):
            raw = tokens[i : i + length]
            key = tuple(w for t in raw for w in _words(t[0]))
            entries = self._phrases.get(key)
            if entries and entries[0].type == "machine" and len(entries) > 1:
                # "mill 2", "the Haas": the one at the site the text names, if just one
                sites = {f.value for f in self._site_mentions(text)}
                entries = [e for e in entries if e.facility in sites] or entries
            if entries and len({e.type for e in entries}) == 1 and len(entries) > 1:
                entries = None  # a generic name ("turbine blade") that fits several: no guess
            if entries:
                usable = [e for e in entries if _case_fits(e, raw, text)]
                if usable:
                    return usable, length, True
        word = tokens[i][0]
        near = self._near(word)
        return (near, 1, False) if near else None

    def _near(self, word: str) -> list[Named] | None:
        lowered = re.sub(r"['’]s$", "", word.lower()).strip(".'’")
        if len(lowered) < 5 or lowered in _COMMON or lowered.isdigit():
            return None
        best: list[Named] | None = None
        for phrase, entries in self._fuzzy.items():
            if abs(len(phrase) - len(lowered)) > 2:
                continue
            distance = DamerauLevenshtein.distance(lowered, phrase)
            allowed = 2 if len(phrase) >= 9 else 1
            if distance == 0 or distance > allowed:
                continue
            if len(lowered) < 7 and word.islower() and sorted(lowered) != sorted(phrase):
                continue  # short lower-case words: only swapped letters count as a typo
            best = entries
        return best

    def _machines(self, text: str) -> list[Found]:
        found: list[Found] = []
        for m in _MACHINE.finditer(text):
            site, kind, number = m.group(1).upper(), m.group(2).upper(), int(m.group(3))
            machine = f"{site}-{kind}-{number:03d}"
            # An ID written as IDs are (PHX-CNC-099) is a machine even when the plant has none
            # by that name: the request is then asked about, not read as something else.
            canonical = bool(_CANONICAL.fullmatch(m.group(0)))
            if self.empty or self.known("machine", machine) or canonical:
                found.append(Found("machine", machine, m.start(), m.end(), m.group(0)))
        taken = [(f.begin, f.end) for f in found]
        for m in _MACHINE_NO_SITE.finditer(text):
            if any(not (m.end() <= b or m.start() >= e) for b, e in taken):
                continue
            word = m.group(1).lower()
            kind = _KIND_WORDS.get(word, word.upper())
            number = int(m.group(2))
            candidates = [
                e.value
                for e in self.of_type("machine")
                if e.value.split("-")[1] == kind and int(e.value.split("-")[2]) == number
            ]
            sites = {f.value for f in self._site_mentions(text)}
            chosen = [c for c in candidates if c.split("-")[0] in sites] or candidates
            if len(chosen) == 1:
                found.append(Found("machine", chosen[0], m.start(), m.end(), m.group(0), False))
        return found

    def _site_mentions(self, text: str) -> list[Found]:
        words = set(_words(text))
        return [
            Found("facility", e.value, 0, 0, e.value)
            for e in self.of_type("facility")
            if any(set(_words(p)) <= words for p in e.phrases)
        ]

    # ───────────────────────── building from the directory ─────────────────────────

    @classmethod
    def from_directory(cls, data: Mapping[str, Any]) -> PlantNames:
        """The names of a `titan://directory` document."""
        entries: list[Named] = []
        for f in data.get("facilities") or []:
            fid = str(f["facility_id"])
            phrases = {
                fid.lower(),
                str(f.get("city") or "").lower(),
                str(f.get("name") or "").lower(),
            }
            city = str(f.get("city") or "")
            if city.lower() == "munich":
                phrases |= {"münchen", "muenchen", "munchen"}
            entries.append(
                Named("facility", fid, city or fid, tuple(p for p in phrases if p), detail=dict(f))
            )
        for w in data.get("work_centers") or []:
            wid = str(w["work_center_id"])
            entries.append(
                Named(
                    "work_center",
                    wid,
                    str(w.get("name") or wid),
                    (wid.lower(), wid.lower().replace("-", " ")),
                    facility=w.get("facility_id"),
                    detail=dict(w),
                )
            )
        for m in data.get("machines") or []:
            mid = str(m["machine_id"])
            entries.append(
                Named(
                    "machine",
                    mid,
                    str(m.get("name") or mid),
                    (mid.lower(), *_machine_phrases(m)),
                    facility=m.get("facility_id"),
                    detail=dict(m),
                )
            )
        for kind, key in (
            ("customer", "customer_id"),
            ("supplier", "supplier_id"),
            ("carrier", "carrier_id"),
        ):
            for row in data.get(f"{kind}s") or []:
                ident, name = str(row[key]), str(row.get("name") or row[key])
                phrases = _company_phrases(ident, name)
                if kind == "customer" and ident == "GE_AEROSPACE":
                    phrases |= {"ge", "general electric"}
                if kind == "carrier" and ident == "FEDEX":
                    phrases |= {"fed ex"}
                entries.append(Named(kind, ident, name, tuple(sorted(phrases)), detail=dict(row)))
        for p in data.get("products") or []:
            entries.append(_product(p))
        return cls(entries, fingerprint=str(data.get("fingerprint") or ""))


def _machine_phrases(row: Mapping[str, Any]) -> tuple[str, ...]:
    """What people call a machine besides its ID: its name ("vertical mill 2", "Messmaschine
    1"), the name's last words ("mill 2"), its model and maker ("Haas VF-2", "the Haas")."""
    phrases: set[str] = set()
    name = " ".join(_words(str(row.get("name") or "")))
    if name:
        phrases.add(name)
        words = name.split()
        if len(words) >= 2 and words[-1].isdigit():
            phrases.add(" ".join(words[-2:]))  # "mill 2"
            phrases.add(" ".join(words[:-1]))  # "root grinder"
    model = " ".join(_words(str(row.get("model") or "")))
    if model:
        phrases.add(model)
        parts = model.split()
        if len(parts) >= 2 and parts[-1].isdigit():
            phrases.add(" ".join(parts[-2:]))  # "dmu 50"
        phrases |= {p for p in parts if p.isalpha() and len(p) >= 3 and p not in _NOT_A_NAME}
    return tuple(sorted(p for p in phrases if len(p) >= 3))


def _product(row: Mapping[str, Any]) -> Named:
    sku = str(row["sku"])
    name = str(row.get("name") or sku)
    code = sku.split("-", 1)[1] if "-" in sku else sku  # TB-1001, BRG-7014, RM-TI64
    tail = code.split("-")[-1]  # 1001, 7014, TI64, 20K
    phrases = {sku.lower(), code.lower(), code.lower().replace("-", " ")}
    if not tail.isdigit():
        phrases.add(tail.lower())
    # "Titanium bar Ti-6Al-4V (AMS 4928), …" → "titanium bar", and its plural
    head: list[str] = []
    for word in name.split(",")[0].split():
        if any(ch.isdigit() for ch in word) or "(" in word:
            break
        head.append(word)
    if head:
        phrase = " ".join(_words(" ".join(head)))
        phrases |= {phrase, phrase + "s"}
    return Named("sku", sku, name, tuple(sorted(p for p in phrases if p)), detail=dict(row))


def _case_fits(entry: Named, raw: list[tuple[str, int, int]], text: str) -> bool:
    """Codes that are words too (GE, UPS) name something only when written in capitals."""
    joined = " ".join(t[0] for t in raw)
    if joined.lower() in _WORDS_IN_LOWER_CASE:
        return joined.isupper()
    return True


def bare_codes(names: PlantNames) -> dict[str, list[str]]:
    """Numeric product codes (6205, 7014) → SKUs: people name bearings by their number."""
    codes: dict[str, list[str]] = {}
    for entry in names.of_type("sku"):
        tail = entry.value.split("-")[-1]
        if tail.isdigit():
            codes.setdefault(tail, []).append(entry.value)
    return codes
