"""The physics of the simulated sensors, as vectorised functions shared by the live engine and
the history backfill.

A machine works through *jobs*: a spindle speed and a cutting load held for 20-90 minutes, the
load swinging ±5 % with the tool's engagement cycle (6-15 minutes). From the speed, the load and
whether it runs:

- spindle speed (rpm): the job's speed; 0 when idle (the encoder reads a few rpm of jitter).
  Machines without a spindle report their main drive: the furnace's circulation fan, the CMM's
  rotary table, the weld cell's positioner.
- spindle load (%): the job's load; 2 % when idle.
- power (kW): standby power plus the drive's share of rated power times the load.
- motor current (A): power over voltage and power factor (400 V three-phase, cos φ 0.85:
  1.7 A per kW; the furnace reports its fan motor, the CMM 230 V single-phase).
- vibration (mm/s RMS): the machine's level, barely dependent on load (a balanced spindle), a
  fifth of it when idle. Inspection machines stay far below their 1.8 mm/s class limit.
- temperature (°C): spindle housing temperature, held near room temperature by the spindle
  chiller (a few degrees above when running), following its target with first-order thermal
  lag (time constant 15 minutes; the furnace: its soak temperature, 40 minutes). Room
  temperature swings ±1 °C over the day.
- coolant pressure (bar): the pump's pressure, a little higher without flow when idle (the
  CMM reports its air-bearing supply, the furnace and weld cell their cooling water).

Every reading carries Gaussian noise, so no analogue sensor repeats a value (a constant value is
what a stuck sensor looks like). Faults progress with τ, the fraction of the way from onset to
the true failure time, along g_k(τ) = (e^(kτ) − 1) / (e^k − 1) — slow at first, then faster, as
damage spreads:

- BEARING_DEGRADATION (k = 4): vibration rises to 1.15 x its critical level at failure; the
  friction heat raises the temperature 2 °C per mm/s of extra vibration.
- MOTOR_BURNOUT (k = 3): winding insulation fails: current rises to 1.08 x its critical level,
  temperature by up to 50 °C, power by 12 % (losses).
- SPINDLE_WEAR (k = 2): the worn spindle needs more torque: load rises towards 102 %, power and
  current with it; vibration rises 2.2 mm/s.
- COOLANT_FAILURE (k = 2.5): the pump wears: pressure falls to 2 bar; temperature rises 24 °C.
- ELECTRICAL_FAULT (k = 2): a failing drive: power and current spike more and more often,
  current and speed become erratic (coefficient of variation up to about 0.35).
- SENSOR_DRIFT: the vibration sensor's bias grows linearly, crossing the warning level at the
  "failure" time, and it reports ghost readings; the machine itself is healthy.

At τ = 1 a failing machine (every pattern but drift) trips and stops reporting: with no
heartbeat it goes DOWN. A fault pulls harder while the spindle turns than at idle (factor 0.3).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tools.machine_data.sensors import SENSORS
from tools.maintenance.fault_types import FAULT_TYPES, FaultType

Pattern = FaultType
PATTERNS: tuple[Pattern, ...] = FAULT_TYPES
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
IDLE_LOAD = 2.0
IDLE_PULL = 0.3  # how hard a fault pulls at idle, relative to running


@dataclass(frozen=True)
class Kind:
    """The operating envelope of a type of machine."""

    speed_frac: tuple[float, float]  # of the model's top speed; or rpm when it has none
    load: tuple[float, float]  # % while running
    vibration: float  # mm/s running
    rise_run: float  # °C above room while running
    thermal_tau: float  # minutes
    coolant: float  # bar
    standby_kw: float  # fraction of rated power drawn when idle
    drive_share: float  # fraction of rated power the drive draws at 100 % load
    amps_per_kw: float
    soak_c: float | None = None  # a furnace holds this temperature while running
    noise_c: float = 0.15


KINDS: dict[str, Kind] = {
    "CNC_MILL": Kind((0.40, 0.72), (40, 70), 1.5, 4.0, 15, 6.0, 0.06, 0.55, 1.7),
    "CNC_LATHE": Kind((0.30, 0.60), (35, 65), 1.4, 4.0, 15, 5.5, 0.06, 0.55, 1.7),
    "GRINDING": Kind((0.40, 0.55), (30, 55), 0.9, 3.0, 15, 7.0, 0.06, 0.50, 1.7),
    "HEAT_TREAT": Kind(
        (1400, 1500), (55, 65), 1.2, 0.0, 40, 4.8, 0.02, 0.22, 0.5, soak_c=955.0, noise_c=1.2
    ),
    "INSPECTION": Kind((20, 60), (5, 12), 0.35, 0.5, 15, 5.6, 0.20, 0.50, 4.3, noise_c=0.05),
    "ASSEMBLY": Kind((8, 15), (25, 50), 1.1, 3.0, 15, 4.6, 0.06, 0.45, 1.7),
}
# (warning, critical) by sensor where a machine has no threshold: the demo plant's defaults
DEFAULT_LIMITS: dict[str, tuple[float, float]] = {
    "vibration": (4.5, 7.1),
    "temperature": (65.0, 80.0),
    "spindle_load": (85.0, 100.0),
    "motor_current": (38.0, 45.0),
    "power": (30.0, 36.0),
    "coolant_pressure": (4.0, 2.5),
    "spindle_speed": (18000.0, 20000.0),
}


@dataclass(frozen=True)
class Profile:
    """One machine's constants: its kind, size, speeds and where its alarms sit."""

    machine_id: str
    wc_type: str
    rated_kw: float
    speed_rpm: tuple[float, float]
    vibration: float
    coolant: float
    room_c: float
    day_phase: float
    limits: Mapping[str, tuple[float, float]]

    @property
    def kind(self) -> Kind:
        return KINDS[self.wc_type]

    @property
    def settle_minutes(self) -> float:
        """How long after a start or stop the temperature takes to settle (four time constants)."""
        return 4 * self.kind.thermal_tau

    def limit(self, sensor: str, which: int) -> float:
        return (self.limits.get(sensor) or DEFAULT_LIMITS[sensor])[which]


def make_profile(
    machine_id: str,
    wc_type: str,
    rated_kw: float,
    max_rpm: int | None,
    *,
    utc_offset_h: float = 0.0,
    limits: Mapping[str, tuple[float, float]] | None = None,
) -> Profile:
    """A machine's profile; its small differences from its kind come from its ID alone."""
    kind = KINDS[wc_type]
    rng = random.Random(f"profile:{machine_id}")
    low, high = kind.speed_frac
    speed = (low * max_rpm, high * max_rpm) if max_rpm and high <= 1 else (low, high)
    return Profile(
        machine_id=machine_id,
        wc_type=wc_type,
        rated_kw=rated_kw,
        speed_rpm=speed,
        vibration=kind.vibration * rng.uniform(0.8, 1.2),
        coolant=kind.coolant * rng.uniform(0.96, 1.08),
        room_c=20.5 if wc_type == "INSPECTION" else rng.uniform(21.0, 25.0),
        # the room is warmest mid-afternoon local time
        day_phase=2 * math.pi * (15 - utc_offset_h) / 24,
        limits=dict(limits or {}),
    )


@dataclass(frozen=True)
class Job:
    """What a machine does for a while: a speed and a load, with its engagement cycle."""

    speed: float
    load: float
    minutes: float
    period: float
    phase: float


def draw_job(rng: random.Random, profile: Profile) -> Job:
    low, high = profile.speed_rpm
    return Job(
        speed=rng.uniform(low, high),
        load=rng.uniform(*profile.kind.load),
        minutes=rng.uniform(20, 90),
        period=rng.uniform(6, 15),
        phase=rng.uniform(0, 2 * math.pi),
    )


@dataclass(frozen=True)
class Fault:
    """A fault in play on a machine; times in minutes since the epoch."""

    pattern: str
    started: float
    failure: float
    ended: float | None = None

    def progress(self, t: Floats) -> Floats:
        """τ at each time: NaN where the fault is not in play."""
        live = (t >= self.started) & ((t < self.ended) if self.ended is not None else True)
        tau = (t - self.started) / (self.failure - self.started)
        return np.where(live, tau, np.nan)


@dataclass
class Signals:
    """Readings per sensor at each time, which times a failed machine was silent, and the true
    temperature at the last time (the thermal state to carry on from)."""

    values: dict[str, Floats]
    silent: Bools
    temperature: float


def curve(tau: Floats, k: float) -> Floats:
    """g_k(τ): 0 at onset, 1 at failure; 0 where the fault is not in play."""
    clipped = np.clip(np.nan_to_num(tau, nan=0.0), 0.0, 1.0)
    return np.expm1(k * clipped) / math.expm1(k)


def room(profile: Profile, t: Floats) -> Floats:
    swing = 0.2 if profile.wc_type == "INSPECTION" else 1.0
    return profile.room_c + swing * np.cos(2 * np.pi * t / 1440 - profile.day_phase)


def temperature_target(profile: Profile, t: Floats, running: Bools) -> Floats:
    kind = profile.kind
    base = room(profile, t)
    if kind.soak_c is not None:
        return np.where(running, kind.soak_c, base + 15.0)
    return base + np.where(running, kind.rise_run, 0.5)


def _pattern_curves(faults: Sequence[Fault], t: Floats) -> tuple[dict[str, Floats], Bools]:
    """Per pattern its g curve (with the right k) and drift's linear τ; and the silent times."""
    shapes = {
        "BEARING_DEGRADATION": 4.0,
        "MOTOR_BURNOUT": 3.0,
        "SPINDLE_WEAR": 2.0,
        "COOLANT_FAILURE": 2.5,
        "ELECTRICAL_FAULT": 2.0,
    }
    found: dict[str, Floats] = {}
    silent = np.zeros(t.shape, dtype=bool)
    for f in faults:
        tau = f.progress(t)
        if f.pattern == "SENSOR_DRIFT":
            found["drift"] = np.clip(np.nan_to_num(tau, nan=0.0), 0.0, 2.0)
            continue
        found[f.pattern] = np.maximum(found.get(f.pattern, 0.0), curve(tau, shapes[f.pattern]))
        silent |= np.nan_to_num(tau, nan=0.0) >= 1.0
    zero = np.zeros(t.shape)
    return {p: found.get(p, zero) for p in (*shapes, "drift")}, silent


def signals(
    profile: Profile,
    t: Floats,
    running: Bools,
    speed: Floats,
    load: Floats,
    faults: Sequence[Fault],
    *,
    temperature: float,
    previous_t: float,
    rng: np.random.Generator,
) -> Signals:
    """The readings at times `t` (minutes since the epoch, increasing) of a machine running or
    idle with the job `speed` and `load` (already swinging with the cycle), under `faults`,
    carrying on from the true `temperature` at `previous_t`."""
    kind = profile.kind
    g, silent = _pattern_curves(faults, t)
    pull = np.where(running, 1.0, IDLE_PULL)
    work = np.where(running, load, IDLE_LOAD)
    work = work + (102.0 - work) * g["SPINDLE_WEAR"] * pull
    power = profile.rated_kw * (kind.standby_kw + kind.drive_share * work / 100)
    power = power * (1 + 0.12 * g["MOTOR_BURNOUT"])
    current = kind.amps_per_kw * power
    current = current + (profile.limit("motor_current", 1) * 1.08 - current) * (
        g["MOTOR_BURNOUT"] * pull
    )
    healthy = profile.vibration * np.where(running, 0.97 + 0.06 * work / 100, 0.22)
    vib = (
        healthy + (profile.limit("vibration", 1) * 1.15 - healthy) * g["BEARING_DEGRADATION"] * pull
    )
    vib = vib + 2.2 * g["SPINDLE_WEAR"] * pull
    target = temperature_target(profile, t, running) + 2.0 * (vib - healthy)
    target = target + 50.0 * g["MOTOR_BURNOUT"] + 24.0 * g["COOLANT_FAILURE"]
    coolant = profile.coolant + np.where(running, 0.0, 0.25)
    coolant = coolant - (coolant - 2.0) * g["COOLANT_FAILURE"]
    temps = _lag(target, t, temperature, previous_t, kind.thermal_tau)

    n = t.shape[0]
    noise = rng.standard_normal((8, n))
    uniform = rng.random((3, n))
    elec = g["ELECTRICAL_FAULT"]
    spikes = uniform[0] < np.where(elec > 0, 0.02 + 0.25 * elec, 0.0)
    erratic = np.exp(noise[7] * np.where(elec > 0, 0.05 + 0.35 * elec, 0.0))
    rpm = np.where(running, speed * (1 + (0.003 + 0.12 * elec) * noise[2]), np.abs(1.5 * noise[2]))
    values = {
        "vibration": vib * (1 + 0.03 * noise[0]) + 0.01 * noise[1],
        "temperature": temps + kind.noise_c * noise[3],
        "spindle_speed": rpm,
        "spindle_load": work + np.where(running, 1.0, 0.3) * noise[4],
        "coolant_pressure": coolant + 0.05 * noise[5],
        "motor_current": (current * (1 + 0.015 * noise[6]) + 0.1 * noise[1])
        * erratic
        * np.where(spikes, 1.3 + 0.5 * uniform[1], 1.0),
        "power": (power * (1 + 0.015 * noise[6]) + 0.05 * noise[0])
        * np.where(spikes, 1.4 + 0.6 * uniform[1], 1.0),
    }
    drift = g["drift"]
    if drift.any():
        bias = (profile.limit("vibration", 0) * 1.05 - profile.vibration) * drift
        ghosts = uniform[2] < np.where(drift > 0, 0.004 + 0.04 * np.minimum(drift, 1.0), 0.0)
        ghost = uniform[1] * 2.5 * profile.limit("vibration", 1)
        values["vibration"] = np.where(ghosts, ghost, values["vibration"] + bias)
    floors = {"temperature": -50.0}
    for sensor in SENSORS:
        values[sensor] = np.maximum(values[sensor], floors.get(sensor, 0.01))
    return Signals(values=values, silent=silent, temperature=float(temps[-1]) if n else temperature)


def _lag(target: Floats, t: Floats, start: float, start_t: float, tau: float) -> Floats:
    """First-order lag: T follows its target with time constant `tau` (exact for a target held
    between samples)."""
    keep = np.exp(-np.diff(t, prepend=start_t) / tau).tolist()
    level = start
    out: list[float] = []
    for goal, k in zip(target.tolist(), keep, strict=True):
        level = goal + (level - goal) * k
        out.append(level)
    return np.array(out, dtype=np.float64)


def swing(load: Floats, t: Floats, period: Floats, phase: Floats) -> Floats:
    """The load swinging ±5 % with the tool's engagement cycle."""
    return load * (1 + 0.05 * np.sin(2 * np.pi * t / period + phase))
