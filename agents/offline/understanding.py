"""Reading a turn of the conversation: which intents it asks for, with which values.

`Brain.read` splits a request into clauses, masks their entities, ranks the intents of each
clause with the matcher (weighed by which kinds of IDs the clause names), fills each intent's
slots, checks the values, and decides what to do with the turn: route it to the specialists,
ask for what is missing or wrong, ask which of two intents was meant, decline, or answer a
greeting. Earlier turns are read again (deterministically) so that "and Munich?", "what about
its spare parts?" and an answer to a question Titan asked work on the next turn.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from importlib import resources
from typing import Any, Literal

from agents.offline.catalogue import ID_TYPES, Catalogue, Intent, load_catalogue
from agents.offline.clauses import Clause, split, starters
from agents.offline.entities import Mention, find_mentions, mask
from agents.offline.matcher import IntentMatcher, Ranked
from agents.offline.names import PlantNames
from agents.offline.slots import PERIOD_DEFAULTS, Filled, Sources, fill, missing_question, problems

Act = Literal["route", "ask", "clarify", "decline", "greet", "thanks", "help", "approve", "reject"]

# Below this probability a clause is not understood; below `UNSURE`, with a second intent close
# behind, Titan asks which of the two was meant.
NOT_UNDERSTOOD = 0.12
UNSURE = 0.30
WRITE_UNSURE = 0.45
CLOSE = 0.6
# How much a clause naming a kind of ID an intent cannot take counts against that intent, and
# how much each kind it can take counts for it.
FOREIGN_ID = 0.35
FITTING_ID = 1.3
# A clause naming no ID ("cancel that shipment") leans towards the intents that take the IDs the
# last turn named.
RECENT_ID = 1.6
HISTORY_TURNS = 4
# A clause of a few words that names no ID and fits no intent at least this well is read with
# the clause before it.
SHORT_AND_UNSURE = 0.6
_FOLLOW_UP = re.compile(
    r"^\s*(?:and|what about|how about|same for|and for|and what about|"
    r"what of|now|ok and|also|same (?:for|on|numbers|thing|question|again)|"
    r"likewise)\b",
    re.I,
)
# Said to keep a request to reads: "look only", "nothing gets written", "don't change anything".
_LOOK_ONLY = re.compile(
    r"\b(?:look only|just look(?:ing)?|only look|read[- ]only|nothing (?:gets|is|should be|to be)"
    r" (?:written|changed|recorded|logged|saved)|without (?:recording|logging|writing|changing|"
    r"saving) (?:anything|it|them)|don'?t (?:record|log|write|save|change) anything|no changes)\b",
    re.I,
)
_ADDRESSED = re.compile(
    r"^\s*(?:please\s+|pls\s+|can you\s+|could you\s+)?(?:tell|let|inform|notify|e-?mail|"
    r"message|ping|alert|warn|remind|update|write to|send)\b",
    re.I,
)
_STATE_QUESTION = re.compile(
    r"^\s*(?:(?:was|is|has|have|were|are|had)\b|(?:did|does|do)\s+(?:we|you|they|i|it|our|any"
    r"|anyone|anybody|he|she|the)\b)",
    re.I,
)
_ASKING_TO_ACT = re.compile(
    r"(?:^\s*|[,;:.!?–—-]\s*|\b(?:so|and|but|then)\s+)(?:(?:can|could|would|will)\s+(?:you|u)|can\s+we)\b"
    r"|please|pls",
    re.I,
)
# A report of what is going on ("we're loading a rush lot onto PHX-CNC-007 this afternoon",
# "the technician got there early"): it asks nothing to be written.
_STATEMENT = re.compile(
    r"^\s*(?:(?:fyi|heads[- ]up|so|just so you know)[,:]?\s+)?(?:we|we're|we are|we've|we'll|"
    r"i'm|i am|i've|they|they're|they've|he|she|it's|it is|there's|there are|the\s+\w+(?:\s+\w+)?"
    r"\s+(?:is|are|was|were|has|have|had|got|went|came|did))\b",
    re.I,
)
_REQUESTING = re.compile(
    r"\b(?:need|needs|want|wants|would like|'d like|have to|has to|must|should|please|pls|"
    r"let's|go ahead|can you|could you|will you|would you)\b",
    re.I,
)
_ORDERING = re.compile(
    r"(?:^|[,;:]\s*|\s[–—-]\s*|\b(?:and|so|then)\s+)(?:cancel|scrap|book|create|open|raise|order|"
    r"schedule|start|close|complete|send|tell|notify|e-?mail|move|reschedule|release|hold|put|"
    r"set|change|drop|lower|add|remove|ship|expedite|approve|reject|update|mark|log|record|"
    r"assign|write|draft|reply|answer|plan|re-?plan|pause|resume|take|adjust|receive|deal|"
    r"handle|fix|sort|look|check|find|investigate|diagnose|get|make|do|see|chase|follow|arrange|"
    r"show|list|give)\b",
    re.I,
)


_SEGMENT = re.compile(r"(?:^|[,;:]\s*|\s[–—-]\s*|\b(?:and|so|then)\s+)([a-z']+)", re.I)
_NOT_ASKING = {
    "is",
    "are",
    "was",
    "were",
    "has",
    "have",
    "had",
    "do",
    "does",
    "did",
    "it",
    "its",
    "the",
    "a",
    "an",
    "we",
    "i",
    "they",
    "there",
    "that",
    "this",
    "our",
    "my",
}


def _is_statement(clause: str, starting: frozenset[str]) -> bool:
    """A clause that reports what is going on ("we're loading a rush lot onto PHX-CNC-007") and
    asks for nothing: no part of it starts the way requests start."""
    text = clause.strip()
    if not _STATEMENT.search(text) or "?" in text or _REQUESTING.search(text):
        return False
    if _ORDERING.search(text):
        return False
    segments = [m.group(1).lower() for m in _SEGMENT.finditer(text)][1:]
    return not any(w in starting and w not in _NOT_ASKING for w in segments)


_ORDINAL = {
    "first": 0,
    "1st": 0,
    "second": 1,
    "2nd": 1,
    "third": 2,
    "3rd": 2,
    "fourth": 3,
    "4th": 3,
    "last": -1,
    "latter": -1,
    "former": 0,
    "top": 0,
}
ID_TYPES_SET = frozenset(ID_TYPES)
_REFERRING = re.compile(
    r"\b(?:the|that|this)\s+(\w+\s+)?(?:one|order|shipment|po|line|machine|job|work order)\b", re.I
)


_ROW_NAMES = ("customer", "supplier", "facility", "machine", "sku", "carrier")


def _referred(
    clause: str,
    inside: list[Mention],
    rows: list[tuple[str, list[Mention]]],
    brain: Brain,
    now: datetime,
    *,
    answering: bool = False,
) -> Any:
    """The ID of the answer row the clause points at, when exactly one fits (`answering`: the
    clause answers "which one?", so it need not say "the … one")."""
    if not rows or not (answering or _REFERRING.search(clause)):
        return None
    ids = list(dict.fromkeys(m.value for _, found in rows for m in found))
    for word, index in _ORDINAL.items():
        if re.search(rf"\b{word}\b", clause, re.I) and -len(ids) <= index < len(ids):
            return ids[index]
    periods = [m.value for m in inside if m.type == "period"]
    if periods:
        start, end = periods[0]
        fits = [
            found[0].value
            for line, found in rows
            if any(
                start <= w[0] < end
                for w in (m.value for m in brain.mentions(line, now) if m.type == "period")
            )
        ]
        if len(fits) == 1:
            return fits[0]
    # "validate the Boeing one", "book the GE one": the row of the customer (supplier, site,
    # machine, product) the clause names
    named = {str(m.value) for m in inside if m.type in _ROW_NAMES}
    if named:
        fits = [
            found[0].value
            for line, found in rows
            if named & {str(m.value) for m in brain.mentions(line, now) if m.type in _ROW_NAMES}
        ]
        if len(set(fits)) == 1:
            return fits[0]
    states = [m.text.lower() for m in inside if m.type.endswith("status")]
    if states:
        fits = [found[0].value for line, found in rows if any(w in line.lower() for w in states)]
        if len(set(fits)) == 1:
            return fits[0]
    return None


def _or(values: list[Any]) -> str:
    shown = [str(v) for v in values[:6]]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]


def _is_question(clause: str) -> bool:
    """A question about how things are, not a polite request to act ("can you cancel …")."""
    text = clause.strip()
    last = re.split(r"(?<=[.!?])\s+", text)[-1]
    if _ASKING_TO_ACT.search(text) or _ASKING_TO_ACT.search(last):
        return False
    return (
        last.endswith("?")
        or bool(_STATE_QUESTION.search(last))
        or bool(re.match(r"\s*(?:what|which|where|when|who|why|how)\b", last, re.I))
    )


_PICK = {"first": 0, "1": 0, "former": 0, "second": 1, "2": 1, "two": 1, "latter": 1}


@dataclass
class Frame:
    """One intent of a turn, with its slots as filled."""

    intent: Intent
    clause: str
    slots: dict[str, Any]
    missing: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    from_team: list[str] = field(default_factory=list)
    confidence: float = 1.0
    referred: bool = False  # a slot was taken from what the last answer showed

    @property
    def complete(self) -> bool:
        return not self.missing and not self.problems


@dataclass
class Reading:
    """What a turn asks for, and what to do with it."""

    act: Act
    frames: list[Frame] = field(default_factory=list)
    reply: str = ""
    candidates: list[str] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)
    understood: bool = False

    @property
    def agents(self) -> list[str]:
        return list(dict.fromkeys(f.intent.agent for f in self.frames if f.intent.agent))


@dataclass(frozen=True)
class Turn:
    """An earlier turn: what was asked and what Titan answered."""

    request: str
    answer: str


def example_names() -> PlantNames:
    """The demo plant's names, as the catalogue's examples use them."""
    return _example_names()


def _example_names() -> PlantNames:
    text = (
        resources.files("agents.offline")
        .joinpath("intents/example_names.json")
        .read_text(encoding="utf-8")
    )
    return PlantNames.from_directory(json.loads(text))


_TRAINED: dict[int, tuple[Catalogue, IntentMatcher, frozenset[str]]] = {}


def trained(catalogue: Catalogue) -> tuple[IntentMatcher, frozenset[str]]:
    """The matcher for `catalogue`, trained once per process."""
    known = _TRAINED.get(id(catalogue))
    if known is None or known[0] is not catalogue:
        matcher, starting = _train(catalogue)
        _TRAINED[id(catalogue)] = (catalogue, matcher, starting)
        return matcher, starting
    return known[1], known[2]


def _train(catalogue: Catalogue) -> tuple[IntentMatcher, frozenset[str]]:
    """The matcher trained on the catalogue's examples (masked with the demo plant's names, so
    every plant learns the same shapes), and the words requests start with."""
    names = _example_names()
    now = datetime(2026, 3, 2, 6)
    texts: list[str] = []
    labels: list[str] = []
    for intent in catalogue.intents.values():
        for example in intent.examples:
            found = find_mentions(
                example, names=names, vocabularies=catalogue.vocabularies, now=now
            )
            texts.append(mask(example, found))
            labels.append(intent.id)
    return IntentMatcher(texts, labels), starters(texts)


def plain(value: Any) -> Any:
    """A slot value as JSON: times in ISO 8601, periods as start and end, numbers as numbers."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, datetime) for v in value):
        return {"start": value[0].isoformat(), "end": value[1].isoformat()}
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if v is not None}
    return value


class Brain:
    """The offline model's understanding: the catalogue, its matcher and the plant's names."""

    def __init__(self, names: PlantNames | None = None, catalogue: Catalogue | None = None):
        self.catalogue = catalogue or load_catalogue()
        self.names = names or PlantNames()
        self.matcher, self.starting = trained(self.catalogue)
        self._answers: list[str] = []
        self._listed_kind: str | None = None  # what the last answer's table lists

    # ───────────────────────── one clause ─────────────────────────

    def mentions(self, text: str, now: datetime) -> list[Mention]:
        return find_mentions(
            text, names=self.names, vocabularies=self.catalogue.vocabularies, now=now
        )

    def rank(
        self,
        masked: str,
        ids: set[str],
        *,
        recent: set[str] | None = None,
        words: set[str] | None = None,
    ) -> Ranked:
        """The intents for a masked clause, weighed by the kinds of IDs it names (or, naming
        none, those the conversation just named), and without the intents whose cue words it
        does not use."""
        ranked = self.matcher.rank(masked)
        lowered = masked.lower()
        words = words or set()
        weighted: list[tuple[str, float]] = []
        for intent_id, p in zip(ranked.intents, ranked.probabilities, strict=True):
            intent = self.catalogue.intents[intent_id]
            if intent.cues and not any(
                re.search(rf"\b{re.escape(c)}", lowered) for c in intent.cues
            ):
                weighted.append((intent_id, 0.0))
                continue
            takes = {s.type for s in intent.slots.values()} & _ID_LIKE
            foreign = len(ids - takes) if intent.kind != "conversation" else len(ids)
            fitting = len(ids & takes)
            weight = FOREIGN_ID**foreign * FITTING_ID**fitting
            if recent and intent.kind != "conversation":
                weight *= RECENT_ID ** len((recent - ids) & takes)
            needed = {s.type for s in intent.slots.values() if s.required and s.type in words}
            weight *= FITTING_ID ** len(needed)
            weighted.append((intent_id, p * weight))
        total = sum(w for _, w in weighted) or 1.0
        weighted.sort(key=lambda x: -x[1])
        return Ranked(tuple(i for i, _ in weighted), tuple(w / total for _, w in weighted))

    def _choose(
        self,
        clause: str,
        ranked: Ranked,
        inside: list[Mention] | None = None,
        *,
        reads_only: bool = False,
    ) -> tuple[Intent, float]:
        """The intent for a clause. A question never writes: asked as a question, the best
        intent that only reads is taken (its own agent's first). A clause that starts by
        addressing someone ("tell purchasing that PO-5002 is late") is a message to them."""
        best = self.catalogue.intents[ranked.best]
        addressed = (
            inside is not None
            and _ADDRESSED.search(clause)
            and any(m.type in ("staff", "customer") for m in inside)
        )
        if addressed and best.agent != "communications":
            for intent_id, p in ranked.top(8):
                other = self.catalogue.intents[intent_id]
                if other.agent == "communications" and other.writes:
                    return other, max(p, UNSURE)
        asked = _is_question(clause)
        if best.writes and (asked or reads_only or _is_statement(clause, self.starting)):
            reads = [
                (self.catalogue.intents[i], p)
                for i, p in ranked.top(len(ranked.intents))
                if self.catalogue.intents[i].kind == "read"
            ]
            own = [
                (i, p) for i, p in reads if i.agent == best.agent and p >= 0.1 * ranked.confidence
            ]
            chosen = own[0] if own else reads[0] if reads else None
            if chosen is not None:
                return chosen[0], max(chosen[1], UNSURE)
        return best, ranked.confidence

    # ───────────────────────── a whole turn ─────────────────────────

    def read(self, text: str, history: Sequence[Turn] = (), *, now: datetime) -> Reading:
        """What `text` asks for, after the earlier turns `history` (oldest first)."""
        history = list(history)[-HISTORY_TURNS:]
        mentions = self.mentions(text, now)
        context = self._context(history, now)
        previous = self.read(history[-1].request, history[:-1], now=now) if history else None
        self._answers = [t.answer for t in reversed(history)]
        self._listed_kind = self._listed(history, now)
        follow = self._follow_up(text, mentions, previous, context, now)
        if follow is not None:
            return follow
        recent = {m.type for m in context[:6] if m.type in ID_TYPES}
        clauses = self._clauses(text, mentions, recent)
        look_only = bool(_LOOK_ONLY.search(text))
        frames: list[Frame] = []
        conversation: list[tuple[Intent, float]] = []
        unsure: tuple[Clause, str, str] | None = None
        for clause, ranked in clauses:
            inside = _inside(mentions, clause)
            if look_only and _LOOK_ONLY.search(clause.text) and len(clauses) > 1:
                continue  # "look only — nothing gets written": a condition, not an ask
            intent, p = self._choose(clause.text, ranked, inside, reads_only=look_only)
            if intent.kind == "conversation":
                conversation.append((intent, p))
                continue
            # What waits for a decision is decided before a request gets here: "yes" and "no"
            # are not what a request to act could mean instead.
            rivals = [
                (i, q)
                for i, q in ranked.top(5)
                if i != intent.id and i not in ("conversation.approve", "conversation.reject")
            ]
            if _is_question(clause.text) or look_only:
                rivals = [(i, q) for i, q in rivals if not self.catalogue.intents[i].writes]
            second = rivals[0] if rivals else (intent.id, 0.0)
            if p < NOT_UNDERSTOOD:
                continue
            frame = self._frame(intent, clause, inside, mentions, context, text, p, now)
            close = second[1] >= CLOSE * p and second[0] != intent.id
            # A change the request fits only loosely is asked about, not made.
            loose_write = intent.writes and p < WRITE_UNSURE and second[0] != intent.id
            if p < UNSURE and (close or loose_write) and unsure is None and not frame.referred:
                unsure = (clause, intent.id, second[0])
            best = self.catalogue.intents[ranked.best]
            if (
                best.writes
                and not intent.writes
                and unsure is None
                and _is_statement(clause.text, self.starting)
            ):
                # "We're loading a rush lot onto PHX-CNC-007": told, not asked; which of the two?
                unsure = (clause, best.id, intent.id)
            frames.append(frame)
        if not frames:
            return self._conversation(conversation, mentions, text)
        if unsure is not None and len(frames) == 1:
            options = [unsure[1], unsure[2]]
            return Reading("clarify", frames, self._clarify(options), options, mentions)
        return self._decide(self._expand(frames, mentions, context, text, now), mentions)

    def _ranked(self, clause: Clause, mentions: list[Mention], recent: set[str]) -> Ranked:
        inside = _inside(mentions, clause)
        # Whom a message goes to counts like an ID: "tell purchasing that PO-5002 is late" is
        # a message, not a delay to record.
        ids = {m.type for m in inside if m.type in _ID_LIKE and not m.derived}
        listed = self._listed_kind
        if listed and not ids & ID_TYPES_SET and _REFERRING.search(clause.text):
            ids = ids | {listed}  # "cancel the one due in April" points into a table of orders
        said = {m.type for m in inside if m.type in self.catalogue.vocabularies}
        masked = mask(clause.text, [_shift(m, clause.begin) for m in inside])
        whole = self.rank(masked, ids, recent=recent, words=said)
        # A clause that carries stated facts before its ask ("Boeing's buyer emailed: the
        # order is off. Cancel it please.") is matched on the ask too, with all its IDs.
        sentences = list(re.finditer(r"[^.!?]+[.!?]*", clause.text))
        if len(sentences) < 2:
            return whole
        last = sentences[-1]
        begin = clause.begin + last.start()
        ask = Clause(begin, clause.begin + last.end(), last.group(0))
        within = [_shift(m, begin) for m in _inside(mentions, ask)]
        alone = self.rank(mask(ask.text, within), ids, recent=recent, words=said)
        return alone if alone.confidence > whole.confidence else whole

    def _clauses(
        self, text: str, mentions: list[Mention], recent: set[str]
    ) -> list[tuple[Clause, Ranked]]:
        """The clauses of `text`, each ranked; a short clause that names nothing and fits no
        intent well ("and what's on it?", "new ETA Friday") belongs to the one before it."""
        out: list[tuple[Clause, Ranked]] = []
        for clause in split(text, self.starting):
            ranked = self._ranked(clause, mentions, recent)
            if out:
                named = any(m.type in ID_TYPES for m in _inside(mentions, clause))
                short = len(re.findall(r"[a-z']+", clause.text.lower())) <= 5
                if not named and short and ranked.confidence < SHORT_AND_UNSURE:
                    previous = out[-1][0]
                    joined = Clause(previous.begin, clause.end, text[previous.begin : clause.end])
                    out[-1] = (joined, self._ranked(joined, mentions, recent))
                    continue
            out.append((clause, ranked))
        return out

    def _frame(
        self,
        intent: Intent,
        clause: Clause,
        inside: list[Mention],
        mentions: list[Mention],
        context: list[Mention],
        text: str,
        confidence: float,
        now: datetime,
        *,
        team_expected: bool = False,
    ) -> Frame:
        sources = Sources(
            clause=inside,
            request=[m for m in mentions if m not in inside],
            context=context,
            clause_text=clause.text,
            request_text=text,
            team_expected=team_expected,
        )
        filled = fill(intent, sources)
        _defaults(intent, filled, now)
        referred = self._refer(intent, filled, clause.text, inside, now)
        missing = filled.missing + _unmet(intent, filled.values)
        frame = Frame(
            intent, clause.text, filled.values, missing, [], filled.from_team, confidence, referred
        )
        frame.problems = filled.problems + problems(intent, filled, mentions, self.names, now)
        return frame

    def _refer(
        self, intent: Intent, filled: Filled, clause: str, inside: list[Mention], now: datetime
    ) -> bool:
        """IDs the clause points at in Titan's last answer instead of naming them: "the second
        one", "the one due in April", "the delayed one" (in place of the last one named)."""
        answers: list[str] = getattr(self, "_answers", [])
        if not answers:
            return False
        referred = False
        for name, slot in intent.slots.items():
            if slot.type not in ID_TYPES:
                continue
            if filled.values.get(name) is not None and filled.came_from.get(name) != "context":
                continue
            rows = self._rows(answers, slot.type, now)
            chosen = _referred(clause, inside, rows, self, now)
            if chosen is not None:
                filled.values[name] = [chosen] if slot.many else chosen
                referred = True
                if name in filled.missing:
                    filled.missing.remove(name)
                continue
            listed = list(dict.fromkeys(m.value for _, found in rows for m in found))
            if intent.writes and filled.came_from.get(name) == "context" and len(listed) > 1:
                # "cancel it" after a list of orders: which one is not guessed for a write
                filled.values[name] = None
                filled.missing.append(name)
                filled.problems.append(f"Which one do you mean: {_or(listed)}?")
        return referred

    def _listed(self, history: Sequence[Turn], now: datetime) -> str | None:
        """The kind of ID the rows of the last answer's table lead with (its first column)."""
        if not history:
            return None
        kinds: list[str] = []
        for line in history[-1].answer.splitlines():
            cells = (
                [c.strip() for c in line.strip().strip("|").split("|")]
                if line.lstrip().startswith("|")
                else []
            )
            if not cells:
                continue
            lead = [m.type for m in self.mentions(cells[0], now) if m.type in ID_TYPES]
            kinds.extend(lead[:1])
        return max(set(kinds), key=kinds.count) if len(kinds) > 1 else None

    def _rows(
        self, answers: list[str], kind: str, now: datetime
    ) -> list[tuple[str, list[Mention]]]:
        """The lines of the latest answer that lists IDs of `kind`, each with its IDs."""
        first: list[tuple[str, list[Mention]]] = []
        for answer in answers:
            rows = [
                (line, [m for m in self.mentions(line, now) if m.type == kind])
                for line in answer.splitlines()
            ]
            found = [(line, ids) for line, ids in rows if ids]
            if len(found) > 1:  # a list, one row a line: what "the second one" points into
                return found
            first = first or found
        return first

    def _tidy(self, frames: list[Frame]) -> list[Frame]:
        """One frame per intent (the values of a repeat fill what the first lacks); an intent
        that covers another ("handle the incident" covers "diagnose it") replaces it."""
        out: list[Frame] = []
        for frame in frames:
            same = next((f for f in out if f.intent.id == frame.intent.id), None)
            if same is None:
                out.append(frame)
                continue
            for key, value in frame.slots.items():
                if same.slots.get(key) is None and value is not None:
                    same.slots[key] = value
            same.missing = [m for m in same.missing if same.slots.get(m) is None]
        covered = {c for f in out for c in f.intent.covers}
        kept = [f for f in out if f.intent.id not in covered] or out
        return kept

    def _expand(
        self,
        frames: list[Frame],
        mentions: list[Mention],
        context: list[Mention],
        text: str,
        now: datetime,
    ) -> list[Frame]:
        """The follow-up intents of the frames (an incident's parts check and message), in the
        order work flows from the floor to the customer."""
        out: list[Frame] = []
        for frame in frames:
            out.append(frame)
            for follow in frame.intent.then:
                intent = self.catalogue.get(follow.intent)
                # A follow-up takes the request's values, not its words (its message, if it
                # has one, is written from what the team finds).
                made = self._frame(
                    intent,
                    Clause(0, 0, ""),
                    [],
                    mentions,
                    context,
                    "",
                    frame.confidence,
                    now,
                    team_expected=True,
                )
                made.clause = frame.clause
                for key, value in frame.slots.items():
                    if key in intent.slots and made.slots.get(key) is None:
                        made.slots[key] = value
                        if key in made.missing:
                            made.missing.remove(key)
                made.slots.update(follow.slots)
                made.missing = [m for m in made.missing if made.slots.get(m) is None]
                out.append(made)
        order = {agent: i for i, agent in enumerate(PIPELINE)}
        return sorted(out, key=lambda f: order.get(f.intent.agent or "", len(order)))

    def _decide(self, frames: list[Frame], mentions: list[Mention]) -> Reading:
        frames = self._tidy(frames)
        order = {agent: i for i, agent in enumerate(PIPELINE)}
        for frame in frames:
            # A value an earlier specialist of the route will find is not asked for.
            earlier = any(
                order.get(f.intent.agent or "", 99) <= order.get(frame.intent.agent or "", 99)
                for f in frames[: frames.index(frame)]
            ) or any(
                order.get(f.intent.agent or "", 99) < order.get(frame.intent.agent or "", 99)
                for f in frames
            )
            for name in list(frame.missing):
                if name == NEEDS:
                    continue
                if earlier and "team" in frame.intent.slots[name].sources:
                    frame.missing.remove(name)
                    frame.from_team.append(name)
        # A value that cannot be right is asked about first, then what is missing.
        for frame in frames:
            if frame.problems:
                return Reading("ask", frames, " ".join(frame.problems[:2]), [], mentions)
        for frame in frames:
            if frame.missing:
                return Reading("ask", frames, self._question(frame), [], mentions)
        return Reading("route", frames, "", [], mentions)

    def _question(self, frame: Frame) -> str:
        if frame.missing[0] == NEEDS:
            return frame.intent.needs_ask or "Which one do you mean?"
        return missing_question(self.catalogue, frame.intent, frame.missing)

    def _clarify(self, options: list[str]) -> str:
        a, b = (self.catalogue.intents[o].summary for o in options[:2])
        return f"Do you mean {_first(a)}, or {_first(b)}?"

    def _conversation(
        self, found: list[tuple[Intent, float]], mentions: list[Mention], text: str
    ) -> Reading:
        if not found:
            return Reading("decline", [], "", [], mentions)
        intent, p = max(found, key=lambda x: x[1])
        act: dict[str, Act] = {
            "conversation.greeting": "greet",
            "conversation.thanks": "thanks",
            "conversation.help": "help",
            "conversation.approve": "approve",
            "conversation.reject": "reject",
        }
        if p < NOT_UNDERSTOOD and intent.id != "conversation.out_of_scope":
            return Reading("decline", [], "", [], mentions)
        out_of_scope = intent.id == "conversation.out_of_scope"
        return Reading(act.get(intent.id, "decline"), [], "", [], mentions, understood=out_of_scope)

    # ───────────────────────── the conversation so far ─────────────────────────

    def _context(self, history: Sequence[Turn], now: datetime) -> list[Mention]:
        """What earlier turns named, newest first (an answer before its request)."""
        found: list[Mention] = []
        for turn in reversed(history):
            for text in (turn.answer, turn.request):
                found.extend(m for m in self.mentions(text, now) if m.type in _CONTEXT_TYPES)
        return found

    def _follow_up(
        self,
        text: str,
        mentions: list[Mention],
        previous: Reading | None,
        context: list[Mention],
        now: datetime,
    ) -> Reading | None:
        """A turn that only makes sense with the one before: the answer to Titan's question,
        the choice between two intents, or "and Munich?"."""
        if previous is None or not previous.frames:
            return None
        words = re.findall(r"[a-z]+", mask(text, mentions).lower())
        if previous.act == "clarify":
            picked = self._pick(text, words, previous)
            if picked is not None:
                frame = previous.frames[0]
                clause = Clause(0, len(frame.clause), frame.clause)
                made = self._frame(
                    picked,
                    clause,
                    self.mentions(frame.clause, now),
                    mentions,
                    context,
                    frame.clause,
                    1.0,
                    now,
                )
                return self._decide(self._expand([made], mentions, context, text, now), mentions)
        if previous.act == "ask":
            answered = self._answer_to_question(text, mentions, previous, context, now)
            if answered is not None:
                return answered
        elliptic = _FOLLOW_UP.search(text) and len(words) <= 8
        short = len([w for w in words if w not in ("and", "what", "about", "for", "the")]) <= 2
        if (elliptic or (short and mentions)) and previous.act == "route":
            again = [self._again(f, mentions, now) for f in previous.frames]
            frames = [f for f in again if f is not None]
            if frames:
                return self._decide(frames, mentions)
        return None

    def _again(self, frame: Frame, mentions: list[Mention], now: datetime) -> Frame | None:
        """The previous frame with the values this turn names put in place of those of the same
        kind ("and Munich?" after a question about Phoenix)."""
        slots = dict(frame.slots)
        changed = False
        mentions = mentions + self._same_kind_there(frame, mentions)
        for name, slot in frame.intent.slots.items():
            fits = [m for m in mentions if m.type == slot.type]
            if fits:
                slots[name] = [m.value for m in fits] if slot.many else fits[0].value
                changed = True
        if not changed:
            return None
        named = {m.type for m in mentions}
        owners = {"customer": "order", "supplier": "purchase_order"}
        for owner, owned in owners.items():
            if owner in named and owned not in named and frame.slots.get(owner) != slots.get(owner):
                # "and the Boeing one due in April?" after Airbus's ORD-10017: not that order
                for name, slot in frame.intent.slots.items():
                    if slot.type == owned:
                        slots[name] = None
        again = Frame(frame.intent, frame.clause, slots, [], [], [], frame.confidence)
        filled = Filled(values=slots)
        again.problems = problems(frame.intent, filled, mentions, self.names, now)
        again.missing = [
            n for n, s in frame.intent.slots.items() if s.required and slots.get(n) is None
        ] + _unmet(frame.intent, slots)
        return again

    def _same_kind_there(self, frame: Frame, mentions: list[Mention]) -> list[Mention]:
        """ "and the Munich one?" after a question about PHX-HT-001: the machine of the same
        kind at the site now named (when the plant has one)."""
        sites = [m for m in mentions if m.type == "facility"]
        if not sites or any(m.type == "machine" for m in mentions):
            return []
        before = next(
            (
                v[0] if isinstance(v, list) and v else v
                for n, v in frame.slots.items()
                if frame.intent.slots[n].type == "machine" and v
            ),
            None,
        )
        entry = self.names.get("machine", before) if before else None
        if entry is None:
            return []
        kind = entry.detail.get("wc_type")
        there = [
            e.value
            for e in self.names.of_type("machine")
            if e.facility == sites[0].value and e.detail.get("wc_type") == kind
        ]
        if len(there) != 1:
            return []
        m = sites[0]
        return [Mention("machine", there[0], m.begin, m.end, m.text, False, True)]

    def _answer_to_question(  # noqa: C901 - copies the frames, then fills them in turn
        self,
        text: str,
        mentions: list[Mention],
        previous: Reading,
        context: list[Mention],
        now: datetime,
    ) -> Reading | None:
        if _is_question(text):
            ids = {m.type for m in mentions if m.type in ID_TYPES}
            own = self.rank(mask(text, mentions), ids)
            if own.confidence >= UNSURE and self.catalogue.intents[own.best].kind == "read":
                return None  # a question of its own, not the answer to Titan's
        frames = [
            Frame(
                f.intent,
                f.clause,
                dict(f.slots),
                list(f.missing),
                list(f.problems),
                list(f.from_team),
                f.confidence,
            )
            for f in previous.frames
        ]
        answered = False
        for frame in frames:
            empty = [
                n
                for n, s in frame.intent.slots.items()
                if frame.slots.get(n) is None and s.type != "text" and n not in frame.missing
            ]
            wanted = [n for n in frame.missing if n != NEEDS] + _bad_slots(frame) + empty
            if NEEDS in frame.missing:
                wanted += [n for group in frame.intent.needs for n in group]
            for name in dict.fromkeys(wanted):
                slot = frame.intent.slots[name]
                fits = [m for m in mentions if _fits(slot.type, m)]
                if fits:
                    value = fits[0].value
                    if slot.type == "datetime" and fits[0].type == "period":
                        value = value[0]
                    frame.slots[name] = [m.value for m in fits] if slot.many else value
                    answered = answered or name not in empty or _needed(frame.intent, name)
        for frame in frames:
            for name, slot in frame.intent.slots.items():
                if slot.type in ID_TYPES and frame.slots.get(name) is None:
                    chosen = _referred(
                        text,
                        mentions,
                        self._rows(self._answers, slot.type, now),
                        self,
                        now,
                        answering=True,
                    )
                    if chosen is not None:
                        frame.slots[name] = [chosen] if slot.many else chosen
                        frame.problems = [
                            q for q in frame.problems if not q.startswith("Which one")
                        ]
                        answered = True
        if not answered:
            own = self.rank(mask(text, mentions), {m.type for m in mentions if m.type in ID_TYPES})
            if (
                own.confidence >= UNSURE
                and not self.catalogue.intents[own.best].kind == "conversation"
            ):
                return None  # a new request, not an answer
            return None
        for frame in frames:
            filled = Filled(values=frame.slots)
            frame.problems = problems(frame.intent, filled, mentions, self.names, now)
            frame.missing = [
                n
                for n, s in frame.intent.slots.items()
                if s.required and frame.slots.get(n) is None and n not in frame.from_team
            ] + _unmet(frame.intent, frame.slots)
        return self._decide(frames, mentions)

    def _pick(self, text: str, words: list[str], previous: Reading) -> Intent | None:
        if len(words) > 6:
            return None  # a request of its own, not "the first" or "the stock one"
        for word in words:
            if word in _PICK and _PICK[word] < len(previous.candidates):
                return self.catalogue.intents[previous.candidates[_PICK[word]]]
        ranked = self.matcher.rank(mask(text, []))
        options = [(i, ranked.probability(i)) for i in previous.candidates]
        best = max(options, key=lambda x: x[1])
        if best[1] > 0.02 and best[1] >= 2 * min(p for _, p in options):
            return self.catalogue.intents[best[0]]
        return None


_ID_LIKE = {*ID_TYPES, "staff"}
PIPELINE = ("maintenance", "inventory", "logistics", "scheduler", "governance", "communications")
_CONTEXT_TYPES = {*ID_TYPES, "fault", "sensor"}


NEEDS = "@needs"


def _unmet(intent: Intent, values: dict[str, Any]) -> list[str]:
    """NEEDS when a group of slots of which one is needed ("the work order, or its machine")
    has none filled."""
    for group in intent.needs:
        if all(values.get(name) is None for name in group):
            return [NEEDS]
    return []


def _needed(intent: Intent, name: str) -> bool:
    return any(name in group for group in intent.needs)


def _inside(mentions: list[Mention], clause: Clause) -> list[Mention]:
    return [m for m in mentions if m.begin >= clause.begin and m.end <= clause.end]


def _shift(m: Mention, by: int) -> Mention:
    return Mention(m.type, m.value, m.begin - by, m.end - by, m.text, m.exact)


def _fits(kind: str, m: Mention) -> bool:
    if kind == "quantity":
        return m.type == "number"
    if kind == "number":
        return m.type in ("number", "weight")
    if kind == "datetime":
        return m.type in ("datetime", "period")
    return m.type == kind


def _bad_slots(frame: Frame) -> list[str]:
    """Slots whose value was refused (so an answer replaces it)."""
    return [
        n
        for n, v in frame.slots.items()
        if v is not None and any(str(plain(v)) in p for p in frame.problems)
    ]


def _defaults(intent: Intent, filled: Filled, now: datetime) -> None:
    """Named defaults of periods ('last_7_days') as the period they name."""
    for name, slot in intent.slots.items():
        value = filled.values.get(name)
        if isinstance(value, str) and value in PERIOD_DEFAULTS and slot.type == "period":
            filled.values[name] = (now - PERIOD_DEFAULTS[value], now)


def _first(summary: str) -> str:
    return re.split(r"[:(]", summary)[0].strip()


def week_of(now: datetime) -> tuple[datetime, datetime]:
    return now - timedelta(days=7), now
