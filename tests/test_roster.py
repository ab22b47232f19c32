"""The agent team is named once (`agents.roster`): every specialist has its prompt, its MCP
server and a place in the offline model's order, and nothing else names a specialist of its own."""

from __future__ import annotations

from importlib import resources

from agents.offline.understanding import PIPELINE
from agents.roster import AGENTS, PROMPT_NAMES, SERVER_OF
from mcp_servers.servers import DOMAIN_REGISTRARS


def test_every_specialist_has_its_prompt_its_server_and_its_place() -> None:
    prompts = {p.name.removesuffix(".md") for p in resources.files("prompts").iterdir()}

    assert set(PROMPT_NAMES) <= prompts
    assert set(SERVER_OF) == set(AGENTS)
    assert set(SERVER_OF.values()) <= set(DOMAIN_REGISTRARS)
    assert sorted(PIPELINE) == sorted(AGENTS)
