"""The benchmark: Titan's model on public job-shop and flexible job-shop instances.

Per instance: its size, the known optimum (or bounds), Titan's makespan and its gap to the
optimum (or, when the instance is open, to the best known upper bound), the solver status,
the seconds it ran and the seconds to the first and to the best solution, the makespans of the
dispatch rules for contrast, and optionally the textbook model's run on the same settings.

Known values come from an ``instances.json`` beside the instance or one folder up (JSPLIB keeps
``optimum`` and ``bounds: {upper, lower}``; the flexible set ``lower_bound``/``upper_bound``),
or from a catalogue file given explicitly.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from tools.core.errors import ValidationError
from tools.scheduling.dispatch import RULES, dispatch_schedule, makespan
from tools.scheduling.formats import read_instance
from tools.scheduling.plain import solve_plain
from tools.scheduling.problem import SolveSettings
from tools.scheduling.solver import solve

SKIPPED_SUFFIXES = (".json", ".md", ".txt.license")
SKIPPED_PREFIXES = ("LICENSE", "PROVENANCE", "README", ".")


class Known(BaseModel):
    optimum: int | None = None
    lower_bound: int | None = None
    upper_bound: int | None = None

    @property
    def reference(self) -> int | None:
        """The value a gap is measured against: the optimum, else the best known solution."""
        return self.optimum if self.optimum is not None else self.upper_bound

    def describe(self) -> str:
        if self.optimum is not None:
            return str(self.optimum)
        if self.lower_bound is None and self.upper_bound is None:
            return "?"
        return f"{self.lower_bound or '?'}–{self.upper_bound or '?'}"


class PlainResult(BaseModel):
    makespan: int | None
    status: str
    seconds: float
    first_solution_s: float | None
    best_solution_s: float | None


class BenchRow(BaseModel):
    instance: str
    kind: str
    size: str
    optimum: int | None
    lower_bound: int | None
    upper_bound: int | None
    makespan: int | None
    gap_pct: float | None
    status: str
    bound: float | None
    seconds: float
    first_solution_s: float | None
    best_solution_s: float | None
    dispatch: dict[str, int | None]
    plain: PlainResult | None = None


def instance_paths(paths: list[Path]) -> list[Path]:
    """The instance files named, folders expanded to the instance files in them."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                p
                for p in path.iterdir()
                if p.is_file()
                and not p.name.startswith(SKIPPED_PREFIXES)
                and not p.name.endswith(SKIPPED_SUFFIXES)
            )
        elif path.is_file():
            found.append(path)
        else:
            raise ValidationError(f"no instance file or folder at {path}")
    return found


def known_values(path: Path, catalogue: Path | None = None) -> Known | None:
    """The known optimum or bounds of the instance in `path`, if a catalogue names it."""
    places = [catalogue] if catalogue else [path.parent, path.parent.parent]
    for place in places:
        file = place / "instances.json" if place.is_dir() else place
        if not file.is_file():
            continue
        try:
            entries = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValidationError(f"cannot read known values from {file}: {exc}") from exc
        for entry in entries if isinstance(entries, list) else []:
            if entry.get("name") == path.stem:
                bounds = entry.get("bounds") or {}
                return Known(
                    optimum=entry.get("optimum"),
                    lower_bound=entry.get("lower_bound", bounds.get("lower")),
                    upper_bound=entry.get("upper_bound", bounds.get("upper")),
                )
    return None


def gap_pct(value: int | None, known: Known | None) -> float | None:
    """How far `value` lies above the known reference, in percent."""
    if value is None or known is None or not known.reference:
        return None
    return round(100.0 * (value - known.reference) / known.reference, 2)


def run_instance(
    path: Path,
    *,
    settings: SolveSettings,
    plain: bool = False,
    catalogue: Path | None = None,
) -> BenchRow:
    """Run Titan's model (and the dispatch rules, and optionally the plain model) on one file."""
    instance = read_instance(path)
    known = known_values(path, catalogue)
    problem = instance.problem()
    solution = solve(problem, settings)
    rules: dict[str, int | None] = {}
    for rule in RULES:
        schedule = dispatch_schedule(problem, rule)
        rules[rule] = None if schedule is None else makespan(schedule)
    reference = None
    if plain:
        run = solve_plain(instance, settings)
        reference = PlainResult(
            makespan=run.makespan,
            status=run.status,
            seconds=run.seconds,
            first_solution_s=run.first_solution_s,
            best_solution_s=run.best_solution_s,
        )
    return BenchRow(
        instance=instance.name,
        kind=instance.kind,
        size=instance.size,
        optimum=known.optimum if known else None,
        lower_bound=known.lower_bound if known else None,
        upper_bound=known.upper_bound if known else None,
        makespan=solution.makespan,
        gap_pct=gap_pct(solution.makespan, known),
        status=solution.status,
        bound=solution.best_bound,
        seconds=solution.seconds,
        first_solution_s=_round(solution.first_solution_s),
        best_solution_s=_round(solution.best_solution_s),
        dispatch=rules,
        plain=reference,
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def mean_gap(rows: list[BenchRow]) -> float | None:
    """The mean gap over the rows that have one."""
    gaps = [r.gap_pct for r in rows if r.gap_pct is not None]
    return round(sum(gaps) / len(gaps), 2) if gaps else None
