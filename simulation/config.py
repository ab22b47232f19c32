"""What the engine runs: its generators, each switchable, each with one rate, and the clock.

Every generator has one `rate`; what the number means is in `RATE_MEANINGS` (and in the status
the CLI prints). Rates and switches may change while the engine runs.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, Field

from tools.core.errors import ValidationError

GeneratorName = Literal[
    "sensors",
    "faults",
    "monitor",
    "production",
    "orders",
    "fulfilment",
    "carriers",
    "suppliers",
    "customers",
    "maintenance",
    "reactors",
]
GENERATORS: tuple[GeneratorName, ...] = get_args(GeneratorName)

RATE_MEANINGS: dict[GeneratorName, str] = {
    "sensors": "readings per sensor per plant minute (1: one a minute)",
    "faults": "random degradations started per machine per plant day",
    "monitor": "anomaly detection runs per plant hour (heartbeats are checked every tick)",
    "production": "counter updates per machine per plant hour",
    "orders": "new customer orders per plant hour (Poisson arrivals)",
    "fulfilment": "order steps (validate, reserve, produce, pack, ship) per order per plant hour",
    "carriers": "probability that a shipment is delayed on the road (weather, customs)",
    "suppliers": "late deliveries as a multiple of each supplier's unreliability (1 - reliability)",
    "customers": "probability that a customer asks (status, expedite, quality) when there is cause",
    "maintenance": "work orders started per open work order per plant hour",
    "reactors": "unused: the reactors handle every new event after each tick",
}

DEFAULT_RATES: dict[GeneratorName, float] = {
    "sensors": 1.0,
    "faults": 0.01,
    "monitor": 12.0,
    "production": 4.0,
    "orders": 0.5,
    "fulfilment": 0.5,
    "carriers": 0.1,
    "suppliers": 1.0,
    "customers": 0.3,
    "maintenance": 0.25,
    "reactors": 1.0,
}


class GeneratorSettings(BaseModel):
    """One generator: on or off, and its rate (see RATE_MEANINGS)."""

    enabled: bool = True
    rate: float = Field(ge=0)


def default_generators() -> dict[GeneratorName, GeneratorSettings]:
    return {name: GeneratorSettings(rate=DEFAULT_RATES[name]) for name in GENERATORS}


class SimConfig(BaseModel):
    """The engine's settings. `tick_s` is the plant time one step of the loop covers."""

    seed: int = 42
    speed: float = Field(default=60.0, gt=0, le=86_400)
    tick_s: float = Field(default=60.0, gt=0, le=3600)
    heartbeat_timeout_s: float = Field(default=300.0, gt=0)
    generators: dict[GeneratorName, GeneratorSettings] = Field(default_factory=default_generators)
    delayed_suppliers: list[str] = Field(default_factory=list)

    def on(self, name: GeneratorName) -> bool:
        return self.generators[name].enabled

    def rate(self, name: GeneratorName) -> float:
        return self.generators[name].rate

    def only(self, *names: GeneratorName) -> SimConfig:
        """A copy with only `names` switched on."""
        gens = {n: g.model_copy(update={"enabled": n in names}) for n, g in self.generators.items()}
        return self.model_copy(update={"generators": gens})


def generator_name(name: str) -> GeneratorName:
    """`name` as a generator name, or ValidationError naming the valid ones."""
    for known in GENERATORS:
        if known == name:
            return known
    raise ValidationError(f"unknown generator {name!r}; generators are {', '.join(GENERATORS)}")
