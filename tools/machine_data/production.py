"""Production counters per machine and shift, and OEE over a period.

A counter row is keyed by (machine, shift date, shift name): parts, defects and runtime added
during a shift accumulate in its row, and the next shift starts a fresh row at zero — the reset
at shift change. The shift is the one of the machine's work-center calendar running at the given
time (local time of the facility; a night shift belongs to the date it starts on); an OVERTIME
calendar exception counts as a shift named OVERTIME; HOLIDAY and SHUTDOWN exceptions have none.
A new row's planned minutes are the shift's length less its breaks; its ideal cycle time is the
one given, else the machine's previous one.

OEE (per machine, work center and facility, summed over the counters of the period, so that
longer shifts weigh more):

    availability = Σ runtime_minutes / Σ planned_minutes
    performance  = Σ (ideal_cycle_minutes × parts_produced) / Σ runtime_minutes
                   (rows without an ideal cycle time are left out of both sums; capped at 1,
                   since running faster than ideal means the ideal is out of date)
    quality      = (Σ parts_produced − Σ parts_defective) / Σ parts_produced
    OEE          = availability × performance × quality

A factor whose denominator is zero is unknown (None), and so is OEE then.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.errors import NotFoundError, ValidationError
from tools.core.operations import Actor, atomic, idempotent, record


class Shift(BaseModel):
    """The shift a machine works at a time."""

    machine_id: str
    facility_id: str
    shift_date: date
    shift_name: str
    starts_at: datetime
    ends_at: datetime
    planned_minutes: int


class ProductionCounter(BaseModel):
    machine_id: str
    shift_date: date
    shift_name: str
    parts_produced: int
    parts_defective: int
    planned_minutes: int
    runtime_minutes: int
    ideal_cycle_minutes: float | None
    updated_at: datetime


class OeeFigures(BaseModel):
    planned_minutes: int
    runtime_minutes: int
    parts_produced: int
    parts_defective: int
    ideal_minutes: float  # Σ ideal cycle × parts produced, over rows with an ideal cycle
    availability: float | None
    performance: float | None
    quality: float | None
    oee: float | None


Scope = Literal["plant", "facility", "work_center", "machine"]


class OeeReport(BaseModel):
    scope: Scope
    scope_id: str | None
    start: date
    end: date
    total: OeeFigures
    work_centers: dict[str, OeeFigures]
    machines: dict[str, OeeFigures]


# ───────────────────────── shifts ─────────────────────────


async def shift_at(conn: AsyncConn, machine_id: str, *, at: datetime | None = None) -> Shift:
    """The shift `machine_id` works at `at` (now by default); ValidationError when none."""
    at = at or clock.now()
    cur = await conn.execute(
        "select e.machine_id, e.facility_id, f.timezone, w.calendar_id from equipment e "
        "join facilities f using (facility_id) join work_centers w using (work_center_id) "
        "where e.machine_id = %s",
        (machine_id,),
    )
    machine = await cur.fetchone()
    if machine is None:
        raise NotFoundError(
            f"machine {machine_id!r} does not exist; list machines for valid IDs",
            entity="machine",
            id=str(machine_id),
        )
    cur = await conn.execute(
        "select kind, starts_at, ends_at, description from calendar_exceptions "
        "where calendar_id = %(c)s and starts_at <= %(at)s and ends_at > %(at)s "
        "order by kind = 'OVERTIME'",
        {"c": machine["calendar_id"], "at": at},
    )
    exception = await cur.fetchone()
    tz = ZoneInfo(machine["timezone"])
    base = {"machine_id": machine_id, "facility_id": machine["facility_id"]}
    if exception is not None and exception["kind"] != "OVERTIME":
        raise ValidationError(
            f"{machine_id} has no shift at {at.isoformat()}: {exception['kind'].lower()} "
            f"({exception['description'] or 'calendar exception'})"
        )
    if exception is not None:
        starts, ends = exception["starts_at"], exception["ends_at"]
        return Shift.model_validate(base | {
            "shift_date": starts.astimezone(tz).date(), "shift_name": "OVERTIME",
            "starts_at": starts, "ends_at": ends,
            "planned_minutes": int((ends - starts).total_seconds() // 60),
        })  # fmt: skip
    cur = await conn.execute(
        "select s.name, s.day_of_week, s.start_time, s.duration_minutes, "
        "coalesce(sum(b.duration_minutes), 0)::int as break_minutes from shifts s "
        "left join shift_breaks b using (shift_id) where s.calendar_id = %s "
        "group by s.shift_id order by s.start_time",
        (machine["calendar_id"],),
    )
    local = at.astimezone(tz).date()
    for row in await cur.fetchall():
        for day in (local, local - timedelta(days=1)):
            starts = datetime.combine(day, row["start_time"], tzinfo=tz)
            ends = starts + timedelta(minutes=row["duration_minutes"])
            if row["day_of_week"] == day.isoweekday() and starts <= at < ends:
                return Shift.model_validate(base | {
                    "shift_date": day, "shift_name": row["name"], "starts_at": starts,
                    "ends_at": ends,
                    "planned_minutes": row["duration_minutes"] - row["break_minutes"],
                })  # fmt: skip
    raise ValidationError(
        f"{machine_id} has no shift at {at.isoformat()} "
        f"({at.astimezone(tz):%A %H:%M} local time); its calendar is {machine['calendar_id']}"
    )


# ───────────────────────── counters ─────────────────────────

_COUNTER = """machine_id, shift_date, shift_name, parts_produced, parts_defective,
    planned_minutes, runtime_minutes, ideal_cycle_minutes, updated_at"""


async def record_production(
    conn: AsyncConn,
    actor: Actor,
    *,
    machine_id: str,
    parts_produced: int = 0,
    parts_defective: int = 0,
    runtime_minutes: int = 0,
    ideal_cycle_minutes: float | None = None,
    at: datetime | None = None,
    idempotency_key: str | None = None,
) -> ProductionCounter:
    """Add parts, defects and runtime to the counter of the machine's shift at `at` (now)."""
    amounts = {"parts produced": parts_produced, "defective parts": parts_defective,
               "runtime minutes": runtime_minutes}  # fmt: skip
    for name, amount in amounts.items():
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            raise ValidationError(f"{name} must be a whole number of at least 0, got {amount!r}")
    if not any(amounts.values()):
        raise ValidationError("record at least one part, defect or minute of runtime")
    if ideal_cycle_minutes is not None and not 0 < ideal_cycle_minutes < 100_000:
        raise ValidationError(
            f"the ideal cycle time must be above 0 minutes, got {ideal_cycle_minutes}"
        )
    when = at or clock.now()
    if when > clock.now():
        raise ValidationError(f"production cannot be recorded ahead of time ({when.isoformat()})")

    async def run() -> ProductionCounter:
        shift = await shift_at(conn, machine_id, at=when)
        return await _add(conn, actor, shift, parts_produced, parts_defective, runtime_minutes,
                          ideal_cycle_minutes)  # fmt: skip

    async with atomic(conn):
        return await idempotent(conn, idempotency_key, "production.record", ProductionCounter, run)


async def _add(
    conn: AsyncConn, actor: Actor, shift: Shift, produced: int, defective: int, runtime: int,
    cycle: float | None,
) -> ProductionCounter:  # fmt: skip
    key = {"m": shift.machine_id, "d": shift.shift_date, "n": shift.shift_name}
    await conn.execute(
        "insert into production_counters (machine_id, shift_date, shift_name, planned_minutes, "
        "ideal_cycle_minutes, updated_at) values (%(m)s, %(d)s, %(n)s, %(planned)s, "
        "coalesce(%(cycle)s, (select ideal_cycle_minutes from production_counters "
        "where machine_id = %(m)s and ideal_cycle_minutes is not null "
        "order by shift_date desc, updated_at desc limit 1)), %(at)s) on conflict do nothing",
        key | {"planned": shift.planned_minutes, "cycle": cycle, "at": clock.now()},
    )
    cur = await conn.execute(
        f"select {_COUNTER} from production_counters where machine_id = %(m)s "
        "and shift_date = %(d)s and shift_name = %(n)s for update",
        key,
    )
    before = ProductionCounter.model_validate(await cur.fetchone())
    total_produced = before.parts_produced + produced
    total_defective = before.parts_defective + defective
    total_runtime = before.runtime_minutes + runtime
    label = f"{shift.machine_id} {shift.shift_name} shift of {shift.shift_date}"
    if total_defective > total_produced:
        raise ValidationError(
            f"{label}: {total_defective} defective parts would exceed the {total_produced} "
            "produced; defects count parts already produced"
        )
    if total_runtime > before.planned_minutes:
        raise ValidationError(
            f"{label}: {total_runtime} minutes of runtime would exceed the "
            f"{before.planned_minutes} planned minutes"
        )
    cur = await conn.execute(
        "update production_counters set parts_produced = %(p)s, parts_defective = %(df)s, "
        "runtime_minutes = %(r)s, ideal_cycle_minutes = coalesce(%(cycle)s, ideal_cycle_minutes), "
        f"updated_at = %(at)s where machine_id = %(m)s and shift_date = %(d)s "
        f"and shift_name = %(n)s returning {_COUNTER}",
        key | {"p": total_produced, "df": total_defective, "r": total_runtime, "cycle": cycle,
               "at": clock.now()},
    )  # fmt: skip
    after = ProductionCounter.model_validate(await cur.fetchone())
    await record(
        conn, actor, event_type="production.recorded", entity_type="production_counter",
        entity_id=f"{shift.machine_id}/{shift.shift_date}/{shift.shift_name}", action="record",
        before=_counts(before), after=_counts(after),
        payload={"machine_id": shift.machine_id, "added": {"parts_produced": produced,
                 "parts_defective": defective, "runtime_minutes": runtime}},
    )  # fmt: skip
    return after


def _counts(c: ProductionCounter) -> dict[str, Any]:
    return {"parts_produced": c.parts_produced, "parts_defective": c.parts_defective,
            "runtime_minutes": c.runtime_minutes}  # fmt: skip


async def production_counters(
    conn: AsyncConn,
    machine_id: str | None = None,
    *,
    start: date | None = None,
    end: date | None = None,
) -> list[ProductionCounter]:
    """Counters, newest shift first, optionally of one machine and shift dates in [start, end]."""
    cur = await conn.execute(
        f"select {_COUNTER} from production_counters "
        "where (%(m)s::text is null or machine_id = %(m)s) "
        "and (%(s)s::date is null or shift_date >= %(s)s) "
        "and (%(e)s::date is null or shift_date <= %(e)s) "
        "order by shift_date desc, updated_at desc, machine_id",
        {"m": machine_id, "s": start, "e": end},
    )
    return [ProductionCounter.model_validate(r) for r in await cur.fetchall()]


# ───────────────────────── OEE ─────────────────────────


def oee_figures(rows: Iterable[dict[str, Any]]) -> OeeFigures:
    """OEE and its factors over counter rows (see the module docstring for the formulas)."""
    planned = runtime = produced = defective = 0
    ideal = timed_runtime = 0.0
    for r in rows:
        planned += r["planned_minutes"]
        runtime += r["runtime_minutes"]
        produced += r["parts_produced"]
        defective += r["parts_defective"]
        if r["ideal_cycle_minutes"] is not None:
            ideal += float(Decimal(r["ideal_cycle_minutes"]) * r["parts_produced"])
            timed_runtime += r["runtime_minutes"]
    availability = runtime / planned if planned else None
    performance = min(1.0, ideal / timed_runtime) if timed_runtime else None
    quality = (produced - defective) / produced if produced else None
    factors = (availability, performance, quality)
    oee = None
    if availability is not None and performance is not None and quality is not None:
        oee = availability * performance * quality
    return OeeFigures(
        planned_minutes=planned, runtime_minutes=runtime, parts_produced=produced,
        parts_defective=defective, ideal_minutes=round(ideal, 2),
        availability=_r(factors[0]), performance=_r(factors[1]), quality=_r(factors[2]),
        oee=_r(oee),
    )  # fmt: skip


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


async def oee(
    conn: AsyncConn,
    *,
    start: date,
    end: date,
    facility_id: str | None = None,
    work_center_id: str | None = None,
    machine_id: str | None = None,
) -> OeeReport:
    """OEE over the shifts dated `start` to `end` (inclusive) for a machine, a work center, a
    facility or (none named) the plant, with the figures per work center and machine."""
    options: list[tuple[Scope, str | None]] = [
        ("facility", facility_id), ("work_center", work_center_id), ("machine", machine_id)
    ]  # fmt: skip
    named = [(k, v) for k, v in options if v is not None]
    if len(named) > 1:
        raise ValidationError("name one of facility_id, work_center_id or machine_id, not several")
    if end < start:
        raise ValidationError(f"the period must end on or after its start ({start} to {end})")
    scope: Scope = named[0][0] if named else "plant"
    scope_id = named[0][1] if named else None
    column = {"facility": "e.facility_id", "work_center": "e.work_center_id",
              "machine": "e.machine_id", "plant": "null"}[scope]  # fmt: skip
    if scope_id is not None:
        table = {"facility": "facilities", "work_center": "work_centers",
                 "machine": "equipment"}[scope]  # fmt: skip
        cur = await conn.execute(f"select 1 from {table} where {scope}_id = %s", (scope_id,))
        if await cur.fetchone() is None:
            raise NotFoundError(f"{scope.replace('_', ' ')} {scope_id!r} does not exist")
    cur = await conn.execute(
        "select c.machine_id, e.work_center_id, c.planned_minutes, c.runtime_minutes, "
        "c.parts_produced, c.parts_defective, c.ideal_cycle_minutes from production_counters c "
        "join equipment e using (machine_id) where c.shift_date between %(s)s and %(e)s "
        f"and (%(id)s::text is null or {column} = %(id)s)",
        {"s": start, "e": end, "id": scope_id},
    )
    rows = await cur.fetchall()
    by: dict[str, dict[str, list[dict[str, Any]]]] = {"work_center_id": {}, "machine_id": {}}
    for row in rows:
        for key, groups in by.items():
            groups.setdefault(row[key], []).append(row)
    return OeeReport(
        scope=scope, scope_id=scope_id, start=start, end=end, total=oee_figures(rows),
        work_centers={k: oee_figures(v) for k, v in sorted(by["work_center_id"].items())},
        machines={k: oee_figures(v) for k, v in sorted(by["machine_id"].items())},
    )  # fmt: skip
