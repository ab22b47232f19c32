"""The faults a machine can have, named once: fault classification and failure prediction judge
them, work orders and spare parts are kept per fault, and the simulation plays them. The three
CHECK constraints that hold them in the database are kept equal to this Literal by
`tests/test_statuses_match_constraints.py`."""

from __future__ import annotations

from typing import Literal, get_args

FaultType = Literal[
    "BEARING_DEGRADATION",
    "MOTOR_BURNOUT",
    "SPINDLE_WEAR",
    "COOLANT_FAILURE",
    "ELECTRICAL_FAULT",
    "SENSOR_DRIFT",
]
FAULT_TYPES: tuple[FaultType, ...] = get_args(FaultType)
