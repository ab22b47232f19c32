"""Plant rules that fire on the plant clock rather than on an event, next to the event reactors
(`rules`). The leading service process runs a round of them every few seconds whether the world
is simulated or fed by real machines (`titan serve --no-sim`); tests run a round at a moment of
their choosing.

- Heartbeats: a RUNNING or IDLE machine whose last heartbeat is older than
  `TITAN_HEARTBEAT_TIMEOUT_S`, or that missed `TITAN_HEARTBEAT_MISSED_BEATS` beats in a row, goes
  DOWN, with a `machine.down` event and an audit row
  (`tools.machine_data.status.mark_stale_machines_down`); a machine already DOWN is left alone,
  so a round repeated changes nothing.
- Connectivity and risk from the heartbeat history (`tools.machine_data.heartbeats`): DEGRADED
  while beats come intermittently, risk HIGH / MEDIUM / LOW; changes are events and audit rows.
  The history is pruned to `TITAN_HEARTBEAT_HISTORY_H`.
- Reservations: stock still RESERVED past its expiry (`TITAN_RESERVATION_HOLD` after it was
  reserved) is released, and the order goes back to VALIDATED
  (`tools.inventory.reservations.expire_reservations`).
- Failover back: a machine that failed over and is healthy again gets its rebalance proposed
  (`tools.reactors.failover`).
"""

from __future__ import annotations

from datetime import datetime

from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.operations import Actor
from tools.core.settings import Settings
from tools.inventory.reservations import expire_reservations
from tools.machine_data.heartbeats import judge_heartbeats, prune_heartbeats
from tools.machine_data.status import mark_stale_machines_down
from tools.reactors.failover import rebalance_recovered

RULES = Actor(type="reactor", id="titan-plant-rules")


def silence_limit_s(settings: Settings) -> float:
    """How long a machine may be silent before it counts as DOWN: the timeout, or the missed
    beats in a row, whichever comes first."""
    return min(
        settings.heartbeat_timeout_s,
        settings.heartbeat_interval_s * settings.heartbeat_missed_beats,
    )


async def run_round(
    conn: AsyncConn,
    settings: Settings,
    *,
    now: datetime | None = None,
    silence_s: float | None = None,
) -> dict[str, int]:
    """One round of the timed rules at `now` (default: the plant clock); what each changed.
    `silence_s` overrides how long a machine may be silent (the simulation's own setting)."""
    at = now or clock.now()
    limit = silence_limit_s(settings) if silence_s is None else silence_s
    down = await mark_stale_machines_down(conn, RULES, timeout_s=limit, as_of=at)
    judged = await judge_heartbeats(conn, RULES, settings, now=at)
    expired = await expire_reservations(conn, RULES, now=at)
    rebalanced = await rebalance_recovered(conn, settings, now=at)
    async with conn.transaction():
        pruned = await prune_heartbeats(conn, settings, now=at)
    return {
        "machines_down": len(down),
        "degraded": sum(1 for c in judged if c.what == "connectivity" and c.after == "DEGRADED"),
        "restored": sum(1 for c in judged if c.what == "connectivity" and c.after == "OK"),
        "risk_changes": sum(1 for c in judged if c.what == "risk"),
        "reservations_expired": sum(len(e.released) for e in expired),
        "failovers_closed": len(rebalanced),
        "heartbeats_pruned": pruned,
    }
