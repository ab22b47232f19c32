"""Simulation control: the engine's status, scenarios, fault patterns, rates, pause and reset.

Commands go through the engine's command queue (`simulation.state`), so they reach the engine
wherever it runs: inside this service, in another replica, or in a `titan sim run`. A command
waits up to `WAIT_S` for the engine to carry it out (202 when it has not yet); with no engine
running it is refused with 409. Fault patterns are written straight to the ground-truth table,
which the engine reads every tick.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from api.http.auth import needs
from api.http.body import Body
from api.http.service import Service, service_of
from simulation import state
from simulation.config import GeneratorName
from simulation.lock import holder
from simulation.scenarios.run import ScenarioName
from simulation.world.faults import GroundTruth, end_faults, start_fault
from simulation.world.signals import PATTERNS, Pattern
from tools.accounts.accounts import Principal
from tools.accounts.permissions import Permission as P
from tools.core import clock
from tools.core.errors import ConflictError, ValidationError
from tools.demo import plant as demo_plant
from tools.machine_data.dead_letters import dead_letter_counts
from tools.machine_data.ingest_status import IngestStatus, ingest_statuses

log = logging.getLogger(__name__)

router = APIRouter(prefix="/sim", tags=["simulation"])

WAIT_S = 10.0
POLL_S = 0.1


class CommandOutcome(BaseModel):
    """A command queued for the engine and, once carried out, its result."""

    command_id: int
    command: str
    done: bool
    result: dict[str, JsonValue] | None = None


async def _command(
    service: Service, command: state.Command, args: dict[str, JsonValue]
) -> CommandOutcome:
    async with service.pool.connection() as conn:
        async with conn.transaction():
            running = await holder(conn)
        if running is None:
            raise ConflictError(
                "no simulation engine is running on this database; start `titan serve` without "
                "--no-sim, or `titan sim run`"
            )
        queued = await state.enqueue(conn, command, args)
        result: dict[str, JsonValue] | None = None
        with suppress(TimeoutError):
            async with asyncio.timeout(WAIT_S):
                while result is None:
                    async with conn.transaction():
                        result = await state.command_result(conn, queued)
                    if result is None:
                        await asyncio.sleep(POLL_S)
    if result is not None and result.get("ok") is False:
        raise ValidationError(f"the engine refused {command}: {result.get('error')}")
    return CommandOutcome(
        command_id=queued, command=command, done=result is not None, result=result
    )


def _answer(outcome: CommandOutcome, response: Response) -> CommandOutcome:
    if not outcome.done:
        response.status_code = 202
    return outcome


class SimStatusPage(state.SimStatus):
    """The engine's status, and how the machine-data ingests fare (real or simulated machines
    publishing over MQTT or OPC UA)."""

    ingests: list[IngestStatus]
    dead_letters: dict[str, int]


@router.get("/status", response_model=SimStatusPage, summary="The engine's status")
async def status(request: Request, _: Annotated[Principal, needs(P.REPORT_VIEW)]) -> SimStatusPage:
    """Running or not, seed, speed, paused, plant time, generators and rates, faults in play;
    each ingest's connection, messages/s, lag and counts, and the dead letters by kind."""
    async with service_of(request).pool.connection() as conn, conn.transaction():
        engine = await state.status(conn)
        return SimStatusPage(
            **engine.model_dump(),
            ingests=await ingest_statuses(conn),
            dead_letters=await dead_letter_counts(conn),
        )


@router.post("/scenarios/{name}", response_model=CommandOutcome, summary="Stage a scenario")
async def scenario(
    request: Request,
    response: Response,
    name: Annotated[ScenarioName, Path(description="The scenario.")],
    _: Annotated[Principal, needs(P.SIM_CONTROL)],
) -> CommandOutcome:
    """Stage a scenario (phoenix-incident, boeing-expedite, …); its steps run in plant time."""
    return _answer(await _command(service_of(request), "scenario", {"name": name}), response)


class PatternRequest(Body):
    pattern: Pattern | None = Field(
        description=f"One of {', '.join(PATTERNS)}; null ends the faults in play."
    )
    fails_in_hours: float = Field(
        default=24.0, ge=0.1, le=24 * 60, description="Plant hours until the machine fails."
    )
    replace: bool = Field(default=True, description="End a fault already in play first.")


class PatternOutcome(BaseModel):
    machine_id: str
    fault: GroundTruth | None
    ended: int = 0


@router.post(
    "/equipment/{machine_id}/pattern",
    response_model=PatternOutcome,
    summary="Start (or end) a degradation pattern",
)
async def pattern(
    request: Request,
    machine_id: Annotated[str, Path(max_length=100)],
    body: PatternRequest,
    _: Annotated[Principal, needs(P.SIM_CONTROL)],
) -> PatternOutcome:
    """Make a machine degrade along a fault pattern, failing after `fails_in_hours`."""
    async with service_of(request).pool.connection() as conn:
        now = clock.now()
        if body.pattern is None:
            async with conn.transaction():
                ended = await end_faults(conn, machine_id, at=now)
            return PatternOutcome(machine_id=machine_id, fault=None, ended=ended)
        fault = await start_fault(
            conn,
            machine_id=machine_id,
            pattern=body.pattern,
            failure_at=now + timedelta(hours=body.fails_in_hours),
            source="scenario",
            replace=body.replace,
        )
    return PatternOutcome(machine_id=machine_id, fault=fault)


class RatesRequest(Body):
    # At least one change, said in the schema as well as checked below.
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["rates"], "properties": {"rates": {"minProperties": 1}}},
                {"required": ["enabled"], "properties": {"enabled": {"minProperties": 1}}},
                {"required": ["speed"], "properties": {"speed": {"type": "number"}}},
            ]
        }
    )

    rates: dict[GeneratorName, Annotated[float, Field(ge=0)]] = Field(default_factory=dict)
    enabled: dict[GeneratorName, bool] = Field(default_factory=dict)
    speed: float | None = Field(default=None, gt=0, le=86_400)


@router.post("/rates", response_model=list[CommandOutcome], summary="Set rates, switches, speed")
async def rates(
    request: Request,
    response: Response,
    body: RatesRequest,
    _: Annotated[Principal, needs(P.SIM_CONTROL)],
) -> list[CommandOutcome]:
    """Change generator rates (see /sim/status for what each means), switch generators on or
    off, and set the speed (plant seconds per real second)."""
    if not (body.rates or body.enabled or body.speed is not None):
        raise ValidationError("give at least one of rates, enabled or speed")
    service = service_of(request)
    done: list[CommandOutcome] = []
    for name, rate in body.rates.items():
        done.append(await _command(service, "rate", {"generator": name, "value": rate}))
    for name, on in body.enabled.items():
        done.append(await _command(service, "enable" if on else "disable", {"generator": name}))
    if body.speed is not None:
        done.append(await _command(service, "speed", {"value": body.speed}))
    if not all(c.done for c in done):
        response.status_code = 202
    return done


@router.post("/pause", response_model=CommandOutcome, summary="Pause the engine")
async def pause(
    request: Request, response: Response, _: Annotated[Principal, needs(P.SIM_CONTROL)]
) -> CommandOutcome:
    return _answer(await _command(service_of(request), "pause", {}), response)


@router.post("/resume", response_model=CommandOutcome, summary="Resume the engine")
async def resume(
    request: Request, response: Response, _: Annotated[Principal, needs(P.SIM_CONTROL)]
) -> CommandOutcome:
    return _answer(await _command(service_of(request), "resume", {}), response)


class ResetRequest(Body):
    seed: int | None = Field(default=None, ge=0, description="Default: the engine's seed.")


@router.post("/reset", response_model=CommandOutcome, summary="Reset the plant")
async def reset(
    request: Request,
    response: Response,
    who: Annotated[Principal, needs(P.PLANT_RESET)],
    body: ResetRequest | None = None,
) -> CommandOutcome:
    """Return the plant to the demo plant of the seed; the engine starts over. The reset wipes
    the events and the audit trail with the plant; `plant_resets` keeps who reset it, when,
    and what it wiped."""
    args: dict[str, JsonValue] = {"by": who.user_id}
    if body is not None and body.seed is not None:
        args["seed"] = body.seed
    return _answer(await _command(service_of(request), "reset", args), response)


@router.get("/resets", response_model=list[demo_plant.PlantReset], summary="Resets of the plant")
async def resets(
    request: Request, _: Annotated[Principal, needs(P.REPORT_VIEW)]
) -> list[demo_plant.PlantReset]:
    """Every reset of the plant, newest first: who, when, the seed, and the rows it wiped (a
    reset wipes the audit trail, never this record)."""
    async with service_of(request).pool.connection() as conn, conn.transaction():
        return await demo_plant.resets(conn)
