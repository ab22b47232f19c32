"""Only `tools/` writes the plant's tables: every SQL statement that inserts, updates, deletes,
copies into or truncates a table outside `tools/` writes one of the simulation's own tables
(`sim_*`), never a domain table. The direction of the imports is import-linter's (`lint-imports`,
pyproject.toml); this is the rule it cannot see."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTSIDE_TOOLS = ("api", "agents", "mcp_servers", "simulation", "ingest", "evals", "prompts")
WRITE = re.compile(
    r"\b(?:insert\s+into|update|delete\s+from|copy|truncate(?:\s+table)?)\s+([a-z_][a-z0-9_]*)",
    re.IGNORECASE,
)
SQL_START = re.compile(r"^\s*(?:with\b.*\)\s*)?(insert|update|delete|copy|truncate)\b", re.I | re.S)


def sql_texts(source: str) -> list[tuple[int, str]]:
    """The string constants of a module that read as SQL writes, with their line."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        else:
            continue
        if SQL_START.match(text):
            found.append((node.lineno, text))
    return found


def written_tables(text: str) -> set[str]:
    return {m.group(1).lower() for m in WRITE.finditer(text)} - {"set"}


def test_the_scan_finds_the_writes_of_a_statement() -> None:
    sql = "insert into orders (order_id) values (%s)"
    assert written_tables(sql) == {"orders"}
    assert written_tables("update sim_state set paused = true") == {"sim_state"}
    assert sql_texts(f"q = {sql!r}\nr = 'copy sensor_readings (ts) from stdin'") == [
        (1, sql), (2, "copy sensor_readings (ts) from stdin"),
    ]  # fmt: skip


def test_only_tools_writes_the_plants_tables() -> None:
    offenders = []
    for package in OUTSIDE_TOOLS:
        for path in sorted((ROOT / package).rglob("*.py")):
            for line, text in sql_texts(path.read_text(encoding="utf-8")):
                for table in written_tables(text):
                    if not table.startswith("sim_"):
                        offenders.append(f"{path.relative_to(ROOT)}:{line} writes {table}")

    assert not offenders, "write through tools/ instead:\n" + "\n".join(offenders)
