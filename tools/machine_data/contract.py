"""The payload contract between a plant's machines and Titan (docs/ingest.md has it in full).

Topics, under a configurable prefix (`titan` by default):

- `PREFIX/sensors/FACILITY/MACHINE`: one reading `{"sensor", "value", "unit", "ts"}`, or many:
  `{"ts": …, "readings": [{"sensor", "value", "unit"[, "ts"]}, …]}` (a reading without its own
  time takes the message's), or a JSON array of readings;
- `PREFIX/heartbeat/FACILITY/MACHINE`: `{"ts": …}`;
- `PREFIX/production/FACILITY/MACHINE`: `{"ts", "parts_produced", "parts_defective"}`, the
  shift's cumulative counts.

Times are ISO 8601 with a timezone or Unix epoch seconds; `unit` may be left out and must
otherwise be the sensor's own. Field names can be renamed to the plant's (`FieldNames`).
`parse` turns one message into a `FeedMessage` or a `DeadLetter` saying what was wrong; what
only the database can judge (machine, range, time) is checked when the batch is stored.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tools.core.settings import Settings
from tools.machine_data.dead_letters import PAYLOAD_LIMIT, DeadLetter, DeadLetterKind
from tools.machine_data.feed import FeedMessage, MessageKind
from tools.machine_data.sensors import SENSOR_UNITS, Reading

KINDS: tuple[MessageKind, ...] = ("sensors", "heartbeat", "production")
FIELDS = ("sensor", "value", "unit", "ts", "readings", "parts_produced", "parts_defective")
MAX_PAYLOAD_BYTES = 256 * 1024
MAX_READINGS = 1_000


class FieldNames(BaseModel):
    """The payload's field names: Titan's by default, or the plant's own."""

    model_config = ConfigDict(frozen=True)

    sensor: str = "sensor"
    value: str = "value"
    unit: str = "unit"
    ts: str = "ts"
    readings: str = "readings"
    parts_produced: str = "parts_produced"
    parts_defective: str = "parts_defective"

    @classmethod
    def renamed(cls, names: Mapping[str, str]) -> FieldNames:
        """Titan's names with `names` (Titan's name → the plant's) applied; unknown keys are
        refused, naming the valid ones."""
        unknown = sorted(set(names) - set(FIELDS))
        if unknown:
            raise ValueError(
                f"payload fields {', '.join(unknown)} do not exist; fields are {', '.join(FIELDS)}"
            )
        return cls.model_validate(dict(names))


class Contract(BaseModel):
    """Where machine messages arrive and what their fields are called."""

    model_config = ConfigDict(frozen=True)

    prefix: str = "titan"
    fields: FieldNames = Field(default_factory=FieldNames)

    @model_validator(mode="after")
    def _plain_prefix(self) -> Contract:
        if not self.prefix or any(c in self.prefix for c in "#+") or self.prefix.endswith("/"):
            raise ValueError(
                f"topic prefix {self.prefix!r} must be a plain topic without wildcards or a "
                "trailing slash"
            )
        return self

    def topic(self, kind: MessageKind, facility_id: str, machine_id: str) -> str:
        """The topic a machine publishes `kind` messages on."""
        return f"{self.prefix}/{kind}/{facility_id}/{machine_id}"

    def subscriptions(self) -> list[str]:
        """The topic filters that cover every machine message."""
        return [f"{self.prefix}/{kind}/+/+" for kind in KINDS]

    def reading(self, reading: Reading) -> dict[str, Any]:
        """One reading as the contract writes it."""
        f = self.fields
        return {
            f.sensor: reading.sensor,
            f.value: reading.value,
            f.unit: reading.unit or SENSOR_UNITS.get(reading.sensor),
            f.ts: reading.ts.isoformat(),
        }


class _Reject(Exception):
    def __init__(self, kind: DeadLetterKind, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


def parse(
    contract: Contract, *, source: str, topic: str, payload: bytes, received_at: datetime
) -> FeedMessage | DeadLetter:
    """The message as Titan reads it, or a dead letter saying what was wrong."""
    text = payload[:PAYLOAD_LIMIT].decode("utf-8", errors="replace")
    try:
        return _parse(contract, source, topic, payload, text, received_at)
    except _Reject as exc:
        return DeadLetter(
            source=source,
            topic=topic,
            payload=text,
            kind=exc.kind,
            reason=exc.reason,
            received_at=received_at,
        )


def _parse(
    contract: Contract, source: str, topic: str, payload: bytes, text: str, received_at: datetime
) -> FeedMessage:
    kind, facility_id, machine_id = _topic(contract, topic)
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise _Reject("too_large", f"the message has {len(payload)} bytes; at most "
                      f"{MAX_PAYLOAD_BYTES} are read")  # fmt: skip
    try:
        body = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _Reject("malformed_json", f"the payload is not JSON: {exc}") from exc
    f = contract.fields

    def message(**fields: Any) -> FeedMessage:
        return FeedMessage(source=source, topic=topic, payload=text, received_at=received_at,
                           kind=kind, facility_id=facility_id, machine_id=machine_id,
                           **fields)  # fmt: skip

    if kind == "sensors":
        return message(readings=_readings(f, machine_id, body))
    if not isinstance(body, dict):
        raise _Reject("invalid_field", f"a {kind} message is a JSON object")
    ts = _time(body, f.ts, "the message")
    if kind == "heartbeat":
        return message(ts=ts)
    return message(
        ts=ts,
        parts_produced=_count(body, f.parts_produced),
        parts_defective=_count(body, f.parts_defective, default=0),
    )


def _topic(contract: Contract, topic: str) -> tuple[MessageKind, str, str]:
    rest = topic.removeprefix(contract.prefix + "/")
    parts = rest.split("/")
    if rest == topic or len(parts) != 3 or not all(parts):
        raise _Reject(
            "bad_topic",
            f"topic {topic!r} is not {contract.prefix}/KIND/FACILITY/MACHINE",
        )
    kind, facility_id, machine_id = parts
    for known in KINDS:
        if kind == known:
            return known, facility_id, machine_id
    raise _Reject("bad_topic", f"topic kind {kind!r} is unknown; kinds are {', '.join(KINDS)}")


def _readings(f: FieldNames, machine_id: str, body: object) -> list[Reading]:
    default_ts: datetime | None = None
    if isinstance(body, dict) and f.readings in body:
        items = body[f.readings]
        if f.ts in body:
            default_ts = _time(body, f.ts, "the message")
    elif isinstance(body, dict):
        items = [body]
    else:
        items = body
    if not isinstance(items, list) or not items:
        raise _Reject(
            "invalid_field",
            f"a sensors message is one reading, a list of readings, or an object whose "
            f"{f.readings!r} is a non-empty list of readings",
        )
    if len(items) > MAX_READINGS:
        raise _Reject("too_large", f"{len(items)} readings in one message; at most {MAX_READINGS}")
    return [_reading(f, machine_id, i, item, default_ts) for i, item in enumerate(items)]


def _reading(
    f: FieldNames, machine_id: str, i: int, item: object, default_ts: datetime | None
) -> Reading:
    where = f"reading {i}"
    if not isinstance(item, dict):
        raise _Reject("invalid_field", f"{where} is not a JSON object")
    sensor = item.get(f.sensor)
    if sensor is None:
        raise _Reject("missing_field", f"{where}: {f.sensor!r} is missing")
    if not isinstance(sensor, str):
        raise _Reject("invalid_field", f"{where}: {f.sensor!r} is not text")
    value = item.get(f.value)
    if value is None:
        raise _Reject("missing_field", f"{where}: {f.value!r} is missing")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Reject("invalid_field", f"{where}: {f.value!r} is not a number: {value!r}")
    unit = item.get(f.unit)
    if unit is not None and not isinstance(unit, str):
        raise _Reject("invalid_field", f"{where}: {f.unit!r} is not text")
    ts = _time(item, f.ts, where) if f.ts in item or default_ts is None else default_ts
    return Reading(machine_id=machine_id, sensor=sensor, ts=ts, value=float(value), unit=unit)


def _time(body: dict[str, Any], name: str, where: str) -> datetime:
    raw = body.get(name)
    if raw is None:
        raise _Reject("missing_field", f"{where}: {name!r} (its time) is missing")
    if isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw):
        try:
            return datetime.fromtimestamp(raw, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise _Reject("invalid_field", f"{where}: {name!r} {raw} is no time") from exc
    if not isinstance(raw, str):
        raise _Reject("invalid_field", f"{where}: {name!r} is not a time: {raw!r}")
    try:
        ts = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise _Reject(
            "invalid_field", f"{where}: {name!r} {raw!r} is not an ISO 8601 time"
        ) from exc
    if ts.tzinfo is None:
        raise _Reject("no_timezone", f"{where}: time {raw!r} has no timezone (add Z or an offset)")
    return ts


def _count(body: dict[str, Any], name: str, *, default: int | None = None) -> int:
    raw = body.get(name, default)
    if raw is None:
        raise _Reject("missing_field", f"{name!r} is missing")
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise _Reject(
            "invalid_field", f"{name!r} must be a whole number of at least 0, got {raw!r}"
        )
    return raw


def encode(body: object) -> bytes:
    """A payload as the contract sends it (compact JSON)."""
    return json.dumps(body, separators=(",", ":")).encode()


def contract_from(settings: Settings) -> Contract:
    """The payload contract the settings describe."""
    return Contract(
        prefix=settings.ingest_topic_prefix,
        fields=FieldNames.renamed(settings.ingest_field_names),
    )
