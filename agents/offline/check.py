"""How well the offline model knows its intents, and whether its catalogue fits the tools.

`cross_validate` holds every example out once (K folds, each holding out about one example of
every intent) and trains the matcher on the rest: the accuracy it reports is on wordings the
matcher never saw, per intent and per domain, with the pairs it confuses most. `compare`
runs the same folds for each view alone (character n-grams, the wordllama embedding) beside the
joint model Titan uses. `plan_problems` checks every plan against the tool schemas each agent
really has. `titan model check` prints all three.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from agents.offline.catalogue import (
    ID_TYPES,
    VALUE_TYPES,
    Catalogue,
    CatalogueError,
    Intent,
    Step,
)
from agents.offline.entities import find_mentions, mask
from agents.offline.expressions import FUNCTIONS, ExpressionError, expressions_in, names_in, parse
from agents.offline.matcher import EMBEDDING_WEIGHT, SVM_C, IntentMatcher, embed
from agents.offline.understanding import _example_names

FOLDS = 20


@dataclass
class Folded:
    """The outcome of one cross-validation: accuracy overall and by intent and domain."""

    variant: str
    examples: int
    accuracy: float
    by_intent: dict[str, float]
    by_domain: dict[str, float]
    confusions: list[tuple[str, str, int]]
    domain_matrix: dict[str, Counter[str]] = field(default_factory=dict)
    seconds: float = 0.0


def masked_examples(catalogue: Catalogue) -> tuple[list[str], list[str]]:
    """Every example with its entities masked, and its intent."""
    from datetime import datetime

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
    return texts, labels


def _folds(labels: Sequence[str], k: int) -> list[int]:
    seen: Counter[str] = Counter()
    fold: list[int] = []
    for label in labels:
        fold.append(seen[label] % k)
        seen[label] += 1
    return fold


class _View:
    """One way of turning texts into features, for `compare`."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.ngrams = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)

    def fit(self, texts: list[str], vectors: np.ndarray[Any, Any]) -> csr_matrix:
        grams = self.ngrams.fit_transform(texts)
        return self._join(grams, vectors)

    def transform(self, texts: list[str], vectors: np.ndarray[Any, Any]) -> csr_matrix:
        return self._join(self.ngrams.transform(texts), vectors)

    def _join(self, grams: csr_matrix, vectors: np.ndarray[Any, Any]) -> csr_matrix:
        if self.kind == "ngrams":
            return grams
        dense = csr_matrix(vectors * EMBEDDING_WEIGHT)
        if self.kind == "embedding":
            return dense
        return hstack([grams, dense]).tocsr()


VARIANTS = {
    "joint": "character n-grams + wordllama embedding (Titan's matcher)",
    "ngrams": "character n-gram TF-IDF alone",
    "embedding": "wordllama embedding alone",
}


def cross_validate(catalogue: Catalogue, *, variant: str = "joint", folds: int = FOLDS) -> Folded:
    """Each example held out once, the matcher trained on the others."""
    started = time.perf_counter()
    texts, labels = masked_examples(catalogue)
    lowered = [t.lower() for t in texts]
    vectors = embed(lowered)
    y = np.asarray(labels)
    fold_of = np.asarray(_folds(labels, folds))
    predicted = np.empty(len(labels), dtype=object)
    for k in range(folds):
        test = np.flatnonzero(fold_of == k)
        train = np.flatnonzero(fold_of != k)
        if len(test) == 0:
            continue
        if variant == "joint":
            matcher = IntentMatcher([texts[i] for i in train], [labels[i] for i in train])
            ranked = matcher.rank_many([texts[i] for i in test])
            predicted[test] = [r.best for r in ranked]
            continue
        view = _View(variant)
        features = view.fit([lowered[i] for i in train], vectors[train])
        svm = LinearSVC(C=SVM_C).fit(features, y[train])
        predicted[test] = svm.predict(view.transform([lowered[i] for i in test], vectors[test]))
    return _score(catalogue, variant, y, predicted, time.perf_counter() - started)


def _score(
    catalogue: Catalogue,
    variant: str,
    y: np.ndarray[Any, Any],
    predicted: np.ndarray[Any, Any],
    seconds: float,
) -> Folded:
    right = y == predicted
    domain_of = {i.id: i.domain for i in catalogue.intents.values()}
    by_intent = {label: float(np.mean(right[y == label])) for label in sorted(set(y))}
    by_domain = {
        d: float(np.mean([r for r, label in zip(right, y, strict=True) if domain_of[label] == d]))
        for d in sorted(set(domain_of.values()))
    }
    pairs = Counter((str(a), str(b)) for a, b in zip(y, predicted, strict=True) if a != b)
    matrix: dict[str, Counter[str]] = {}
    for a, b in zip(y, predicted, strict=True):
        matrix.setdefault(domain_of[str(a)], Counter())[domain_of[str(b)]] += 1
    return Folded(
        variant=variant,
        examples=len(y),
        accuracy=float(np.mean(right)),
        by_intent=by_intent,
        by_domain=by_domain,
        confusions=[(a, b, n) for (a, b), n in pairs.most_common(15)],
        domain_matrix=matrix,
        seconds=seconds,
    )


# ───────────────────────── plans against the tools ─────────────────────────

JSON_TYPES = {
    "quantity": {"integer", "number"},
    "number": {"number", "integer"},
    "money": {"number", "string"},
    "days": {"integer", "number"},
    "datetime": {"string"},
    "text": {"string"},
}


def _types(schema: Mapping[str, Any]) -> set[str]:
    if "anyOf" in schema:
        return {t for s in schema["anyOf"] for t in _types(s)}
    if "enum" in schema:
        return {"string"} if all(isinstance(v, str) for v in schema["enum"]) else {"number"}
    kind = schema.get("type")
    if isinstance(kind, list):
        return set(kind)
    return {kind} if isinstance(kind, str) else {"object"}


def _enum(schema: Mapping[str, Any]) -> set[str] | None:
    if "anyOf" in schema:
        found = [_enum(s) for s in schema["anyOf"]]
        values = {v for f in found if f for v in f}
        return values or None
    enum = schema.get("enum")
    return {str(v) for v in enum} if enum else None


def _check_value(
    intent: Intent,
    step: Step,
    arg: str,
    value: Any,
    schema: Mapping[str, Any],
    catalogue: Catalogue,
) -> list[str]:
    where = f"{intent.id}: {step.tool}.{arg}"
    accepted = _types(schema)
    if isinstance(value, str) and "{" in value:
        whole = re.fullmatch(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", value.strip())
        if whole and whole.group(1) in intent.slots:
            slot = intent.slots[whole.group(1)]
            wanted = (
                {"array"}
                if slot.many
                else {"string"}
                if slot.type in ID_TYPES or slot.type in catalogue.vocabularies
                else JSON_TYPES.get(slot.type, {"object", "string"})
            )
            if slot.type == "schedule" or slot.type == "notification":
                wanted = {"integer", "number"}
            if not wanted & (accepted | {"null"}):
                return [
                    f"{where} takes {sorted(accepted)}, slot {slot.type} gives {sorted(wanted)}"
                ]
            allowed = _enum(schema)
            vocabulary = catalogue.vocabularies.get(slot.type)
            if allowed and vocabulary:
                extra = set(vocabulary.values) - allowed - set(catalogue.groups)
                if extra:
                    return [
                        f"{where} takes {sorted(allowed)}; vocabulary {slot.type} also has "
                        f"{sorted(extra)}"
                    ]
        return []
    if isinstance(value, bool):
        return [] if "boolean" in accepted else [f"{where} takes {sorted(accepted)}, not a boolean"]
    if isinstance(value, int | float):
        return (
            []
            if accepted & {"integer", "number"}
            else [f"{where} takes {sorted(accepted)}, not a number"]
        )
    if isinstance(value, str):
        allowed = _enum(schema)
        if allowed and value not in allowed:
            return [f"{where} is {value!r}, not one of {sorted(allowed)}"]
        return [] if "string" in accepted else [f"{where} takes {sorted(accepted)}, not text"]
    if isinstance(value, list):
        return [] if "array" in accepted else [f"{where} takes {sorted(accepted)}, not a list"]
    return []


def plan_problems(  # noqa: C901 - one check per way a plan can misfit
    catalogue: Catalogue,
    tools_by_agent: Mapping[str, Mapping[str, Mapping[str, Any]]],
    write_tools: set[str],
) -> list[str]:
    """Every way a plan does not fit the tools its agent has: a tool it lacks, an argument the
    tool does not take or takes as another type, a required argument not given, a name no
    slot or earlier step provides, a read intent calling a write tool."""
    problems: list[str] = []
    for intent in catalogue.intents.values():
        if intent.agent is None:
            continue
        tools = tools_by_agent.get(intent.agent, {})
        known = {*intent.slots, "team", "item", "now"}
        for step in intent.plan:
            where = f"{intent.id}: {step.tool}"
            spec = tools.get(step.tool)
            if spec is None:
                problems.append(f"{where} is not a tool of the {intent.agent} agent")
                continue
            if intent.kind == "read" and step.tool in write_tools:
                problems.append(f"{where} writes, but {intent.id} only reads")
            properties = spec.get("properties", {})
            for arg, value in step.args.items():
                if arg not in properties:
                    problems.append(f"{where} takes no argument {arg!r}")
                    continue
                problems += _check_value(intent, step, arg, value, properties[arg], catalogue)
            for required in spec.get("required", []):
                if required not in step.args:
                    problems.append(f"{where} needs {required!r}, which the plan does not give")
            for source in [*expressions_in(step.args), step.when, step.each]:
                if source is None:
                    continue
                try:
                    parse(source)
                except ExpressionError as exc:
                    problems.append(f"{where}: {exc}")
                    continue
                unknown = names_in(source) - known - set(FUNCTIONS) - {"None", "True", "False"}
                if unknown:
                    problems.append(
                        f"{where}: {source!r} reads {sorted(unknown)}, which no slot or earlier "
                        "step gives"
                    )
            known.add(step.key)
        if (
            intent.kind == "write"
            and not any(s.tool in write_tools for s in intent.plan)
            and not intent.then
        ):
            problems.append(f"{intent.id} is a write intent without a write tool")
        for slot_name, slot in intent.slots.items():
            if slot.type not in {*ID_TYPES, *VALUE_TYPES, *catalogue.vocabularies}:
                problems.append(f"{intent.id}: slot {slot_name} has type {slot.type!r}")
    return problems


def check_catalogue(
    catalogue: Catalogue,
    tools_by_agent: Mapping[str, Mapping[str, Mapping[str, Any]]],
    write_tools: set[str],
) -> None:
    """Raise CatalogueError naming every plan that does not fit the tools."""
    problems = plan_problems(catalogue, tools_by_agent, write_tools)
    if problems:
        raise CatalogueError(
            f"{len(problems)} plan(s) of the offline model do not fit the MCP tools: "
            + "; ".join(problems[:10])
        )


def unreachable(catalogue: Catalogue, tool_names: set[str]) -> set[str]:
    """The tools no intent's plan calls."""
    used = {s.tool for i in catalogue.intents.values() for s in i.plan}
    return tool_names - used
