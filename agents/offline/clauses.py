"""A request with several asks, split into its clauses.

"Where is Boeing's order and can we still make the date?" is two clauses; "PHX-CNC-007 is acting
up. Work out what's wrong, check we have the parts, and tell the plant manager." is three, the
first sentence being context for the first of them. A split point is a sentence end, or a
comma or "and"/"then"/"also" followed by a word that starts requests in the catalogue's
examples ("can", "check", "tell" …): the words that start requests are learnt from the
examples, not listed here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_SENTENCE = re.compile(r"(?<=[.!?;])\s+(?=\S)|\n+")
_JOINER = re.compile(r"(?:,\s*|\s+)(?:and\s+then|and\s+also|and|then|also|plus|&)\s+|,\s+", re.I)
# Words that never start a request on their own, however often examples begin with them.
_NOT_STARTERS = {"the", "a", "an", "i", "we", "our", "my", "it", "its", "this", "that", "there"}
_QUESTION_WORDS = {
    "what",
    "which",
    "where",
    "when",
    "who",
    "why",
    "how",
    "is",
    "are",
    "was",
    "were",
    "do",
    "does",
    "did",
    "has",
    "have",
    "can",
    "could",
    "will",
    "would",
    "should",
    "any",
}
_POLITE = re.compile(r"^(?:please|pls|ok|okay|so|also|and|then|now)[,\s]+", re.I)


@dataclass(frozen=True)
class Clause:
    """A part of a request: where it is, and the context sentences it carries."""

    begin: int
    end: int
    text: str


def starters(examples: Iterable[str]) -> frozenset[str]:
    """The words requests start with, from the examples."""
    found: set[str] = set(_QUESTION_WORDS)
    for example in examples:
        words = re.findall(r"[a-z']+", _POLITE.sub("", example.lower()))
        if words and words[0] not in _NOT_STARTERS and len(words[0]) > 1:
            found.add(words[0])
    return frozenset(found)


def _first_word(text: str) -> str:
    words = re.findall(r"[a-z']+|\S", _POLITE.sub("", text.lower()))
    return words[0] if words else ""


def _declarative(text: str, starting: frozenset[str]) -> bool:
    """A sentence that states a fact ("Rivian has withdrawn ORD-10021."), not an ask."""
    stripped = text.strip()
    return not stripped.endswith("?") and _first_word(stripped) not in starting


_SUBORDINATE = {"if", "when", "once", "after", "before", "unless", "while", "as", "since"}
_AUXILIARIES = {
    "is",
    "are",
    "was",
    "were",
    "do",
    "does",
    "did",
    "has",
    "have",
    "can",
    "could",
    "will",
    "would",
    "should",
}


def _pieces(sentence: str, offset: int, starting: frozenset[str]) -> list[Clause]:
    cuts = [0]
    for m in _JOINER.finditer(sentence):
        after = sentence[m.end() :]
        words = re.findall(r"[a-z']+", after.lower())
        if not words or words[0] not in starting or words[0] in _NOT_STARTERS:
            continue
        # "… and is packed" goes on with the same clause; "… and can we make the date?" asks.
        if words[0] in _AUXILIARIES and not sentence.rstrip().endswith("?"):
            continue
        before = sentence[cuts[-1] : m.start()]
        if len(re.findall(r"\w+", before)) < 2 or len(words) < 2:
            continue
        # "If we keep it running, is it going to make it?" is one ask, its condition first.
        if _first_word(before) in _SUBORDINATE:
            continue
        # "Could the grinder's check, WO-3005, go into Wednesday?": the question's own verb.
        lead_words = re.findall(r"[a-z']+", _POLITE.sub("", before.lower()))
        if (
            lead_words[:1]
            and lead_words[0] in _AUXILIARIES
            and cuts[-1] == 0
            and (
                len(lead_words) > 1
                and lead_words[1] not in {"you", "we", "u", "i", "they", "someone"}
            )
        ):
            continue
        cuts.append(m.end())
    cuts.append(len(sentence))
    out: list[Clause] = []
    carried: int | None = None  # where a stated fact began, joining the piece after it
    for i, (a, b) in enumerate(zip(cuts, cuts[1:], strict=False)):
        piece = sentence[a:b]
        piece = re.sub(
            r"(?:,\s*|\s+)(?:and|then|also|plus)\s*$", "", piece.rstrip(" ,"), flags=re.I
        )
        if not piece.strip():
            continue
        lead = len(piece) - len(piece.lstrip())
        begin = offset + a + lead
        if i < len(cuts) - 2 and _declarative(piece, starting):
            carried = begin if carried is None else carried
            continue
        start = carried if carried is not None else begin
        carried = None
        end = offset + a + lead + len(piece.strip())
        out.append(Clause(start, end, ""))
    return out


def split(text: str, starting: frozenset[str]) -> list[Clause]:
    """The clauses of `text`, in order; a stated fact joins the clause that follows it."""
    sentences: list[Clause] = []
    at = 0
    for m in _SENTENCE.finditer(text):
        if text[at : m.start()].strip():
            sentences.append(Clause(at, m.start(), text[at : m.start()]))
        at = m.end()
    if text[at:].strip():
        sentences.append(Clause(at, len(text), text[at:]))
    clauses: list[Clause] = []
    carried: Clause | None = None
    for i, sentence in enumerate(sentences):
        if (i < len(sentences) - 1 or clauses) and _declarative(sentence.text, starting):
            carried = (
                sentence
                if carried is None
                else Clause(carried.begin, sentence.end, text[carried.begin : sentence.end])
            )
            continue
        pieces = [
            Clause(c.begin, c.end, text[c.begin : c.end])
            for c in _pieces(sentence.text, sentence.begin, starting)
        ]
        if carried is not None and pieces:
            first = pieces[0]
            pieces[0] = Clause(carried.begin, first.end, text[carried.begin : first.end])
            carried = None
        clauses.extend(pieces)
    if carried is not None:
        if clauses:
            # A fact stated last ("… It sounds awful.", "The oil was changed last week.")
            # explains the ask before it.
            last = clauses[-1]
            clauses[-1] = Clause(last.begin, carried.end, text[last.begin : carried.end])
        else:
            clauses.append(carried)
    return clauses or [Clause(0, len(text), text.strip())]
