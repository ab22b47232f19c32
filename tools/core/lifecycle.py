"""A record's lifecycle: its statuses in order, the moves between them, and the one wording of a
move it forbids.

Every stateful record of the plant (order, purchase order, shipment, work order, machine,
reservation, notification, inquiry, anomaly, schedule) declares one `Lifecycle` next to its
status Literal; its operations ask `check` before they move a row, and readers ask
`can_become` and `next` (the offline model explains a change the lifecycle forbids instead of
attempting it). A refusal is an `InvalidTransitionError` whose fields carry the entity, its ID,
its status, the status asked for and the statuses it may take:

    order ORD-10017 is VALIDATED and cannot become VALIDATED; from VALIDATED it can become
    RESERVED, ON_HOLD, CANCELLED
    shipment SHP-7001 is DELIVERED, a final status: it cannot become CANCELLED
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar, cast

from tools.core.errors import Field, InvalidTransitionError

S = TypeVar("S", bound=str)


@dataclass(frozen=True)
class Lifecycle(Generic[S]):
    """The statuses of `entity` in lifecycle order and the moves each allows.

    `returns` are moves back that only their own operation makes (releasing a reservation's
    stock, a hold), told apart so that a plain change never takes them; `ways_back` words them
    for a refusal. `hints` replace the list of next statuses where the way out of (or into) a
    status is another operation ("complete or cancel its work order to end maintenance").
    """

    entity: str
    statuses: tuple[S, ...]
    moves: Mapping[S, frozenset[S]]
    returns: Mapping[S, frozenset[S]] = field(default_factory=dict)
    ways_back: Mapping[S, str] = field(default_factory=dict)
    hints: Mapping[S, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        known = set(self.statuses)
        if set(self.moves) != known:
            missing = sorted(known ^ set(self.moves))
            raise ValueError(f"the {self.entity} lifecycle names moves for {missing} wrongly")
        for table in (self.moves, self.returns):
            for source, targets in table.items():
                if source not in known or not targets <= known:
                    raise ValueError(f"the {self.entity} lifecycle moves {source} outside it")

    def can_become(self, current: str, target: str, *, back: bool = False) -> bool:
        """Whether a record in `current` may move to `target` (by a move back, with `back`)."""
        table = cast(Mapping[str, frozenset[str]], self.returns if back else self.moves)
        return target in table.get(current, frozenset())

    def next(self, current: str) -> list[S]:
        """The statuses `current` may move forward to, in lifecycle order."""
        allowed = cast(Mapping[str, frozenset[str]], self.moves).get(current, frozenset())
        return [s for s in self.statuses if s in allowed]

    def is_final(self, current: str) -> bool:
        return not self.next(current) and current not in cast(Mapping[str, object], self.returns)

    def refusal(
        self, entity_id: str, current: str, target: str, *, verb: str | None = None
    ) -> InvalidTransitionError:
        """The error for a move from `current` to `target` this lifecycle does not allow;
        `verb` words the move ("be completed") where it is an operation, not a status."""
        action = verb or f"become {target}"
        allowed = self.next(current)
        fields: dict[str, Field] = {
            "entity": self.entity.replace(" ", "_"),
            "id": entity_id,
            "status": current,
            "target": target,
            "allowed": [str(s) for s in allowed],
        }
        head = f"{self.entity} {entity_id} is {current}"
        hints = cast(Mapping[str, str], self.hints)
        hint = hints.get(target) or hints.get(current)
        if hint:
            return InvalidTransitionError(f"{head} and cannot {action}; {hint}", **fields)
        if self.is_final(current):
            return InvalidTransitionError(f"{head}, a final status: it cannot {action}", **fields)
        options = [", ".join(allowed)] if allowed else []
        if current in cast(Mapping[str, str], self.ways_back):
            options.append(f"go {cast(Mapping[str, str], self.ways_back)[current]}")
        return InvalidTransitionError(
            f"{head} and cannot {action}; from {current} it can become {' or '.join(options)}",
            **fields,
        )

    def check(
        self,
        entity_id: str,
        current: str,
        target: str,
        *,
        back: bool = False,
        verb: str | None = None,
    ) -> None:
        """Raise the refusal unless a record in `current` may move to `target`."""
        if not self.can_become(current, target, back=back):
            raise self.refusal(entity_id, current, target, verb=verb)
