"""Staging scenarios: the stories of DESIGN.md on the running plant, each over an hour of plant
time, through `tools/` like everything else the simulation does.

- `phoenix-incident`: PHX-CNC-007's spindle bearing degrades: vibration trends up, the machine
  is checked and its failure predicted, a work order is opened (by the anomaly reactor when the
  anomaly is critical), bearing stock is checked, a purchase order is raised when it is low, and
  the plant manager is told.
- `boeing-expedite`: a rush Boeing order: contract and compliance checked, stock reserved across
  facilities, split shipments, tracking scans, the ETA confirmed, delivery, a feedback request.
- `supply-crisis`: NipponBearing falls behind: its open purchase orders are delayed, alternatives
  found, the orders that wait on its parts re-planned, their customers told.
- `faa-audit`: the traceability record of the aerospace orders: material batch, supplier,
  certificates, machines, events and approvals, sent to the quality manager.
- `machine-down`: DET-CNC-001's drive fails: it goes DOWN, its queued operations are rescheduled
  onto the other machines; when it is repaired, the load is rebalanced.
- `full-demo`: all of them, at twice the pace, staggered over one hour.

`stage(engine, name)` puts a scenario's steps on the engine's agenda, so a running engine plays
it in plant time; `play(engine, name)` stages it and steps the clock through it at once (the CLI
without a running engine, and the tests). A step the plant refuses is recorded in the report as
failed, with the reason, and the story goes on.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg
from pydantic import JsonValue

from simulation.scenarios.audit import faa_audit
from simulation.scenarios.maintenance import machine_down, phoenix_incident
from simulation.scenarios.orders import boeing_expedite, supply_crisis
from simulation.scenarios.run import (
    FULL_DEMO,
    MINUTES,
    Scenario,
    ScenarioReport,
    ScenarioRun,
    Stage,
    Step,
    scenario_name,
)
from tools.core import clock, events
from tools.core.errors import TitanError


def _registry() -> dict[str, Scenario]:
    return {
        "phoenix-incident": Scenario("Phoenix Incident", phoenix_incident),
        "boeing-expedite": Scenario("Boeing Expedite", boeing_expedite),
        "supply-crisis": Scenario("Supply Crisis", supply_crisis),
        "faa-audit": Scenario("FAA Audit", faa_audit),
        "machine-down": Scenario("Machine Down", machine_down),
    }


async def stage(
    engine: Stage, name: str, *, solve_seconds: float = 5.0, offset: float = 0.0
) -> ScenarioRun:
    """Put the scenario's steps on the engine's agenda, starting `offset` plant minutes from now."""
    key = scenario_name(name)
    start = clock.now() + timedelta(minutes=offset)
    if key == "full-demo":
        run = ScenarioRun(engine, key, "Full Demo", MINUTES, start, solve_seconds)
        for part, at in FULL_DEMO:
            run.parts.append(_schedule(engine, part, start, at, 0.5, solve_seconds))
    else:
        run = _schedule(engine, key, start, 0.0, 1.0, solve_seconds)
    await _announce(run, "simulation.scenario_started")

    async def finish() -> None:
        run.finished = True
        await _announce(run, "simulation.scenario_finished")

    engine.schedule(start + timedelta(minutes=MINUTES), f"{run.title}: finished", finish)
    return run


def _schedule(
    engine: Stage, key: str, start: datetime, at: float, pace: float, solve_seconds: float
) -> ScenarioRun:
    scenario = _registry()[key]
    begins = start + timedelta(minutes=at)
    run = ScenarioRun(engine, key, scenario.title, MINUTES * pace, begins, solve_seconds)
    for minute, label, step in scenario.plan(run):
        engine.schedule(
            begins + timedelta(minutes=minute * pace),
            f"{run.title}: {label}",
            _guarded(run, label, step),
        )

    async def done() -> None:
        run.finished = True

    engine.schedule(begins + timedelta(minutes=MINUTES * pace), f"{run.title}: done", done)
    return run


def _guarded(run: ScenarioRun, label: str, step: Step) -> Step:
    async def guarded() -> None:
        try:
            await step()
        except (TitanError, psycopg.Error) as exc:
            run.note(label, f"refused: {exc}", ok=False)

    return guarded


async def _announce(run: ScenarioRun, event_type: str) -> None:
    report = run.report()
    payload: dict[str, JsonValue] = {
        "scenario": run.name,
        "title": run.title,
        "steps": len(report.steps),
        "ok": report.ok,
        "facts": report.facts,
    }
    async with run.conn.transaction():
        await events.emit(
            run.conn,
            event_type,
            source="simulator",
            entity_type="scenario",
            entity_id=run.name,
            payload=payload,
        )


async def play(engine: Stage, name: str, *, solve_seconds: float = 5.0) -> ScenarioReport:
    """Stage a scenario and step the clock through its hour; its report."""
    run = await stage(engine, name, solve_seconds=solve_seconds)
    await engine.step(MINUTES + engine.config.tick_s / 60)
    return run.report()
