"""`titan ingest`, run in-process as a user runs it, and the ingest's status where it is shown."""

from __future__ import annotations

import json
import uuid

import pytest
from ingest_helpers import mosquitto
from typer.testing import CliRunner

from api.cli.main import app

runner = CliRunner()


def titan(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_help_lists_the_ingest_commands() -> None:
    code, text = titan("ingest", "--help")

    assert code == 0
    for command in ("mqtt", "opcua", "status"):
        assert command in text


def test_mqtt_ingest_without_a_broker_says_how_to_name_one(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TITAN_INGEST_MQTT_URL", raising=False)

    code, text = titan("ingest", "mqtt")

    assert code == 2
    assert "give --url mqtt://host:1883 or set TITAN_INGEST_MQTT_URL" in text


def test_a_broker_url_of_another_scheme_is_refused_naming_the_valid_form(db_url: str) -> None:
    code, text = titan("ingest", "mqtt", "--url", "http://127.0.0.1:1883", "--seconds", "1")

    assert code == 2
    assert "is not mqtt://host[:port] or mqtts://host[:port]" in text


@pytest.mark.skipif(mosquitto() is None, reason="needs the mosquitto broker")
def test_status_shows_the_last_ingest_with_its_connection_and_counts(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tag = uuid.uuid4().hex[:8]
    monkeypatch.setenv("TITAN_INGEST_TOPIC_PREFIX", f"test-{tag}")
    monkeypatch.setenv("TITAN_INGEST_CLIENT_ID", f"titan-test-{tag}")
    assert titan("db", "reset")[0] == 0

    ran = titan("ingest", "mqtt", "--url", "mqtt://127.0.0.1:1883", "--seconds", "1")
    code, text = titan("ingest", "status", "--json")

    assert ran[0] == 0, ran[1]
    assert "Ingest stopped: 0 messages" in ran[1]
    assert code == 0, text
    report = json.loads(text)
    [ingest] = report["ingests"]
    assert ingest["source"] == "mqtt:mqtt://127.0.0.1:1883"
    assert (ingest["connection"], ingest["messages"], ingest["reconnects"]) == ("stopped", 0, 0)
    assert report["dead_letters"] == {}


def test_status_says_when_no_ingest_has_run(db_url: str) -> None:
    code, text = titan("ingest", "status")

    assert code == 0
    assert "No ingest has run on this database" in text
    assert "Dead letters none" in text
