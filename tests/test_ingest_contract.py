"""The payload contract: what a machine message means, and what is wrong with a bad one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tools.machine_data.contract import Contract, FieldNames, parse
from tools.machine_data.dead_letters import DeadLetter
from tools.machine_data.feed import FeedMessage

AT = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def read(topic: str, payload: bytes, contract: Contract | None = None) -> FeedMessage | DeadLetter:
    return parse(
        contract or Contract(), source="test", topic=topic, payload=payload, received_at=AT
    )


def test_a_message_of_many_readings_gives_each_the_message_time_unless_it_has_its_own() -> None:
    got = read(
        "titan/sensors/PHX/PHX-CNC-007",
        b'{"ts": "2026-03-02T05:00:00Z", "readings": [{"sensor": "power", "value": 3},'
        b' {"sensor": "vibration", "value": 1.5, "unit": "mm/s", "ts": 1772427600}]}',
    )

    assert isinstance(got, FeedMessage)
    assert (got.kind, got.facility_id, got.machine_id) == ("sensors", "PHX", "PHX-CNC-007")
    assert [(r.sensor, r.value, r.ts.isoformat()) for r in got.readings] == [
        ("power", 3.0, "2026-03-02T05:00:00+00:00"),
        ("vibration", 1.5, "2026-03-02T05:00:00+00:00"),
    ]


def test_renamed_fields_are_read_under_the_plants_names() -> None:
    contract = Contract(prefix="plant/line1", fields=FieldNames.renamed({"value": "v", "ts": "t"}))

    got = read(
        "plant/line1/sensors/MUC/MUC-CNC-001",
        b'{"sensor": "temperature", "v": 41.5, "t": "2026-03-02T05:59:00+01:00"}',
        contract,
    )

    assert isinstance(got, FeedMessage)
    assert got.readings[0].value == 41.5
    assert got.readings[0].ts == datetime(2026, 3, 2, 4, 59, tzinfo=UTC)


def test_renaming_a_field_that_does_not_exist_is_refused_naming_the_fields() -> None:
    with pytest.raises(ValueError, match="payload fields valu do not exist; fields are sensor"):
        FieldNames.renamed({"valu": "v"})


@pytest.mark.parametrize(
    ("topic", "payload", "kind", "reason"),
    [
        ("titan/sensors/PHX", b"{}", "bad_topic", "is not titan/KIND/FACILITY/MACHINE"),
        ("titan/alarms/PHX/M", b"{}", "bad_topic", "kind 'alarms' is unknown"),
        ("titan/sensors/PHX/M", b"\xff\xfe", "malformed_json", "is not JSON"),
        ("titan/sensors/PHX/M", b"[]", "invalid_field", "non-empty list of readings"),
        ("titan/sensors/PHX/M", b'{"value": 1, "ts": 0}', "missing_field", "'sensor' is missing"),
        ("titan/sensors/PHX/M", b'{"sensor": "power", "value": "1", "ts": 0}', "invalid_field",
         "'value' is not a number"),
        ("titan/sensors/PHX/M", b'{"sensor": "power", "value": 1}', "missing_field",
         "'ts' (its time) is missing"),
        ("titan/sensors/PHX/M", b'{"sensor": "power", "value": 1, "ts": "yesterday"}',
         "invalid_field", "is not an ISO 8601 time"),
        ("titan/heartbeat/PHX/M", b'{"ts": "2026-03-02T05:00:00"}', "no_timezone",
         "has no timezone"),
        ("titan/production/PHX/M", b'{"ts": 0, "parts_produced": -1}', "invalid_field",
         "whole number of at least 0"),
    ],
)  # fmt: skip
def test_a_message_that_breaks_the_contract_becomes_a_dead_letter_saying_why(
    topic: str, payload: bytes, kind: str, reason: str
) -> None:
    got = read(topic, payload)

    assert isinstance(got, DeadLetter)
    assert got.kind == kind
    assert reason in got.reason
