"""The simulated sensors: plausible normal readings, each fault's signature, silence on failure."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulation.config import SimConfig
from simulation.context import rows
from simulation.engine import Engine
from simulation.world.faults import ground_truth, start_fault
from simulation.world.signals import KINDS, PATTERNS, Fault, Signals, make_profile, signals, swing
from tools.core import db
from tools.core.clock import FixedClock
from tools.core.errors import ConflictError, ValidationError
from tools.machine_data.sensors import SENSORS

T0 = 29_500_000.0  # minutes since the epoch (early 2026)
LIMITS = {
    "vibration": (4.5, 7.1),
    "temperature": (65.0, 80.0),
    "spindle_load": (85.0, 100.0),
    "motor_current": (38.0, 45.0),
    "power": (30.0, 36.0),
    "coolant_pressure": (4.0, 2.5),
    "spindle_speed": (18000.0, 20000.0),
}
MACHINES = {  # wc_type → (rated kW, top speed) of a demo machine of that type
    "CNC_MILL": (35.0, 20000),
    "CNC_LATHE": (30.0, 5000),
    "GRINDING": (45.0, 8000),
    "HEAT_TREAT": (150.0, None),
    "INSPECTION": (3.5, None),
    "ASSEMBLY": (18.0, None),
}


def run_machine(
    wc_type: str = "CNC_MILL",
    *,
    minutes: int = 240,
    faults: list[Fault] | None = None,
    running: bool = True,
    seed: int = 1,
) -> Signals:
    kw, rpm = MACHINES[wc_type]
    limits = LIMITS | ({"temperature": (1080.0, 1120.0)} if wc_type == "HEAT_TREAT" else {})
    profile = make_profile(f"XXX-{wc_type[:3]}-001", wc_type, kw, rpm, limits=limits)
    t = T0 + np.arange(1, minutes + 1, dtype=float)
    low, high = profile.speed_rpm
    speed = np.full(t.shape, (low + high) / 2)
    load = swing(np.full(t.shape, float(np.mean(KINDS[wc_type].load))), t, t * 0 + 9, t * 0)
    steady = 955.0 if wc_type == "HEAT_TREAT" and running else profile.room_c + 4
    return signals(
        profile, t, np.full(t.shape, running), speed, load, faults or [],
        temperature=steady, previous_t=T0, rng=np.random.default_rng(seed),
    )  # fmt: skip


def failing(pattern: str, minutes: int = 240) -> Fault:
    """A fault that begins with the readings and fails right after the last of `minutes`."""
    return Fault(pattern, T0, T0 + minutes + 1)


@pytest.mark.parametrize("wc_type", list(MACHINES))
def test_a_healthy_machine_reads_inside_its_warning_levels_with_noise_on_every_sensor(
    wc_type: str,
) -> None:
    out = run_machine(wc_type)

    for sensor in SENSORS:
        values = out.values[sensor]
        assert np.all(np.isfinite(values)) and np.all(values >= 0)
        assert len(np.unique(values)) == len(values), f"{sensor} repeats a value"
        limit = LIMITS[sensor][0]
        if sensor == "temperature" and wc_type == "HEAT_TREAT":
            limit = 1080.0
        if sensor == "coolant_pressure":
            assert values.min() > limit
        else:
            assert values.max() < limit, f"{wc_type} {sensor} reaches {values.max()}"
    assert not out.silent.any()


def test_an_inspection_machine_stays_below_its_class_limit_of_1_8_mm_s() -> None:
    for running in (True, False):
        assert (
            run_machine("INSPECTION", running=running, minutes=2000).values["vibration"].max() < 1.8
        )


def test_an_idle_spindle_stops_and_draws_standby_power() -> None:
    busy, idle = run_machine(running=True), run_machine(running=False)

    assert idle.values["spindle_speed"].max() < 20 < busy.values["spindle_speed"].min()
    assert idle.values["power"].mean() < busy.values["power"].mean() / 3
    assert idle.values["vibration"].mean() < busy.values["vibration"].mean() / 2


def test_bearing_degradation_raises_vibration_past_critical_and_temperature_with_it() -> None:
    out = run_machine(faults=[failing("BEARING_DEGRADATION")])
    vib, temp = out.values["vibration"], out.values["temperature"]

    assert vib[:30].mean() < LIMITS["vibration"][0] < LIMITS["vibration"][1] < vib[-5:].mean()
    assert temp[-5:].mean() > temp[:30].mean() + 5
    assert np.corrcoef(vib, temp)[0, 1] > 0.8


def test_motor_burnout_drives_current_past_critical_and_heats_the_machine() -> None:
    out = run_machine(faults=[failing("MOTOR_BURNOUT")])

    assert out.values["motor_current"][-5:].mean() > LIMITS["motor_current"][1]
    assert out.values["temperature"][-5:].mean() > LIMITS["temperature"][0]
    assert out.values["vibration"][-5:].mean() < LIMITS["vibration"][0]


def test_spindle_wear_raises_load_and_vibration() -> None:
    out = run_machine(faults=[failing("SPINDLE_WEAR")])

    assert out.values["spindle_load"][-5:].mean() > LIMITS["spindle_load"][0]
    assert out.values["vibration"][-5:].mean() > out.values["vibration"][:30].mean() + 1.5


def test_coolant_failure_drops_pressure_below_critical_and_raises_temperature() -> None:
    out = run_machine(faults=[failing("COOLANT_FAILURE")])

    assert out.values["coolant_pressure"][-5:].mean() < LIMITS["coolant_pressure"][1]
    assert out.values["temperature"][-5:].mean() > out.values["temperature"][:30].mean() + 10


def test_an_electrical_fault_makes_current_erratic_and_power_spike() -> None:
    out = run_machine(faults=[failing("ELECTRICAL_FAULT", minutes=600)], minutes=600)
    late = out.values["motor_current"][-60:]
    early = out.values["motor_current"][:60]

    assert late.std() / late.mean() > 0.25 > early.std() / early.mean()
    assert out.values["power"][-60:].max() > 1.3 * np.median(out.values["power"][-60:])
    speed = out.values["spindle_speed"]
    assert speed[-60:].std() > 10 * speed[:60].std()


def test_a_drifting_sensor_crosses_its_warning_level_while_the_machine_stays_healthy() -> None:
    drift = Fault("SENSOR_DRIFT", T0, T0 + 240)
    out = run_machine(faults=[drift], minutes=300)
    healthy = run_machine(minutes=300)

    assert np.median(out.values["vibration"][-30:]) > LIMITS["vibration"][0]
    for sensor in ("temperature", "spindle_load", "motor_current"):
        assert np.allclose(out.values[sensor], healthy.values[sensor])
    assert not out.silent.any()


def test_a_machine_falls_silent_when_its_fault_fails_it_and_speaks_again_once_repaired() -> None:
    fault = Fault("MOTOR_BURNOUT", T0 - 600, T0 + 100, ended=T0 + 160)
    out = run_machine(faults=[fault])

    silent = np.flatnonzero(out.silent)
    assert silent.min() == 99 and silent.max() == 158


@settings(max_examples=40, deadline=None)
@given(
    pattern=st.sampled_from(PATTERNS),
    wc_type=st.sampled_from(list(MACHINES)),
    progress=st.floats(min_value=-0.5, max_value=1.5),
    seed=st.integers(min_value=0, max_value=2**31),
)
def test_every_reading_is_a_finite_physical_value_whatever_the_fault(
    pattern: str, wc_type: str, progress: float, seed: int
) -> None:
    fault = Fault(pattern, T0 - 100 * progress, T0 + 100 * (1 - progress) + 1e-3)
    out = run_machine(wc_type, minutes=30, faults=[fault], seed=seed)

    for sensor in SENSORS:
        assert np.all(np.isfinite(out.values[sensor]))
        assert np.all(out.values[sensor] >= (-50 if sensor == "temperature" else 0))


# ───────────────────────── on the plant ─────────────────────────


@pytest.mark.anyio
async def test_a_fault_records_its_ground_truth_and_a_machine_has_one_at_a_time(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    failure = fixed_clock.now() + timedelta(hours=6)
    truth = await start_fault(
        plant, machine_id="PHX-CNC-003", pattern="SPINDLE_WEAR", failure_at=failure
    )

    [stored] = await ground_truth(plant, "PHX-CNC-003", active=True)
    assert stored == truth and stored.failure_at == failure and stored.ended_at is None
    with pytest.raises(ConflictError, match="already has a SPINDLE_WEAR fault"):
        await start_fault(
            plant, machine_id="PHX-CNC-003", pattern="MOTOR_BURNOUT", failure_at=failure
        )
    with pytest.raises(ValidationError, match="unknown"):
        await start_fault(plant, machine_id="PHX-CNC-005", pattern="GREMLINS", failure_at=failure)


@pytest.mark.anyio
async def test_a_machine_that_stops_sending_goes_down_and_comes_back_repaired(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    engine = Engine(plant, fixed_clock, SimConfig().only("sensors", "monitor"))
    assert await engine.try_acquire()
    await start_fault(
        plant, machine_id="PHX-CNC-005", pattern="BEARING_DEGRADATION",
        started_at=fixed_clock.now() - timedelta(hours=5),
        failure_at=fixed_clock.now() + timedelta(minutes=3),
    )  # fmt: skip

    await engine.step(10)

    [machine] = await rows(
        plant, "select status, last_heartbeat_at from equipment where machine_id = 'PHX-CNC-005'"
    )
    assert machine["status"] == "DOWN"
    assert machine["last_heartbeat_at"] < fixed_clock.now() - timedelta(minutes=5)
    await plant.execute("update equipment set status = 'IDLE', status_changed_at = %s "
                        "where machine_id = 'PHX-CNC-005'", (fixed_clock.now(),))  # fmt: skip
    await plant.commit()
    await engine.step(2)
    assert await ground_truth(plant, "PHX-CNC-005", active=True) == []
    [back] = await rows(
        plant, "select last_heartbeat_at from equipment where machine_id = 'PHX-CNC-005'"
    )
    assert back["last_heartbeat_at"] == fixed_clock.now()
