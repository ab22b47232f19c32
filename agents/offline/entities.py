"""What a request names: machines, orders, SKUs, customers, facilities, dates and quantities."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

CUSTOMERS: dict[str, tuple[str, ...]] = {
    "BOEING": ("boeing",),
    "AIRBUS": ("airbus",),
    "GE_AEROSPACE": ("ge aerospace", "ge_aerospace", "general electric"),
    "TESLA": ("tesla",),
    "RIVIAN": ("rivian",),
    "BMW": ("bmw",),
}
SUPPLIERS: dict[str, tuple[str, ...]] = {
    "NIPPONBEARING": ("nipponbearing", "nippon bearing", "nippon"),
    "RHEINTECH": ("rheintech", "rhein tech"),
    "TITANMET": ("titanmet",),
    "ALUFORM": ("aluform",),
}
FACILITIES: dict[str, tuple[str, ...]] = {
    "PHX": ("phx", "phoenix"),
    "MUC": ("muc", "munich", "münchen", "muenchen"),
    "DET": ("det", "detroit"),
}
FAULTS: dict[str, tuple[str, ...]] = {
    "BEARING_DEGRADATION": ("bearing",),
    "SPINDLE_WEAR": ("spindle wear", "spindle"),
    "MOTOR_BURNOUT": ("motor burnout", "motor"),
    "COOLANT_FAILURE": ("coolant",),
    "ELECTRICAL_FAULT": ("electrical",),
    "SENSOR_DRIFT": ("sensor drift", "drift"),
}

_MACHINE = re.compile(r"\b([A-Z]{3}-[A-Z]{2,5}-\d{3})\b", re.IGNORECASE)
_ORDER = re.compile(r"\bORD-\d{3,}\b", re.IGNORECASE)
_SKU = re.compile(r"\bSKU-[A-Z0-9]+(?:-[A-Z0-9]+)*\b", re.IGNORECASE)
_WORK_ORDER = re.compile(r"\bWO-[A-Z0-9-]*\d\b", re.IGNORECASE)
_SHIPMENT = re.compile(r"\bSHP-\d+\b", re.IGNORECASE)
_PURCHASE_ORDER = re.compile(r"\bPO-[A-Z0-9-]*\d\b", re.IGNORECASE)
_INQUIRY = re.compile(r"\bINQ-[A-Z0-9-]*\d\b", re.IGNORECASE)
_BATCH = re.compile(r"\bBATCH-[A-Z0-9-]*\d\b|\bB-\d{4,}\b", re.IGNORECASE)
_TRACKING = re.compile(r"\b\d{10,14}\b")
_DATE = re.compile(r"\b(20\d\d-\d\d-\d\d)\b")
_QUANTITY = re.compile(r"\b(\d{1,6})\s*(?:units?|pcs|pieces|x\b|blades|housings|bearings)", re.I)


@dataclass
class Entities:
    """Every identifier and value found in a text, in the order first mentioned."""

    machines: list[str] = field(default_factory=list)
    orders: list[str] = field(default_factory=list)
    skus: list[str] = field(default_factory=list)
    work_orders: list[str] = field(default_factory=list)
    shipments: list[str] = field(default_factory=list)
    purchase_orders: list[str] = field(default_factory=list)
    inquiries: list[str] = field(default_factory=list)
    batches: list[str] = field(default_factory=list)
    tracking_numbers: list[str] = field(default_factory=list)
    customers: list[str] = field(default_factory=list)
    suppliers: list[str] = field(default_factory=list)
    facilities: list[str] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)
    dates: list[date] = field(default_factory=list)
    quantities: list[int] = field(default_factory=list)

    def first(self, kind: str) -> str | None:
        found: list[str] = getattr(self, kind)
        return found[0] if found else None


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _named(text: str, names: dict[str, tuple[str, ...]]) -> list[str]:
    lowered = text.lower()
    hits: list[tuple[int, str]] = []
    for key, words in names.items():
        for word in words:
            match = re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", lowered)
            if match:
                hits.append((match.start(), key))
                break
    return _unique([key for _, key in sorted(hits)])


def extract(text: str) -> Entities:
    """The entities named in `text` (identifiers upper-cased, each once)."""
    machines = _unique([m.upper() for m in _MACHINE.findall(text)])
    facilities = _named(text, FACILITIES)
    for machine in machines:
        prefix = machine.split("-")[0]
        if prefix in FACILITIES and prefix not in facilities:
            facilities.append(prefix)
    dates: list[date] = []
    for raw in _DATE.findall(text):
        try:
            dates.append(date.fromisoformat(raw))
        except ValueError:
            continue
    return Entities(
        machines=machines,
        orders=_unique([m.upper() for m in _ORDER.findall(text)]),
        skus=_unique([m.upper() for m in _SKU.findall(text)]),
        work_orders=_unique([m.upper() for m in _WORK_ORDER.findall(text)]),
        shipments=_unique([m.upper() for m in _SHIPMENT.findall(text)]),
        purchase_orders=_unique([m.upper() for m in _PURCHASE_ORDER.findall(text)]),
        inquiries=_unique([m.upper() for m in _INQUIRY.findall(text)]),
        batches=_unique([m.upper() for m in _BATCH.findall(text)]),
        tracking_numbers=_unique(_TRACKING.findall(text)),
        customers=_named(text, CUSTOMERS),
        suppliers=_named(text, SUPPLIERS),
        facilities=facilities,
        faults=_named(text, FAULTS),
        dates=dates,
        quantities=[int(q) for q in _QUANTITY.findall(text)],
    )


def as_datetime(day: date, *, hour: int = 17) -> str:
    """An ISO 8601 timestamp (UTC) on `day` at `hour`."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC).isoformat()
