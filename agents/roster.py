"""The agent team, named once: each specialist, and the MCP server whose tools it works with.

The supervisor routes to these, the graph builds a node for each, the prompts package holds one
text per name, the offline model's intents name one of them, and the eval report groups by
them; every one of those reads the names from here.
"""

from __future__ import annotations

from typing import Literal, get_args

Agent = Literal[
    "scheduler", "inventory", "logistics", "maintenance", "communications", "governance"
]
AGENTS: tuple[Agent, ...] = get_args(Agent)

# The MCP server each specialist works through (the server of its domain).
SERVER_OF: dict[Agent, str] = {
    "scheduler": "scheduling",
    "inventory": "inventory",
    "logistics": "logistics",
    "maintenance": "maintenance",
    "communications": "communications",
    "governance": "governance",
}

# The nodes around the specialists: the supervisor routes, the composer writes the answer,
# and `decide` words a person's approval decision.
COMPOSER = "composer"
PROMPT_NAMES: tuple[str, ...] = ("supervisor", *AGENTS, COMPOSER, "decide")
