"""The base of every JSON request body: values of the declared types only — no "5" for 5, no 0
for false — and no fields the route does not know (the schema says both, so clients and the
OpenAPI document agree)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Body(BaseModel):
    """A request body, validated strictly."""

    model_config = ConfigDict(strict=True, extra="forbid")
