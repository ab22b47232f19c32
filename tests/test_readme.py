"""The README's list of MCP servers and tools is the servers' own."""

from __future__ import annotations

import re
from pathlib import Path

from mcp_servers.servers import DOMAIN_REGISTRARS, build_server

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_lists_every_mcp_server_with_its_tools() -> None:
    text = README.read_text()
    rows = dict(re.findall(r"^\| `([a-z]+)` \| ([a-z_*, ]+) \|$", text, flags=re.MULTILINE))

    for domain in DOMAIN_REGISTRARS:
        built = build_server(domain)
        tools = sorted(t.name for t in built.tools)
        expected = ", ".join(f"{t}*" if t in built.write_tools else t for t in tools)
        assert rows.get(domain) == expected, domain
