"""Fast JSON-schema validation for MCP tool calls within Titan.

The MCP SDK validates every call's structured result on the server and again on the client with
`jsonschema.validate`, which checks the schema against its meta-schema and builds a new validator
each time: about 12 ms a call for Titan's result schemas, far more than the tools' own work.
`install()` replaces `jsonschema.validate` with a version that

- keeps one checked validator per schema object, and
- skips validating results against the output schemas of Titan's own tools (`trust()`): those
  results are built by pydantic from the very type the schema was generated from, so they
  conform by construction. Arguments, and any other schema, are validated exactly as before.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from referencing import Registry

_original = jsonschema.validate
_lock = threading.Lock()
# (id(schema), empty registry) → (the schema, kept alive so its id is not reused; its validator
# or None when it is trusted)
_validators: dict[tuple[int, bool], tuple[object, Any]] = {}
_trusted: set[str] = set()


def _text(schema: Mapping[str, Any]) -> str:
    return json.dumps(schema, sort_keys=True, default=str)


def trust(schema: Mapping[str, Any] | None) -> None:
    """Mark an output schema of one of Titan's tools: its results need no re-validation."""
    if schema is not None:
        with _lock:
            _trusted.add(_text(schema))


def cached_validate(
    instance: object, schema: Mapping[str, Any], cls: Any = None, *args: Any, **kwargs: Any
) -> None:
    """`jsonschema.validate`, compiling each schema once (and trusting Titan's own results)."""
    registry = kwargs.get("registry")
    # The MCP client passes a new, empty registry each call: refs resolve within the schema.
    empty_registry = (
        set(kwargs) == {"registry"} and isinstance(registry, Registry) and not len(registry)
    )
    if cls is not None or args or (kwargs and not empty_registry):
        _original(instance, schema, cls, *args, **kwargs)
        return
    key = (id(schema), empty_registry)
    hit = _validators.get(key)
    if hit is None or hit[0] is not schema:
        validator = None
        if _text(schema) not in _trusted:
            validator_cls = validator_for(schema)
            validator_cls.check_schema(schema)
            validator = validator_cls(
                schema, **({"registry": Registry()} if empty_registry else {})
            )
        with _lock:
            _validators[key] = (schema, validator)
    else:
        validator = hit[1]
    if validator is None:
        return
    error = best_match(validator.iter_errors(instance))
    if error is not None:
        raise error


def install() -> None:
    """Use the fast validator from now on (idempotent)."""
    jsonschema.validate = cached_validate
