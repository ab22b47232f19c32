"""Machines, their health over a recent window, and heartbeat timeouts."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tools.core import db, events
from tools.core.clock import FixedClock
from tools.core.errors import InvalidTransitionError, NotFoundError, ValidationError
from tools.core.operations import Actor
from tools.demo import plant as demo_plant
from tools.machine_data.sensors import Reading, record_readings
from tools.machine_data.status import (
    MACHINE_LIFECYCLE,
    mark_stale_machines_down,
    set_machine_status,
)
from tools.maintenance.health import (
    MetricHealth,
    MetricStats,
    equipment_health,
    get_machine,
    health_index,
    list_machines,
    machine_health,
    metric_score,
)

SIM = Actor(type="simulator", id="sensors")
WATCHDOG = Actor(type="system", id="watchdog")
# Comfortably normal levels of every sensor (a span or more inside each warning level).
NORMAL = {"vibration": 1.5, "temperature": 40.0, "spindle_speed": 8000.0, "spindle_load": 50.0,
          "coolant_pressure": 6.0, "motor_current": 25.0, "power": 15.0}  # fmt: skip


def readings(
    machine_id: str, sensor: str, end: datetime, values: list[float], step_s: int = 60
) -> list[Reading]:
    """Readings `step_s` apart, the last at `end`."""
    n = len(values)
    return [
        Reading(machine_id=machine_id, sensor=sensor, value=v,
                ts=end - timedelta(seconds=step_s * (n - 1 - i)))
        for i, v in enumerate(values)
    ]  # fmt: skip


def wobble(level: float, n: int, amplitude: float = 0.02) -> list[float]:
    """`n` values around `level`, deterministic, no trend."""
    return [level * (1 + amplitude * math.sin(i * 2.1)) for i in range(n)]


async def normal_hour(
    conn: db.AsyncConn, machine_id: str, end: datetime, *, but: tuple[str, ...] = ()
) -> None:
    """An hour of normal readings of every sensor but those in `but`."""
    normal = {s: v for s, v in NORMAL.items() if s not in but}
    batch = [r for s, v in normal.items() for r in readings(machine_id, s, end, wobble(v, 60))]
    await record_readings(conn, SIM, readings=batch)


# ───────────────────────── machines ─────────────────────────


@pytest.mark.anyio
async def test_machines_are_listed_and_filtered_by_facility_type_and_status(
    plant: db.AsyncConn,
) -> None:
    everything = await list_machines(plant)
    phx_mills = await list_machines(plant, facility_id="PHX", wc_type="CNC_MILL")
    in_maintenance = await list_machines(plant, status="MAINTENANCE")

    assert len(everything) == 24
    assert [m.machine_id for m in phx_mills] == [
        "PHX-CNC-003", "PHX-CNC-005", "PHX-CNC-007", "PHX-CNC-009", "PHX-CNC-012"
    ]  # fmt: skip
    assert [m.machine_id for m in in_maintenance] == ["DET-CNC-003"]
    machine = await get_machine(plant, "PHX-CNC-007")
    assert (machine.model, machine.wc_type, machine.status) == (
        "DMG MORI DMU 50", "CNC_MILL", "RUNNING"
    )  # fmt: skip


@pytest.mark.anyio
async def test_bad_machine_filters_say_what_is_valid(plant: db.AsyncConn) -> None:
    with pytest.raises(ValidationError, match="work-center type 'MILL' is unknown.*CNC_MILL"):
        await list_machines(plant, wc_type="MILL")
    with pytest.raises(ValidationError, match="machine status 'BROKEN' is unknown"):
        await list_machines(plant, status="BROKEN")
    with pytest.raises(NotFoundError, match="facility 'LAX' does not exist"):
        await list_machines(plant, facility_id="LAX")
    with pytest.raises(NotFoundError, match="machine 'PHX-CNC-999' does not exist"):
        await get_machine(plant, "PHX-CNC-999")


# ───────────────────────── health ─────────────────────────


@pytest.mark.anyio
async def test_health_gives_each_metric_its_statistics_over_the_window_only(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    now = fixed_clock.now()
    ramp = [1.0 + 0.06 * i for i in range(60)]  # +0.06 mm/s a minute: 3.6 mm/s an hour
    old = readings("PHX-CNC-005", "vibration", now - timedelta(hours=3), [9.0] * 10)
    await record_readings(
        plant, SIM, readings=old + readings("PHX-CNC-005", "vibration", now, ramp)
    )

    health = await machine_health(plant, "PHX-CNC-005", window_minutes=60)

    stats = health.metrics["vibration"].stats
    assert stats.n == 60
    assert (stats.min, stats.max, stats.last) == (1.0, pytest.approx(4.54), pytest.approx(4.54))
    assert stats.mean == pytest.approx(sum(ramp) / 60)
    assert stats.std == pytest.approx(0.06 * math.sqrt(60 * 61 / 12))
    assert stats.slope_per_hour == pytest.approx(3.6)
    assert stats.current == pytest.approx(ramp[-3])  # median of the last five
    assert health.window_end == now and health.window_start == now - timedelta(hours=1)


@pytest.mark.anyio
async def test_a_machine_running_normally_is_up_with_full_health(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    await normal_hour(plant, "PHX-CNC-005", fixed_clock.now())

    health = await machine_health(plant, "PHX-CNC-005")

    assert (health.status, health.health_index, health.reasons) == ("UP", 100, [])
    assert set(health.metrics) == set(NORMAL)
    assert all(m.level == "OK" for m in health.metrics.values())


@pytest.mark.anyio
async def test_a_metric_past_its_warning_level_degrades_the_machine_by_the_formula(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    now = fixed_clock.now()
    await normal_hour(plant, "PHX-CNC-007", now, but=("vibration",))
    await record_readings(
        plant, SIM, readings=readings("PHX-CNC-007", "vibration", now, [5.0] * 60)
    )

    health = await machine_health(plant, "PHX-CNC-007")

    vibration = health.metrics["vibration"]
    # PHX-CNC-007's own limits are 4.0 / 6.3: 5.0 mm/s lies 1/2.3 of a span past warning
    assert vibration.level == "WARNING"
    assert vibration.score == pytest.approx(round(70 - 40 * (1.0 / 2.3), 1))
    assert health.health_index == round(0.7 * vibration.score + 0.3 * (vibration.score + 600) / 7)
    assert health.status == "DEGRADED"
    assert health.reasons == ["vibration 5.00 mm/s is WARNING (warning 4.0, critical 6.3)"]


@pytest.mark.anyio
async def test_a_rising_trend_toward_critical_degrades_the_machine_before_any_alarm(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    now = fixed_clock.now()
    rising = [1.5 + 0.02 * i + 0.01 * math.sin(i) for i in range(60)]  # 1.2 mm/s an hour
    await record_readings(plant, SIM, readings=readings("PHX-CNC-007", "vibration", now, rising))

    health = await machine_health(plant, "PHX-CNC-007")

    vibration = health.metrics["vibration"]
    assert vibration.level == "OK"
    assert vibration.hours_to_critical == pytest.approx((6.3 - 2.68) / 1.2, rel=0.02)
    assert health.status == "DEGRADED"
    assert "vibration trends +1.2" in health.reasons[0]


def test_metric_scores_fall_linearly_between_the_documented_knots() -> None:
    assert [metric_score(e) for e in (-3, -1, -0.5, 0, 0.5, 1, 1.5, 2, 4)] == [
        100, 100, 85, 70, 50, 30, 15, 0, 0
    ]  # fmt: skip


def test_the_health_index_weighs_the_worst_metric_most() -> None:
    def metric(score: float) -> MetricHealth:
        stats = MetricStats(sensor="power", unit="kW", n=1, mean=1, min=1, max=1, std=None,
                            last=1, last_ts=datetime(2026, 3, 2, tzinfo=UTC), current=1,
                            slope_per_hour=None, slope_stderr=None, fitted_last=None)  # fmt: skip
        return MetricHealth(stats=stats, threshold=None, level="OK", hours_to_critical=None,
                            score=score)  # fmt: skip

    assert health_index([metric(40), metric(100), metric(100)]) == round(0.7 * 40 + 0.3 * 80)
    assert health_index([]) is None


@pytest.mark.anyio
async def test_a_machine_unheard_for_longer_than_the_timeout_is_down_and_one_in_maintenance_says_so(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    fixed_clock.advance(timedelta(minutes=10))
    await normal_hour(plant, "PHX-CNC-005", fixed_clock.now())

    report = {h.machine_id: h for h in await equipment_health(plant, facility_id="DET")}
    phx = await machine_health(plant, "PHX-CNC-005")
    silent = await machine_health(plant, "PHX-CNC-003")

    assert report["DET-CNC-003"].status == "MAINTENANCE"
    assert report["DET-CNC-001"].status == "DOWN"
    assert report["DET-CNC-001"].health_index is None
    assert (phx.status, silent.status) == ("UP", "DOWN")
    assert silent.reasons[0].startswith("no heartbeat since 2026-03-02T05:59")
    assert len(report) == 6


@pytest.mark.anyio
async def test_health_of_every_machine_comes_in_one_call(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    for m in ("PHX-CNC-003", "MUC-CNC-001", "DET-CNC-002"):
        await normal_hour(plant, m, fixed_clock.now())

    report = await equipment_health(plant)

    assert len(report) == 24
    assert [h.machine_id for h in report if h.health_index == 100] == [
        "DET-CNC-002", "MUC-CNC-001", "PHX-CNC-003"
    ]  # fmt: skip
    with pytest.raises(NotFoundError, match="machines PHX-CNC-404 do not exist"):
        await equipment_health(plant, machine_ids=["PHX-CNC-003", "PHX-CNC-404"])
    with pytest.raises(ValidationError, match="1 minute to 7 days"):
        await equipment_health(plant, window_minutes=0)


# ───────────────────────── heartbeats and status ─────────────────────────


@pytest.mark.anyio
async def test_heartbeats_judged_as_of_an_earlier_moment_ignore_the_time_since(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    fixed_clock.advance(timedelta(minutes=6))
    reported_at = fixed_clock.now()
    cur = await plant.execute(
        "select machine_id from equipment where machine_id not in ('PHX-CNC-005', 'PHX-CNC-009')"
    )
    alive = [r["machine_id"] for r in await cur.fetchall()]
    batch = [r for m in alive for r in readings(m, "power", reported_at, [10.0])]
    await record_readings(plant, SIM, readings=batch)
    fixed_clock.advance(timedelta(minutes=10))  # the one judging was busy meanwhile

    then = await mark_stale_machines_down(plant, WATCHDOG, timeout_s=300, as_of=reported_at)
    cur = await plant.execute(
        "select machine_id from equipment where status in ('RUNNING', 'IDLE') order by 1"
    )
    still_up = [r["machine_id"] for r in await cur.fetchall()]
    now = await mark_stale_machines_down(plant, WATCHDOG, timeout_s=300)

    assert [c.machine_id for c in then] == ["PHX-CNC-005", "PHX-CNC-009"]
    assert still_up and [c.machine_id for c in now] == still_up


@pytest.mark.anyio
async def test_machines_with_a_stale_heartbeat_are_marked_down_once_each_with_event_and_audit(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    fixed_clock.advance(timedelta(minutes=6))
    cur = await plant.execute(
        "select machine_id from equipment where machine_id not in ('PHX-CNC-005', 'PHX-CNC-009')"
    )
    alive = [r["machine_id"] for r in await cur.fetchall()]
    batch = [r for m in alive for r in readings(m, "power", fixed_clock.now(), [10.0])]
    await record_readings(plant, SIM, readings=batch)
    after = (await events.since(plant, 0))[-1].event_id

    changes = await mark_stale_machines_down(plant, WATCHDOG, timeout_s=300)
    again = await mark_stale_machines_down(plant, WATCHDOG, timeout_s=300)

    assert [(c.machine_id, c.from_status, c.to_status) for c in changes] == [
        ("PHX-CNC-005", "RUNNING", "DOWN"), ("PHX-CNC-009", "IDLE", "DOWN")
    ]  # fmt: skip
    assert "no heartbeat for more than 300 s" in changes[0].reason
    assert again == []
    logged = await events.since(plant, after)
    assert [(e.type, e.entity_id) for e in logged] == [
        ("machine.down", "PHX-CNC-005"), ("machine.down", "PHX-CNC-009")
    ]  # fmt: skip
    cur = await plant.execute(
        "select count(*) as n from audit_log where action = 'set_status' and actor_id = 'watchdog'"
    )
    assert await cur.fetchone() == {"n": 2}
    machine = await get_machine(plant, "PHX-CNC-005")
    assert (machine.status, machine.status_changed_at) == ("DOWN", fixed_clock.now())


@pytest.mark.anyio
async def test_a_machine_status_moves_only_along_allowed_transitions(
    plant: db.AsyncConn,
) -> None:
    down = await set_machine_status(
        plant, WATCHDOG, machine_id="PHX-CNC-007", status="DOWN", reason="spindle seized"
    )
    back = await set_machine_status(
        plant, WATCHDOG, machine_id="PHX-CNC-007", status="IDLE", reason="repaired"
    )

    assert (down.from_status, down.to_status, back.to_status) == ("RUNNING", "DOWN", "IDLE")
    with pytest.raises(InvalidTransitionError, match="complete or cancel its work order"):
        await set_machine_status(
            plant, WATCHDOG, machine_id="DET-CNC-003", status="IDLE", reason="done"
        )
    with pytest.raises(
        InvalidTransitionError,
        match="IDLE and cannot become MAINTENANCE; work orders start and end maintenance",
    ):
        await set_machine_status(
            plant, WATCHDOG, machine_id="PHX-CNC-007", status="MAINTENANCE", reason="service"
        )
    with pytest.raises(ValidationError, match="status 'BROKEN' is unknown"):
        await set_machine_status(
            plant, WATCHDOG, machine_id="PHX-CNC-007", status="BROKEN", reason="x"
        )
    with pytest.raises(ValidationError, match="needs a reason"):
        await set_machine_status(
            plant, WATCHDOG, machine_id="PHX-CNC-007", status="RUNNING", reason=" "
        )
    with pytest.raises(NotFoundError, match="machine 'PHX-CNC-404' does not exist"):
        await set_machine_status(
            plant, WATCHDOG, machine_id="PHX-CNC-404", status="RUNNING", reason="x"
        )


# ───────────────────────── any sequence of status moves ─────────────────────────


@pytest.fixture
def plant_url(db_url: str, fixed_clock: FixedClock) -> str:
    """The test database with the demo plant loaded, for examples that bring their own moves."""

    async def load() -> None:
        async with db.connection(db_url) as conn, conn.transaction():
            await demo_plant.seed(conn, seed=42)

    asyncio.run(load())
    return db_url


async def status_walk(url: str, requested: list[str]) -> None:
    async with db.connection(url) as conn:
        status = (await get_machine(conn, "PHX-CNC-009")).status
        await conn.commit()
        for wanted in requested:
            if MACHINE_LIFECYCLE.can_become(status, wanted):
                change = await set_machine_status(
                    conn, WATCHDOG, machine_id="PHX-CNC-009", status=wanted, reason="walk"
                )
                assert (change.from_status, change.to_status) == (status, wanted)
                status = wanted
            else:
                cur = await conn.execute("select count(*) as n from audit_log")
                audit = await cur.fetchone()
                await conn.commit()
                with pytest.raises(
                    InvalidTransitionError, match=f"is {status} and cannot become {wanted}"
                ):
                    await set_machine_status(
                        conn, WATCHDOG, machine_id="PHX-CNC-009", status=wanted, reason="walk"
                    )
                cur = await conn.execute("select count(*) as n from audit_log")
                assert await cur.fetchone() == audit
            assert (await get_machine(conn, "PHX-CNC-009")).status == status
            await conn.commit()


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(st.lists(st.sampled_from(["RUNNING", "IDLE", "DOWN", "OFFLINE", "MAINTENANCE"]),
                max_size=10))  # fmt: skip
def test_any_sequence_of_machine_status_requests_follows_the_transitions_and_refuses_the_rest(
    plant_url: str, requested: list[str]
) -> None:
    asyncio.run(status_walk(plant_url, requested))
