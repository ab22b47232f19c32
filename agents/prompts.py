"""The agents' prompt texts, one file per agent in the `prompts` package."""

from __future__ import annotations

from functools import cache
from importlib import resources

from agents.roster import PROMPT_NAMES


@cache
def load_prompt(name: str) -> str:
    """The prompt text of agent `name` (prompts/<name>.md)."""
    if name not in PROMPT_NAMES:
        raise ValueError(f"no prompt named {name!r}; choose one of {', '.join(PROMPT_NAMES)}")
    return resources.files("prompts").joinpath(f"{name}.md").read_text(encoding="utf-8")
