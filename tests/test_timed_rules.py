"""The plant's timed rules run in the service, on the plant clock, with no simulation: a machine
that stops sending heartbeats goes DOWN once the timeout passes — one event, one audit row — and
a round repeated changes nothing more; one that keeps beating stays up."""

from __future__ import annotations

from datetime import timedelta

import anyio
import pytest
from api_helpers import committed_rows as _rows
from api_helpers import running_app

from api.http.app import timed_rules_round
from api.http.service import Service
from tools.core import db
from tools.core.clock import FixedClock
from tools.core.operations import Actor
from tools.core.settings import get_settings
from tools.inventory.reservations import order_reservations, reserve_stock
from tools.machine_data import heartbeats
from tools.machine_data.sensors import move_heartbeats
from tools.maintenance.health import machine_health
from tools.reactors import timed

pytestmark = pytest.mark.anyio
RULES_TEST = Actor(type="user", id="planner")


async def test_a_machine_that_falls_silent_goes_down_once_the_timeout_passes(
    plant: db.AsyncConn, db_url: str, fixed_clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
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

    assert early["machines_down"] == 0
    assert late["machines_down"] == 1 and again["machines_down"] == 0
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


async def _beat(conn: db.AsyncConn, beats: dict[str, object]) -> None:
    await move_heartbeats(conn, beats)  # type: ignore[arg-type]
    await conn.commit()


async def test_a_flapping_machine_goes_degraded_and_high_risk_and_recovers_when_steady(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    settings = get_settings()
    await plant.execute("update equipment set status = 'RUNNING', status_changed_at = %s",
                        (fixed_clock.now(),))  # fmt: skip
    await plant.commit()
    machines = [r["machine_id"] for r in await _rows(plant, "select machine_id from equipment")]
    flapping, slowing = "PHX-CNC-007", "DET-CNC-002"
    rounds = []
    for minute in range(1, 31):  # half an hour of beats, a minute apart
        fixed_clock.advance(timedelta(minutes=1))
        now = fixed_clock.now()
        beats: dict[str, object] = {m: now for m in machines if m not in (flapping, slowing)}
        if minute % 3 == 0:  # two beats of three never come
            beats[flapping] = now
        beats[slowing] = now - timedelta(seconds=minute)  # each beat a second later
        await _beat(plant, beats)
        rounds.append(await timed.run_round(plant, settings))

    [flap] = await heartbeats.heartbeat_records(plant, settings, machine_ids=[flapping])
    [slow] = await heartbeats.heartbeat_records(plant, settings, machine_ids=[slowing])
    steady = await heartbeats.heartbeat_records(plant, settings, facility_id="MUC")
    facilities = {f.facility_id: f for f in await heartbeats.facility_risks(plant, settings)}
    stored = await _rows(
        plant,
        "select machine_id, status, connectivity, heartbeat_risk from equipment "
        "where machine_id in (%s, %s)",
        flapping,
        slowing,
    )

    assert all(r["machines_down"] == 0 for r in rounds)  # a gap of 3 minutes is not silence
    assert (flap.risk, flap.connectivity) == ("HIGH", "DEGRADED")
    assert slow.risk == "MEDIUM" and slow.error_rate == 0.0 and (slow.delay_rise_s or 0) > 10
    assert {(m.risk, m.connectivity) for m in steady} == {("LOW", "OK")}
    # Its first beat came at minute 3; then 2 of every 3 missed: 18 missed, 10 came.
    assert (flap.beats, flap.missed, flap.error_rate) == (10, 18, round(18 / 28, 3))
    # A facility is judged on all its beats: its nine steady machines sent 270 more.
    assert (facilities["PHX"].beats, facilities["PHX"].missed) == (280, 18)
    assert facilities["PHX"].risk == "LOW"
    assert facilities["PHX"].high == [flapping]
    assert facilities["MUC"].risk == "LOW"
    assert {r["machine_id"]: (r["status"], r["connectivity"], r["heartbeat_risk"])
            for r in stored} == {flapping: ("RUNNING", "DEGRADED", "HIGH"),
                                 slowing: ("RUNNING", "OK", "MEDIUM")}  # fmt: skip
    degraded = await _rows(plant, "select entity_id from event_log where type = 'machine.degraded'")
    assert degraded == [{"entity_id": flapping}]  # once, however many rounds saw it
    judged = await machine_health(plant, flapping)
    assert judged.status == "DEGRADED"
    assert "heartbeats intermittent (connectivity DEGRADED)" in judged.reasons

    # Steady again for the next half hour: back to OK and LOW, once each.
    for _ in range(30):
        fixed_clock.advance(timedelta(minutes=1))
        await _beat(plant, {flapping: fixed_clock.now()})
        await timed.run_round(plant, settings)
    [back] = await heartbeats.heartbeat_records(plant, settings, machine_ids=[flapping])
    assert (back.risk, back.connectivity, back.error_rate) == ("LOW", "OK", 0.0)
    changes = await _rows(
        plant,
        "select type from event_log where entity_id = %s and type like 'machine.%%' "
        "order by event_id",
        flapping,
    )
    # DEGRADED and HIGH in the same round; LOW (at 0.1) a little before OK (below 0.1)
    assert [c["type"] for c in changes] == [
        "machine.degraded", "machine.risk_changed",
        "machine.risk_changed", "machine.connectivity_restored",
    ]  # fmt: skip
    audited = await _rows(
        plant,
        "select action from audit_log where entity_id = %s and actor_id = 'titan-plant-rules' "
        "order by audit_id",
        flapping,
    )
    assert [a["action"] for a in audited] == [
        "set_connectivity", "set_heartbeat_risk", "set_heartbeat_risk", "set_connectivity",
    ]  # fmt: skip
    # A day later the first half hour's beats are pruned; the second half hour's are kept.
    history = timedelta(hours=settings.heartbeat_history_h)
    later = fixed_clock.now() + history - timedelta(minutes=30)
    pruned = await heartbeats.prune_heartbeats(plant, settings, now=later)
    left = await _rows(plant, "select count(*) as n, min(at) as first from machine_heartbeats")
    # before minute 30: 22 steady machines x 29 beats, the slowing one's 30, the flapping one's 9
    assert pruned == 22 * 29 + 30 + 9
    assert left[0]["n"] == 23 + 30 and left[0]["first"] == later - history


async def test_stock_reserved_too_long_without_production_is_released_by_the_rules(
    plant: db.AsyncConn, fixed_clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TITAN_RESERVATION_HOLD", "PT48H")
    get_settings.cache_clear()
    settings = get_settings()
    free = "select on_hand - reserved as free from stock_levels where sku = %s and facility_id = %s"
    [before] = await _rows(plant, free, "SKU-MH-4001", "DET")
    await reserve_stock(plant, RULES_TEST, "ORD-10019")  # 329 held at DET
    await plant.commit()
    held = await order_reservations(plant, "ORD-10019")
    # ORD-10017 is reserved a day later; it is still within its hold when ORD-10019's expires.
    fixed_clock.advance(timedelta(hours=24))
    await reserve_stock(plant, RULES_TEST, "ORD-10017")
    await plant.commit()

    fixed_clock.advance(timedelta(hours=23))
    early = await timed.run_round(plant, settings)
    fixed_clock.advance(timedelta(hours=2))  # 49 h after ORD-10019's, 25 h after ORD-10017's
    due = await timed.run_round(plant, settings)
    again = await timed.run_round(plant, settings)

    assert [h.expires_at for h in held] == [h.created_at + timedelta(hours=48) for h in held]
    assert early["reservations_expired"] == 0
    assert due["reservations_expired"] == 1 and again["reservations_expired"] == 0
    assert {r.status for r in await order_reservations(plant, "ORD-10019")} == {"RELEASED"}
    assert {r.status for r in await order_reservations(plant, "ORD-10017")} == {"RESERVED"}
    assert await _rows(plant, free, "SKU-MH-4001", "DET") == [before]  # the stock is free
    [order] = await _rows(plant, "select status from orders where order_id = 'ORD-10019'")
    assert order == {"status": "VALIDATED"}
    moved = await _rows(
        plant,
        "select type, payload->>'reason' as reason from event_log "
        "where entity_id = 'ORD-10019' and type in ('stock.released', 'order.reservation_expired') "
        "order by event_id",
    )
    assert [m["type"] for m in moved] == ["stock.released", "order.reservation_expired"]
    assert moved[0]["reason"] == "the reservation expired before production started"
