"""Each tool's argument model and schemas derived once per process, not once per server built.

FastMCP derives a tool's argument model, output model and schemas from its function's signature
with pydantic, about 10 ms a tool. Titan builds the same servers many times in one process (the
agents' in-memory sessions and the HTTP endpoints each build their own, and the `all` server
registers every domain's tools again): 280 derivations, 2.6 s of a service's start. The tool
functions are closures made anew at each build, but their code and signature are the same, so
`install()` has FastMCP reuse what the first build derived, keyed by the function's code object,
its defaults and the options asked for. The metadata holds no reference to the function: every
call still goes to the function of its own server.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Sequence
from typing import Any

from mcp.server.fastmcp.tools import base as tool_base
from mcp.server.fastmcp.utilities.func_metadata import FuncMetadata

_original: Callable[..., FuncMetadata] = tool_base.func_metadata  # type: ignore[attr-defined]
_lock = threading.Lock()
_cache: dict[tuple[object, ...], FuncMetadata] = {}


def cached_func_metadata(
    func: Callable[..., Any],
    skip_names: Sequence[str] = (),
    structured_output: bool | None = None,
) -> FuncMetadata:
    """FastMCP's `func_metadata`, derived once per function code and options."""
    target = inspect.unwrap(func)
    code = getattr(target, "__code__", None)
    if code is None:
        return _original(func, skip_names=skip_names, structured_output=structured_output)
    key = (
        code,
        repr(getattr(target, "__defaults__", None)),
        repr(getattr(target, "__kwdefaults__", None)),
        tuple(skip_names),
        structured_output,
    )
    with _lock:
        found = _cache.get(key)
    if found is None:
        found = _original(func, skip_names=skip_names, structured_output=structured_output)
        with _lock:
            found = _cache.setdefault(key, found)
    return found


def derived() -> int:
    """How many distinct tool signatures have been derived in this process."""
    return len(_cache)


def install() -> None:
    """Make FastMCP's tool registration reuse derived metadata (idempotent)."""
    setattr(tool_base, "func_metadata", cached_func_metadata)  # noqa: B010  (a module's global)
