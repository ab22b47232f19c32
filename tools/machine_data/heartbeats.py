"""Heartbeats over time: how reliably each machine is heard, and the risk that shows.

Every heartbeat stored (a heartbeat message, or a batch of readings: `sensors.move_heartbeats`)
is kept in `machine_heartbeats` with the machine's own time and the time Titan stored it, for
`TITAN_HEARTBEAT_HISTORY_H` (the timed rules prune older ones). Over the window
(`TITAN_HEARTBEAT_WINDOW_S`, counted from when the machine last changed status) a machine's
record is:

- missed beats: each gap between two beats, and the gap since the last one, holds
  round(gap / interval) - 1 beats that never came (`TITAN_HEARTBEAT_INTERVAL_S`); the error rate is
  missed / (missed + received);
- delay: how long a beat took to be stored, the window's second half against its first.

From them, for a running or idle machine with at least `MIN_EVIDENCE` beats expected:

- connectivity DEGRADED when the error rate is above `TITAN_HEARTBEAT_DEGRADED_RATE`, OK again
  once it is below half of it (so a machine on the edge does not flap);
- risk HIGH when the error rate is above 0.1, MEDIUM when the delay rises (by half and at least
  a second), else LOW. A HIGH-risk machine with work queued on it names the machines of its
  work center that could take the work (a pre-emptive reschedule).

A facility's risk is judged the same way over the beats of all its running and idle machines.
`judge_heartbeats` writes connectivity and risk that changed, each with an event and an audit row.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.errors import NotFoundError
from tools.core.operations import Actor, atomic, record
from tools.core.settings import Settings

Connectivity = Literal["OK", "DEGRADED"]
Risk = Literal["LOW", "MEDIUM", "HIGH"]
CONNECTIVITIES: tuple[Connectivity, ...] = ("OK", "DEGRADED")
RISKS: tuple[Risk, ...] = ("LOW", "MEDIUM", "HIGH")
HIGH_RISK_RATE = 0.1
RISING_DELAY_S = 1.0
RISING_DELAY_SHARE = 0.5
MIN_EVIDENCE = 5  # beats expected in the window before a machine is judged
JUDGED_STATUSES = ("RUNNING", "IDLE")


class HeartbeatRecord(BaseModel):
    """How reliably a machine was heard over the window, and the risk that shows."""

    machine_id: str
    facility_id: str
    work_center_id: str
    machine_status: str
    connectivity: Connectivity = Field(description="As last judged and stored.")
    risk: Risk = Field(description="As judged now.")
    window_start: datetime
    window_end: datetime
    beats: int
    missed: int
    error_rate: float | None = Field(description="missed / (missed + received); None: no beat.")
    delay_s: float | None = Field(description="Mean delay of the window's second half.")
    delay_rise_s: float | None = Field(description="Second half's mean delay less the first's.")
    last_heartbeat_at: datetime | None
    judged: bool = Field(description="Enough beats were expected in the window to judge.")
    reasons: list[str]
    suggestion: str | None = Field(
        default=None, description="For a HIGH risk with work queued: where the work could go."
    )


class FacilityRisk(BaseModel):
    facility_id: str
    risk: Risk
    machines: int = Field(description="Running and idle machines judged.")
    beats: int
    missed: int
    error_rate: float | None
    delay_rise_s: float | None
    high: list[str]
    medium: list[str]


class HeartbeatChange(BaseModel):
    machine_id: str
    what: Literal["connectivity", "risk"]
    before: str
    after: str
    reason: str


async def record_heartbeats(conn: AsyncConn, newest: Mapping[str, datetime]) -> None:
    """Keep each machine's heartbeat at its time here (a beat stored twice is kept once)."""
    if not newest:
        return
    await conn.execute(
        "insert into machine_heartbeats (machine_id, at, received_at) "
        "select h.machine_id, h.at, %(now)s from unnest(%(ids)s::text[], %(ts)s::timestamptz[]) "
        "as h(machine_id, at) join equipment e using (machine_id) "
        "on conflict (machine_id, at) do nothing",
        {"ids": list(newest), "ts": list(newest.values()), "now": clock.now()},
    )


async def prune_heartbeats(conn: AsyncConn, settings: Settings, *, now: datetime) -> int:
    """Drop heartbeats older than the history setting; how many."""
    cur = await conn.execute(
        "delete from machine_heartbeats where at < %s",
        (now - timedelta(hours=settings.heartbeat_history_h),),
    )
    return cur.rowcount


_WINDOW = """
with m as (
    select machine_id, facility_id, work_center_id, status, connectivity, last_heartbeat_at,
        -- judged from the window's start, the machine's last status change or its first beat
        -- on record, whichever is last (a history just begun has missed nothing)
        greatest(%(since)s, status_changed_at, f.first_ever) as since, f.first_ever
    from equipment e
    left join lateral (
        select min(h.at) as first_ever from machine_heartbeats h where h.machine_id = e.machine_id
    ) f on true
    where (%(ids)s::text[] is null or machine_id = any(%(ids)s))
      and (%(f)s::text is null or facility_id = %(f)s)
), b as (
    select h.machine_id, h.at, extract(epoch from h.received_at - h.at) as delay,
        lag(h.at) over (partition by h.machine_id order by h.at) as prev
    from machine_heartbeats h join m using (machine_id)
    where h.at >= m.since and h.at <= %(now)s
)
select m.*, count(b.at)::int as beats,
    coalesce(sum(greatest(0, round(extract(epoch from b.at - b.prev) / %(interval)s) - 1))
        filter (where b.prev is not null), 0)::int as missed_between,
    min(b.at) as first_at, max(b.at) as last_at,
    avg(b.delay) filter (where b.at < m.since + (%(now)s - m.since) / 2) as delay_early,
    avg(b.delay) filter (where b.at >= m.since + (%(now)s - m.since) / 2) as delay_late
from m left join b using (machine_id)
group by m.machine_id, m.facility_id, m.work_center_id, m.status, m.connectivity,
    m.last_heartbeat_at, m.since, m.first_ever
order by m.machine_id
"""


def _rising(early: float | None, late: float | None) -> float | None:
    return None if early is None or late is None else late - early


def _risk(error_rate: float | None, rise: float | None, early: float | None) -> Risk:
    if error_rate is not None and error_rate > HIGH_RISK_RATE:
        return "HIGH"
    if rise is not None and early is not None:
        if rise >= RISING_DELAY_S and rise >= RISING_DELAY_SHARE * max(early, 0.0):
            return "MEDIUM"
    return "LOW"


async def heartbeat_records(
    conn: AsyncConn,
    settings: Settings,
    *,
    machine_ids: Sequence[str] | None = None,
    facility_id: str | None = None,
    now: datetime | None = None,
) -> list[HeartbeatRecord]:
    """Each machine's heartbeat record over the window ending `now` (default: plant time)."""
    end = now or clock.now()
    interval = settings.heartbeat_interval_s
    cur = await conn.execute(
        _WINDOW,
        {
            "since": end - timedelta(seconds=settings.heartbeat_window_s),
            "now": end,
            "interval": interval,
            "ids": None if machine_ids is None else list(machine_ids),
            "f": facility_id,
        },
    )
    rows = await cur.fetchall()
    if machine_ids is not None:
        missing = sorted(set(machine_ids) - {r["machine_id"] for r in rows})
        if missing:
            raise NotFoundError(f"machines {', '.join(missing)} do not exist", entity="machine")
    records = [_record(r, end, interval) for r in rows]
    for r in records:
        if r.risk == "HIGH" and r.machine_status in JUDGED_STATUSES:
            r.suggestion = await _move_suggestion(conn, r, end)
    return records


def _record(row: Mapping[str, object], end: datetime, interval: float) -> HeartbeatRecord:
    since = row["since"]
    assert isinstance(since, datetime)
    beats = int(str(row["beats"]))
    first, last = row["first_at"], row["last_at"]
    missed = int(str(row["missed_between"]))
    if isinstance(first, datetime) and isinstance(last, datetime):
        # before the first beat of the window, and since the last one: only whole beats late
        missed += _late_beats((first - since).total_seconds(), interval)
        missed += _late_beats((end - last).total_seconds(), interval)
    else:
        missed += _late_beats((end - since).total_seconds(), interval)
    expected = missed + beats
    on_record = row["first_ever"] is not None
    judged = row["status"] in JUDGED_STATUSES and on_record and expected >= MIN_EVIDENCE
    error_rate = missed / expected if expected else None
    early = _float(row["delay_early"])
    late = _float(row["delay_late"])
    rise = _rising(early, late)
    risk: Risk = _risk(error_rate, rise, early) if judged else "LOW"
    reasons: list[str] = []
    if row["status"] not in JUDGED_STATUSES:
        reasons.append(f"machine is {row['status']}")
    elif not on_record:
        reasons.append("no heartbeat on record yet")
    elif not judged:
        reasons.append(f"too few heartbeats expected since {since:%H:%M} to judge")
    else:
        reasons.append(
            f"{missed} of {expected} heartbeats missed since {since:%H:%M} "
            f"(error rate {error_rate:.2f})"
        )
        if rise is not None and late is not None:
            reasons.append(f"delay {late:.1f} s, {rise:+.1f} s against the window's first half")
    return HeartbeatRecord(
        machine_id=str(row["machine_id"]),
        facility_id=str(row["facility_id"]),
        work_center_id=str(row["work_center_id"]),
        machine_status=str(row["status"]),
        connectivity=row["connectivity"],  # type: ignore[arg-type]
        risk=risk,
        window_start=since,
        window_end=end,
        beats=beats,
        missed=missed,
        error_rate=None if error_rate is None else round(error_rate, 3),
        delay_s=None if late is None else round(late, 2),
        delay_rise_s=None if rise is None else round(rise, 2),
        last_heartbeat_at=row["last_heartbeat_at"],  # type: ignore[arg-type]
        judged=judged,
        reasons=reasons,
    )


def _late_beats(gap_s: float, interval: float) -> int:
    """Beats that should have come in an open gap: one is due `interval` after the last."""
    return max(0, math.floor(gap_s / interval) - 1)


def _float(value: object) -> float | None:
    return None if value is None else float(str(value))


async def queued_operations(conn: AsyncConn, machine_id: str, now: datetime) -> int:
    """Operations of the schedule in force on the machine that are not finished by `now`."""
    cur = await conn.execute(
        "select count(*)::int as n from schedule_slots p join schedules s using (schedule_id) "
        "where s.status = 'APPLIED' and p.machine_id = %s and p.ends_at > %s",
        (machine_id, now),
    )
    row = await cur.fetchone()
    return int(row["n"]) if row else 0


async def _move_suggestion(conn: AsyncConn, r: HeartbeatRecord, now: datetime) -> str | None:
    queued = await queued_operations(conn, r.machine_id, now)
    if queued == 0:
        return None
    cur = await conn.execute(
        "select machine_id from equipment where work_center_id = %s and machine_id <> %s "
        "and status in ('RUNNING', 'IDLE') and heartbeat_risk <> 'HIGH' order by machine_id",
        (r.work_center_id, r.machine_id),
    )
    others = [x["machine_id"] for x in await cur.fetchall()]
    if not others:
        return (
            f"{queued} operations are queued on {r.machine_id} and no other machine of "
            f"{r.work_center_id} is up with steady heartbeats"
        )
    return (
        f"{queued} operations are queued on {r.machine_id}; {', '.join(others)} "
        f"({r.work_center_id}) could take them: propose a reschedule of {r.machine_id}"
    )


async def facility_risks(
    conn: AsyncConn, settings: Settings, *, now: datetime | None = None
) -> list[FacilityRisk]:
    """Each facility's risk over the beats of its running and idle machines."""
    records = await heartbeat_records(conn, settings, now=now)
    by_facility: dict[str, list[HeartbeatRecord]] = {}
    for r in records:
        by_facility.setdefault(r.facility_id, []).append(r)
    risks: list[FacilityRisk] = []
    for facility_id, members in sorted(by_facility.items()):
        judged = [r for r in members if r.judged]
        beats = sum(r.beats for r in judged)
        missed = sum(r.missed for r in judged)
        rate = missed / (beats + missed) if beats + missed else None
        rises = [r.delay_rise_s for r in judged if r.delay_rise_s is not None]
        early = [
            (r.delay_s or 0.0) - (r.delay_rise_s or 0.0)
            for r in judged
            if r.delay_rise_s is not None
        ]
        rise = sum(rises) / len(rises) if rises else None
        base = sum(early) / len(early) if early else None
        risks.append(
            FacilityRisk(
                facility_id=facility_id,
                risk=_risk(rate, rise, base) if judged else "LOW",
                machines=len(judged),
                beats=beats,
                missed=missed,
                error_rate=None if rate is None else round(rate, 3),
                delay_rise_s=None if rise is None else round(rise, 2),
                high=[r.machine_id for r in judged if r.risk == "HIGH"],
                medium=[r.machine_id for r in judged if r.risk == "MEDIUM"],
            )
        )
    return risks


async def judge_heartbeats(
    conn: AsyncConn, actor: Actor, settings: Settings, *, now: datetime | None = None
) -> list[HeartbeatChange]:
    """Store each judged machine's connectivity and risk where they changed, with an event and
    an audit row each: `machine.degraded`, `machine.connectivity_restored`,
    `machine.risk_changed` (its payload carries the suggestion for a HIGH risk)."""
    changes: list[HeartbeatChange] = []
    async with atomic(conn):
        for r in await heartbeat_records(conn, settings, now=now):
            if not r.judged or r.error_rate is None:
                continue
            connectivity = r.connectivity
            if r.error_rate > settings.heartbeat_degraded_rate:
                connectivity = "DEGRADED"
            elif r.error_rate < settings.heartbeat_degraded_rate / 2:
                connectivity = "OK"
            if connectivity != r.connectivity:
                changes.append(await _connectivity(conn, actor, r, connectivity))
            cur = await conn.execute(
                "select heartbeat_risk from equipment where machine_id = %s for update",
                (r.machine_id,),
            )
            row = await cur.fetchone()
            if row is not None and row["heartbeat_risk"] != r.risk:
                changes.append(await _risk_change(conn, actor, r, row["heartbeat_risk"]))
    return changes


async def _connectivity(
    conn: AsyncConn, actor: Actor, r: HeartbeatRecord, to: Connectivity
) -> HeartbeatChange:
    reason = "; ".join(r.reasons)
    await conn.execute(
        "update equipment set connectivity = %s where machine_id = %s", (to, r.machine_id)
    )
    await record(
        conn, actor,
        event_type="machine.degraded" if to == "DEGRADED" else "machine.connectivity_restored",
        entity_type="equipment", entity_id=r.machine_id, action="set_connectivity",
        before={"connectivity": r.connectivity}, after={"connectivity": to},
        payload={"connectivity": to, "error_rate": r.error_rate, "reason": reason},
    )  # fmt: skip
    return HeartbeatChange(
        machine_id=r.machine_id, what="connectivity", before=r.connectivity, after=to,
        reason=reason,
    )  # fmt: skip


async def _risk_change(
    conn: AsyncConn, actor: Actor, r: HeartbeatRecord, before: str
) -> HeartbeatChange:
    reason = "; ".join(r.reasons)
    await conn.execute(
        "update equipment set heartbeat_risk = %s where machine_id = %s", (r.risk, r.machine_id)
    )
    await record(
        conn, actor, event_type="machine.risk_changed", entity_type="equipment",
        entity_id=r.machine_id, action="set_heartbeat_risk",
        before={"heartbeat_risk": before}, after={"heartbeat_risk": r.risk},
        payload={"risk": r.risk, "error_rate": r.error_rate, "delay_rise_s": r.delay_rise_s,
                 "reason": reason, "suggestion": r.suggestion},
    )  # fmt: skip
    return HeartbeatChange(
        machine_id=r.machine_id, what="risk", before=before, after=r.risk, reason=reason
    )
