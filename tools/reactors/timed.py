"""Plant rules that fire on the plant clock rather than on an event, next to the event reactors
(`rules`). The leading service process runs a round of them every few seconds whether the world
is simulated or fed by real machines (`titan serve --no-sim`); tests run a round at a moment of
their choosing.

- Heartbeats: a RUNNING or IDLE machine whose last heartbeat is older than
  `TITAN_HEARTBEAT_TIMEOUT_S` goes DOWN, with a `machine.down` event and an audit row
  (`tools.machine_data.status.mark_stale_machines_down`); a machine already DOWN is left alone,
  so a round repeated changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from tools.core.db import AsyncConn
from tools.core.operations import Actor
from tools.core.settings import Settings
from tools.machine_data.status import mark_stale_machines_down

RULES = Actor(type="reactor", id="titan-plant-rules")


async def run_round(
    conn: AsyncConn, settings: Settings, *, now: datetime | None = None
) -> dict[str, int]:
    """One round of the timed rules at `now` (default: the plant clock); what each changed."""
    down = await mark_stale_machines_down(
        conn, RULES, timeout_s=settings.heartbeat_timeout_s, as_of=now
    )
    return {"machines_down": len(down)}
