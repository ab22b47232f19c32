"""The plant's timed rules run in the service, on the plant clock, with no simulation: a machine
that stops sending heartbeats goes DOWN once the timeout passes — one event, one audit row — and
a round repeated changes nothing more; one that keeps beating stays up."""

from __future__ import annotations

from datetime import timedelta

import anyio
import pytest
from api_helpers import running_app

from api.http.app import timed_rules_round
from api.http.service import Service
from tools.core import db
from tools.core.clock import FixedClock
from tools.machine_data.sensors import move_heartbeats

pytestmark = pytest.mark.anyio


async def _rows(conn: db.AsyncConn, sql: str, *params: object) -> list[dict[str, object]]:
    cur = await conn.execute(sql, params)
    rows = await cur.fetchall()
    await conn.commit()
    return rows


async def test_a_machine_that_falls_silent_goes_down_once_the_timeout_passes(
    plant: db.AsyncConn, db_url: str, fixed_clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tools.core.settings import get_settings

    monkeypatch.setenv("TITAN_HEARTBEAT_TIMEOUT_S", "120")
    get_settings.cache_clear()
    await plant.execute("update equipment set status = 'RUNNING', last_heartbeat_at = %s",
                        (fixed_clock.now(),))  # fmt: skip
    await plant.commit()
    with anyio.fail_after(60):
        async with running_app(db_url) as app:
            service: Service = app.state.titan
            fixed_clock.advance(timedelta(seconds=90))
            early = await timed_rules_round(service)
            # Every machine but PHX-CNC-007 keeps beating; it falls silent.
            async with service.pool.connection() as conn:
                beating = [
                    r["machine_id"]
                    for r in await _rows(
                        conn, "select machine_id from equipment where machine_id <> 'PHX-CNC-007'"
                    )
                ]
                await move_heartbeats(conn, {m: fixed_clock.now() for m in beating})
                await conn.commit()
            fixed_clock.advance(timedelta(seconds=60))
            late = await timed_rules_round(service)
            again = await timed_rules_round(service)

    assert early == {"machines_down": 0}
    assert late == {"machines_down": 1} and again == {"machines_down": 0}
    assert await _rows(plant, "select machine_id from equipment where status = 'DOWN'") == [
        {"machine_id": "PHX-CNC-007"}
    ]
    events = await _rows(plant, "select entity_id from event_log where type = 'machine.down'")
    assert events == [{"entity_id": "PHX-CNC-007"}]
    audited = await _rows(
        plant,
        "select actor_id, after->>'status' as status from audit_log "
        "where entity_type = 'equipment' and entity_id = 'PHX-CNC-007' and action = 'set_status'",
    )
    assert audited == [{"actor_id": "titan-plant-rules", "status": "DOWN"}]
