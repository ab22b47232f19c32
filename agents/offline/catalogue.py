"""The intent catalogue: what the offline model understands and what it does for each request.

The catalogue is data, one TOML file per domain in `agents/offline/intents/`, plus the shared
`vocabulary.toml` (fault types, sensors, priorities … and the words people use for them). An
intent names the agent that carries it out, examples of how people ask for it, the slots it
needs (typed, with the question to ask when one is missing), a plan of tool calls with argument
templates and conditions, whether it only reads or also writes, and the renderer of its answer.

`load_catalogue()` reads and validates the files once per process; `check_against_tools()`
checks every plan against the tool schemas an agent really has (see tests).
"""

from __future__ import annotations

import re
import tomllib
from functools import cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agents.state import AGENTS

IdType = Literal[
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
]
ValueType = Literal["quantity", "money", "number", "period", "datetime", "text", "days"]
TextSource = Literal["reason", "message", "clause", "request"]
Source = Literal["clause", "request", "context", "team"]
Kind = Literal["read", "write", "conversation"]
_SOURCES: tuple[Source, ...] = ("clause", "request", "context")

ID_TYPES: tuple[str, ...] = IdType.__args__  # type: ignore[attr-defined]
VALUE_TYPES: tuple[str, ...] = ValueType.__args__  # type: ignore[attr-defined]
MIN_EXAMPLES = 10


class Vocabulary(BaseModel):
    """A closed set of values (an MCP enum) and the words people use for each."""

    model_config = ConfigDict(extra="forbid")

    values: dict[str, list[str]] = Field(description="value → words and phrases that name it")

    def words(self) -> list[tuple[str, str]]:
        """(phrase, value) pairs, longest phrase first, so 'spindle wear' beats 'spindle'."""
        pairs = [(w.lower(), v) for v, words in self.values.items() for w in words]
        return sorted(pairs, key=lambda p: -len(p[0]))

    def pattern(self) -> tuple[re.Pattern[str], dict[str, str]]:
        """One regular expression for every phrase (longest first), and phrase → value."""
        return _vocabulary_pattern(tuple(self.words()))


@cache
def _vocabulary_pattern(
    pairs: tuple[tuple[str, str], ...],
) -> tuple[re.Pattern[str], dict[str, str]]:
    alternatives = "|".join(re.escape(phrase) for phrase, _ in pairs)
    compiled = re.compile(rf"(?<![a-z0-9])(?:{alternatives})(?![a-z0-9])")
    return compiled, dict(pairs[::-1])


class Slot(BaseModel):
    """One piece of information an intent needs."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="an ID type, a value type, or a vocabulary name")
    required: bool = False
    ask: str | None = Field(default=None, description="the question when it is missing")
    many: bool = Field(default=False, description="a list of values rather than one")
    default: Any = None
    text: TextSource | None = Field(default=None, description="how a text slot is read")
    signed: bool = Field(default=False, description="a quantity that may be below zero")
    future: bool = Field(
        default=False, description="a time that must lie ahead (a due date, a booked slot)"
    )
    after: list[str] = Field(
        default_factory=list, description="words that introduce the value ('warning 4.5')"
    )
    sources: list[Source] = Field(default_factory=lambda: list(_SOURCES))

    @model_validator(mode="after")
    def _required_asks(self) -> Slot:
        if self.required and not self.ask:
            raise ValueError("a required slot needs the question to ask when it is missing")
        if self.type == "text" and self.text is None:
            raise ValueError("a text slot says how it is read: reason, message, clause, request")
        return self


class Step(BaseModel):
    """One tool call of a plan. `args` values may hold `{expression}` templates; `when` is an
    expression that must hold for the call to be made; `each` repeats the call per item."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    when: str | None = None
    each: str | None = None
    name: str | None = Field(default=None, alias="as", description="name of the result")

    @property
    def key(self) -> str:
        return self.name or self.tool


class FollowUp(BaseModel):
    """An intent run after this one (by its own agent), with slots passed on."""

    model_config = ConfigDict(extra="forbid")

    intent: str
    slots: dict[str, Any] = Field(default_factory=dict)


class Intent(BaseModel):
    """A kind of request the offline model understands."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z_]+\.[a-z_]+$")
    agent: str | None = None
    kind: Kind
    summary: str = Field(min_length=10, description="what it does, as the help lists it")
    examples: list[str]
    slots: dict[str, Slot] = Field(default_factory=dict)
    plan: list[Step] = Field(default_factory=list)
    answer: str | None = Field(default=None, description="the renderer of the answer")
    then: list[FollowUp] = Field(default_factory=list)
    covers: list[str] = Field(
        default_factory=list, description="intents this one does as part of it (not run twice)"
    )
    cues: list[str] = Field(
        default_factory=list,
        description="words one of which a request must use for this intent (what leaves the "
        "plant is never sent on a guess)",
    )
    needs: list[list[str]] = Field(
        default_factory=list, description="groups of slots of which at least one is needed"
    )
    needs_ask: str | None = Field(default=None, description="the question when a group is empty")
    domain: str = ""

    @field_validator("examples")
    @classmethod
    def _enough_examples(cls, examples: list[str]) -> list[str]:
        if len(examples) < MIN_EXAMPLES:
            raise ValueError(f"an intent needs at least {MIN_EXAMPLES} examples")
        if len({e.lower() for e in examples}) != len(examples):
            raise ValueError("examples repeat")
        return examples

    @model_validator(mode="after")
    def _agent_and_plan(self) -> Intent:
        if self.kind == "conversation":
            if self.agent is not None or self.plan:
                raise ValueError("a conversation intent has no agent and no plan")
            return self
        if self.agent not in AGENTS:
            raise ValueError(f"agent {self.agent!r} is not one of {', '.join(AGENTS)}")
        if not self.plan and not self.then:
            raise ValueError("an intent with an agent needs a plan or follow-ups")
        if self.answer is None:
            raise ValueError("an intent with an agent names its answer renderer")
        return self

    @property
    def writes(self) -> bool:
        return self.kind == "write"


class Catalogue(BaseModel):
    """Every intent, by ID, and the vocabularies their slots use."""

    intents: dict[str, Intent]
    vocabularies: dict[str, Vocabulary]
    domains: dict[str, str] = Field(default_factory=dict, description="domain → what it covers")
    groups: dict[str, list[str]] = Field(
        default_factory=dict, description="a vocabulary value that stands for several"
    )

    def values_of(self, value: str) -> list[str]:
        """The tool values a vocabulary value stands for (a group's, or itself)."""
        return self.groups.get(value, [value])

    def get(self, intent_id: str) -> Intent:
        try:
            return self.intents[intent_id]
        except KeyError:
            raise KeyError(f"no intent {intent_id!r} in the catalogue") from None

    def for_agent(self, agent: str) -> list[Intent]:
        return [i for i in self.intents.values() if i.agent == agent]


class CatalogueError(ValueError):
    """The catalogue files are inconsistent; the message says where."""


def _check_references(catalogue: Catalogue) -> None:  # noqa: C901 - one check per rule
    known_types = {*ID_TYPES, *VALUE_TYPES, *catalogue.vocabularies}
    problems: list[str] = []
    for intent in catalogue.intents.values():
        for name, slot in intent.slots.items():
            if slot.type not in known_types:
                problems.append(f"{intent.id}: slot {name} has unknown type {slot.type!r}")
            if slot.type != "text" and slot.text is not None:
                problems.append(f"{intent.id}: slot {name} is not text but says how text is read")
        for follow in intent.then:
            if follow.intent not in catalogue.intents:
                problems.append(f"{intent.id}: follow-up {follow.intent!r} is not an intent")
        for group in intent.needs:
            for name in group:
                if name not in intent.slots:
                    problems.append(f"{intent.id}: needs slot {name!r}, which it does not have")
        if intent.needs and not intent.needs_ask:
            problems.append(f"{intent.id}: needs slots but says no question to ask for them")
        for covered in intent.covers:
            if covered not in catalogue.intents:
                problems.append(f"{intent.id}: covers {covered!r}, which is not an intent")
    if problems:
        raise CatalogueError("; ".join(problems))


def parse_catalogue(files: dict[str, str]) -> Catalogue:
    """A catalogue from TOML texts by file stem (`vocabulary` holds the vocabularies)."""
    intents: dict[str, Intent] = {}
    vocabularies: dict[str, Vocabulary] = {}
    domains: dict[str, str] = {}
    groups: dict[str, list[str]] = {}
    for stem, text in sorted(files.items()):
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise CatalogueError(f"{stem}.toml is not valid TOML: {exc}") from exc
        if stem == "vocabulary":
            groups = data.pop("groups", {})
            for name, values in data.items():
                vocabularies[name] = Vocabulary(values=values)
            continue
        domains[stem] = str(data.get("about") or stem)
        for raw in data.get("intent", []):
            try:
                intent = Intent.model_validate({**raw, "domain": stem})
            except ValueError as exc:
                raise CatalogueError(f"{stem}.toml, intent {raw.get('id')!r}: {exc}") from exc
            if intent.id in intents:
                raise CatalogueError(f"intent {intent.id} is declared twice")
            intents[intent.id] = intent
    catalogue = Catalogue(
        intents=intents, vocabularies=vocabularies, domains=domains, groups=groups
    )
    _check_references(catalogue)
    return catalogue


def catalogue_files() -> dict[str, str]:
    """The packaged TOML files by stem."""
    folder = resources.files("agents.offline").joinpath("intents")
    return {
        entry.name.removesuffix(".toml"): entry.read_text(encoding="utf-8")
        for entry in folder.iterdir()
        if entry.name.endswith(".toml")
    }


@cache
def load_catalogue() -> Catalogue:
    """The packaged catalogue, read and validated once per process."""
    return parse_catalogue(catalogue_files())
