"""Notification templates: one text file per event type, rendered with its entity's fields.

A template is `<event type>.txt` in this folder, or `<event type>+<variant>.txt` for a further
message on the same event (`shipment.delivered+feedback.txt`)::

    Subject: Order $order_id confirmed
    To: customer
    Severity: INFO

    Dear $customer_name, ...

Headers, a blank line, then the body. `To:` names the audiences, comma-separated: `customer` (the
customer's contact email) or staff roles (planner, plant_manager, maintenance_lead, ...).
`Severity:` is INFO, WARNING or CRITICAL and may itself be a field (`$severity`). Fields are
`string.Template` placeholders; a field the entity does not provide is a ValidationError naming
the template, the field and the fields there are.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel

from tools.core.errors import NotFoundError, ValidationError

Severity = Literal["INFO", "WARNING", "CRITICAL"]
SEVERITIES: tuple[Severity, ...] = ("INFO", "WARNING", "CRITICAL")
STAFF_ROLES = (
    "planner",
    "plant_manager",
    "maintenance_lead",
    "quality_manager",
    "logistics_coordinator",
    "purchasing",
    "customer_service",
)
CUSTOMER = "customer"

_NAME = re.compile(r"^([a-z][a-z_]*(?:\.[a-z][a-z_]*)+)(?:\+([a-z][a-z_]*))?$")
_HEADERS = ("subject", "to", "severity")


class Template(BaseModel):
    """A parsed template: who it goes to, and its subject and body with placeholders."""

    name: str
    event_type: str
    audiences: list[str]
    severity: str
    subject: str
    body: str

    def fields(self) -> set[str]:
        """The placeholders the template uses."""
        found: set[str] = set()
        for text in (self.subject, self.body, self.severity):
            for match in string.Template.pattern.finditer(text):
                name = match.group("named") or match.group("braced")
                if name:
                    found.add(name)
        return found


class Rendered(BaseModel):
    """A template filled in for one entity."""

    template: str
    audiences: list[str]
    severity: Severity
    subject: str
    body: str


def parse(name: str, text: str) -> Template:
    """The template named `name` (its file name without `.txt`) from its text."""
    match = _NAME.match(name)
    if match is None:
        raise ValidationError(
            f"template name {name!r} must be an event type such as order.created, optionally "
            "followed by +variant (shipment.delivered+feedback)"
        )
    head, sep, body = text.replace("\r\n", "\n").partition("\n\n")
    if not sep:
        raise ValidationError(
            f"template {name}: headers and body must be separated by a blank line"
        )
    headers: dict[str, str] = {}
    for line in head.splitlines():
        key, colon, value = line.partition(":")
        key = key.strip().lower()
        if not colon or key not in _HEADERS:
            raise ValidationError(
                f"template {name}: header line {line!r} is not one of Subject:, To:, Severity:"
            )
        headers[key] = value.strip()
    missing = [h for h in ("subject", "to") if not headers.get(h)]
    if missing:
        raise ValidationError(f"template {name}: the {' and '.join(missing)} header is required")
    audiences = [a.strip() for a in headers["to"].split(",") if a.strip()]
    unknown = [a for a in audiences if a != CUSTOMER and a not in STAFF_ROLES]
    if unknown:
        raise ValidationError(
            f"template {name}: unknown audience {', '.join(unknown)}; use customer or one of "
            f"{', '.join(STAFF_ROLES)}"
        )
    severity = headers.get("severity", "INFO")
    if "$" not in severity and severity not in SEVERITIES:
        raise ValidationError(
            f"template {name}: severity {severity!r} is not INFO, WARNING or CRITICAL"
        )
    return Template(
        name=name,
        event_type=match[1],
        audiences=audiences,
        severity=severity,
        subject=headers["subject"],
        body=body.strip() + "\n",
    )


@lru_cache(maxsize=1)
def _shipped() -> dict[str, Template]:
    found: dict[str, Template] = {}
    for entry in resources.files(__name__).iterdir():
        if entry.name.endswith(".txt"):
            name = entry.name.removesuffix(".txt")
            found[name] = parse(name, entry.read_text(encoding="utf-8"))
    return found


def available() -> list[str]:
    """The names of the templates Titan ships, sorted."""
    return sorted(_shipped())


def load(name: str) -> Template:
    """The shipped template `name` (e.g. `order.created` or `shipment.delivered+feedback`)."""
    found = _shipped().get(name)
    if found is None:
        raise NotFoundError(
            f"no notification template {name!r}; templates are: {', '.join(available())}"
        )
    return found


def for_event(event_type: str) -> list[Template]:
    """Every template rendered for `event_type`: its own, then its variants by name."""
    found = [t for n, t in sorted(_shipped().items()) if t.event_type == event_type]
    if not found:
        types = sorted({t.event_type for t in _shipped().values()})
        raise NotFoundError(
            f"no notification template for event type {event_type!r}; templates exist for: "
            f"{', '.join(types)}"
        )
    return found


def render(template: Template, fields: Mapping[str, object]) -> Rendered:
    """`template` filled in with `fields`; a missing field is a ValidationError."""
    values = {k: display(v) for k, v in fields.items()}
    missing = sorted(template.fields() - values.keys())
    if missing:
        raise ValidationError(
            f"template {template.name} needs field {', '.join(missing)}, which its "
            f"{fields.get('entity_type', 'entity')} does not provide; fields available: "
            f"{', '.join(sorted(values))}"
        )
    severity = string.Template(template.severity).substitute(values).upper()
    if severity not in SEVERITIES:
        raise ValidationError(
            f"template {template.name}: severity {severity!r} is not INFO, WARNING or CRITICAL"
        )
    return Rendered(
        template=template.name,
        audiences=list(template.audiences),
        severity=severity,
        subject=string.Template(template.subject).substitute(values),
        body=string.Template(template.body).substitute(values),
    )


def display(value: object) -> str:
    """A field value as a person reads it in a message."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            return value.isoformat(sep=" ", timespec="minutes")
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:,.2f}" if value != value.to_integral_value() else f"{value:,.0f}"
    if isinstance(value, str):
        return _readable_time(value)
    return str(value)


def _readable_time(text: str) -> str:
    # event payloads carry times as ISO strings; a message shows them the way it shows datetimes
    if len(text) < 19 or text[4] != "-" or text[10] not in "T ":
        return text
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return text
    return display(parsed) if parsed.utcoffset() is not None else text
