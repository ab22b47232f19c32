"""Schema validation for MCP calls stays correct when it is made fast."""

from __future__ import annotations

import jsonschema
import pytest
from referencing import Registry

from mcp_servers import schema_cache

SCHEMA = {
    "type": "object",
    "properties": {"sku": {"type": "string"}, "on_hand": {"type": "integer", "minimum": 0}},
    "required": ["sku", "on_hand"],
}


def test_a_schema_that_is_not_titans_still_rejects_bad_instances_every_time() -> None:
    schema_cache.install()
    schema = dict(SCHEMA)

    jsonschema.validate({"sku": "SKU-X", "on_hand": 3}, schema)
    for _ in range(2):  # the second time from the cached validator
        with pytest.raises(jsonschema.ValidationError, match="-1 is less than the minimum"):
            jsonschema.validate({"sku": "SKU-X", "on_hand": -1}, schema)
    with pytest.raises(jsonschema.ValidationError, match="'sku' is a required property"):
        jsonschema.validate({"on_hand": 1}, schema, registry=Registry())


def test_a_malformed_schema_is_still_refused() -> None:
    schema_cache.install()
    with pytest.raises(jsonschema.SchemaError):
        jsonschema.validate({}, {"type": "no-such-type"})


def test_results_of_titans_own_output_schemas_are_not_validated_again() -> None:
    schema_cache.install()
    own = {**SCHEMA, "title": "TitanOwnResult"}
    schema_cache.trust(own)

    # Built by pydantic from the type the schema came from: not checked a second time.
    jsonschema.validate({"sku": "SKU-X", "on_hand": -1}, dict(own))
