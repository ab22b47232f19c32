"""The intent catalogue is data that must fit the tools: every plan against the MCP tool schemas
the agents really get, every write tool reachable, every answer renderer there, and no example
copied from the held-out test split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rapidfuzz import fuzz

from agents.mcp_tools import agent_schemas, open_toolbox
from agents.offline.answers import RENDERERS
from agents.offline.catalogue import (
    CatalogueError,
    catalogue_files,
    load_catalogue,
    parse_catalogue,
)
from agents.offline.check import check_catalogue, plan_problems, unreachable
from api.model.check import COVERED_READS
from mcp_servers.runtime import Plant

TEST_SPLIT = Path(__file__).resolve().parents[1] / "evals" / "tasks" / "test.jsonl"


@pytest.mark.anyio
async def test_every_plan_fits_the_tools_its_agent_gets_over_mcp(mcp_plant: Plant) -> None:
    async with open_toolbox(mcp_plant) as box:
        problems = plan_problems(load_catalogue(), box.schemas(), box.write_tools)

    assert problems == []


@pytest.mark.anyio
async def test_a_plan_that_does_not_fit_the_tools_fails_at_start(mcp_plant: Plant) -> None:
    files = catalogue_files()
    files["maintenance"] = (
        files["maintenance"]
        .replace('args = { machine_id = "{machine}" }', 'args = { machine = "{machine}" }', 1)
        .replace('tool = "scan_anomalies"', 'tool = "scan_anomalys"', 1)
    )
    files["orders"] = files["orders"].replace("is_rush = \"{rush == 'RUSH'}\"", 'is_rush = "yes"')
    broken = parse_catalogue(files)
    async with open_toolbox(mcp_plant) as box:
        with pytest.raises(CatalogueError) as raised:
            check_catalogue(broken, box.schemas(), box.write_tools)

    said = str(raised.value)
    assert "machine_health takes no argument 'machine'" in said
    assert "scan_anomalys is not a tool of the maintenance agent" in said
    assert "create_order.is_rush takes ['boolean'], not text" in said


def test_a_catalogue_file_that_breaks_the_format_is_refused_with_where() -> None:
    files = catalogue_files()
    files["logistics"] += '\n[[intent]]\nid = "logistics.nothing"\nagent = "logistics"\n'
    with pytest.raises(CatalogueError, match=r"logistics.toml, intent 'logistics.nothing'"):
        parse_catalogue(files)


@pytest.mark.anyio
async def test_every_write_tool_and_every_read_a_person_asks_for_is_reachable() -> None:
    schemas, writes = await agent_schemas()
    tools = {t for by_agent in schemas.values() for t in by_agent}

    assert writes <= tools
    assert unreachable(load_catalogue(), tools) == set(COVERED_READS)


def test_read_intents_call_only_reads_and_every_intent_has_its_answer() -> None:
    catalogue = load_catalogue()
    for intent in catalogue.intents.values():
        if intent.agent is not None:
            assert intent.answer in RENDERERS, intent.id
        assert len(intent.examples) >= 10, intent.id


def test_no_example_copies_a_request_of_the_held_out_test_split() -> None:
    requests: list[str] = []
    for line in TEST_SPLIT.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("//"):
            asked = json.loads(line)["request"]
            requests += [asked] if isinstance(asked, str) else asked
    catalogue = load_catalogue()
    copies = [
        (intent.id, example)
        for intent in catalogue.intents.values()
        if intent.domain != "conversation"  # "approve it" is said one way
        for example in intent.examples
        if any(fuzz.ratio(example.lower(), r.lower()) > 80 for r in requests)
    ]

    assert copies == []
