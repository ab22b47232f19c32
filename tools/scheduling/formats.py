"""Benchmark instance files: job shop (JSPLIB and Taillard) and flexible job shop (Brandimarte).

- JSPLIB: ``#`` comment lines, then ``jobs machines``, then one line per job of
  ``machine duration`` pairs in processing order, machines numbered from 0.
- Taillard's own layout: a header line and its values, then ``Times`` (one row of durations
  per job) and ``Machines`` (one row of machines per job, numbered from 1).
- Brandimarte ``.fjs``: ``jobs machines [average machines per operation]``, then one line per
  job: its number of operations, and per operation the number of alternatives followed by
  that many ``machine duration`` pairs, machines numbered from 1 (files numbered from 0 are
  recognised by a machine 0).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tools.core.errors import ValidationError
from tools.scheduling.problem import Alternative, Job, Machine, Operation, Problem

Kind = Literal["job shop", "flexible job shop"]
Choices = tuple[tuple[int, int], ...]  # (machine, duration) alternatives of one operation


@dataclass(frozen=True)
class Instance:
    """A benchmark instance: per job, per operation, its (machine, duration) alternatives."""

    name: str
    kind: Kind
    machines: int
    jobs: tuple[tuple[Choices, ...], ...]

    @property
    def size(self) -> str:
        return f"{len(self.jobs)} x {self.machines}"

    def problem(self) -> Problem:
        """The instance as a scheduling problem (no calendars, no due dates)."""
        return Problem(
            machines=tuple(Machine(f"M{m}") for m in range(self.machines)),
            jobs=tuple(
                Job(
                    name=f"J{j}",
                    operations=tuple(
                        Operation(tuple(Alternative(m, d) for m, d in choices), interruption="none")
                        for choices in ops
                    ),
                )
                for j, ops in enumerate(self.jobs)
            ),
        )


def read_instance(path: Path) -> Instance:
    """The instance in `path`, its format recognised from its name and content."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"cannot read instance {path}: {exc.strerror}") from exc
    name = path.stem
    if path.suffix.lower() == ".fjs":
        return parse_flexible(text, name)
    if re.search(r"^\s*Times\s*$", text, re.MULTILINE):
        return parse_taillard(text, name)
    try:
        return parse_jobshop(text, name)
    except ValidationError as jobshop_error:
        try:
            return parse_flexible(text, name)
        except ValidationError:
            raise ValidationError(
                f"{path} is neither a job-shop (JSPLIB/Taillard) nor a flexible job-shop (.fjs) "
                f"instance: {jobshop_error}"
            ) from None


def _rows(text: str) -> list[list[str]]:
    return [
        line.split()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def _ints(row: list[str], what: str) -> list[int]:
    try:
        return [int(v) for v in row]
    except ValueError:
        raise ValidationError(
            f"{what} holds a value that is not a whole number: {' '.join(row)}"
        ) from None


def parse_jobshop(text: str, name: str) -> Instance:
    """A JSPLIB job-shop instance."""
    rows = _rows(text)
    if not rows or len(rows[0]) < 2:
        raise ValidationError(f"{name}: the first line must be 'jobs machines'")
    jobs_n, machines = _ints(rows[0][:2], f"{name} header")
    if len(rows) < jobs_n + 1:
        raise ValidationError(f"{name}: {jobs_n} jobs announced, {len(rows) - 1} job lines found")
    jobs = []
    for j, row in enumerate(rows[1 : jobs_n + 1], start=1):
        values = _ints(row, f"{name} job {j}")
        if len(values) != 2 * machines:
            raise ValidationError(
                f"{name} job {j}: expected {machines} (machine, duration) pairs, found "
                f"{len(values)} numbers"
            )
        jobs.append([(values[i], values[i + 1]) for i in range(0, len(values), 2)])
    return _instance(name, "job shop", machines, [[[op] for op in job] for job in jobs])


def parse_taillard(text: str, name: str) -> Instance:
    """A job-shop instance in Taillard's layout (Times and Machines matrices)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    try:
        at_times = next(i for i, line in enumerate(lines) if line == "Times")
        at_machines = next(i for i, line in enumerate(lines) if line == "Machines")
    except StopIteration:
        raise ValidationError(f"{name}: a Taillard file needs 'Times' and 'Machines'") from None
    sizes = _ints(lines[at_times - 1].replace(",", " ").split()[:2], f"{name} header")
    jobs_n, machines = sizes
    times = [_ints(row.split(), name) for row in lines[at_times + 1 : at_times + 1 + jobs_n]]
    order = [_ints(row.split(), name) for row in lines[at_machines + 1 : at_machines + 1 + jobs_n]]
    if len(times) != jobs_n or len(order) != jobs_n:
        raise ValidationError(f"{name}: expected {jobs_n} rows of times and of machines")
    jobs = [
        [[(m - 1, d)] for m, d in zip(ms, ts, strict=True)]
        for ms, ts in zip(order, times, strict=True)
    ]
    return _instance(name, "job shop", machines, jobs)


def parse_flexible(text: str, name: str) -> Instance:
    """A Brandimarte flexible job-shop instance."""
    rows = _rows(text)
    if not rows or len(rows[0]) < 2:
        raise ValidationError(f"{name}: the first line must be 'jobs machines [average]'")
    jobs_n, machines = _ints(rows[0][:2], f"{name} header")
    if len(rows) < jobs_n + 1:
        raise ValidationError(f"{name}: {jobs_n} jobs announced, {len(rows) - 1} job lines found")
    jobs: list[list[list[tuple[int, int]]]] = []
    for j, row in enumerate(rows[1 : jobs_n + 1], start=1):
        values, at, ops = _ints(row, f"{name} job {j}"), 1, []
        try:
            for _ in range(values[0]):
                count = values[at]
                pairs = values[at + 1 : at + 1 + 2 * count]
                if len(pairs) != 2 * count or count < 1:
                    raise IndexError
                ops.append([(pairs[i], pairs[i + 1]) for i in range(0, len(pairs), 2)])
                at += 1 + 2 * count
        except IndexError:
            raise ValidationError(f"{name} job {j}: the line ends inside an operation") from None
        if at != len(values):
            raise ValidationError(f"{name} job {j}: {len(values) - at} numbers left over")
        jobs.append(ops)
    one_based = all(m >= 1 for job in jobs for op in job for m, _ in op)
    if one_based:
        jobs = [[[(m - 1, d) for m, d in op] for op in job] for job in jobs]
    return _instance(name, "flexible job shop", machines, jobs)


def _instance(
    name: str, kind: Kind, machines: int, jobs: list[list[list[tuple[int, int]]]]
) -> Instance:
    for j, job in enumerate(jobs, start=1):
        for m, d in (pair for op in job for pair in op):
            if not 0 <= m < machines:
                raise ValidationError(f"{name} job {j}: machine {m} outside 0..{machines - 1}")
            if d < 0:
                raise ValidationError(f"{name} job {j}: negative duration {d}")
    return Instance(name, kind, machines, tuple(tuple(tuple(op) for op in job) for job in jobs))
