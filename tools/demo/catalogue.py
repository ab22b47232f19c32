"""The fixed catalogue of the demo plant, Titan Manufacturing: the same for every seed.

Sites, machines, products, routings, customers, suppliers, carriers and the shape of the open
order book. `tools.demo.plant` lays quantities, stock levels and times around a plant day from
these, drawing what varies from the seed. Field names are the columns they fill.
"""

from __future__ import annotations

from datetime import time
from decimal import Decimal as D
from typing import NamedTuple

# ───────────────────────── sites ─────────────────────────


class Facility(NamedTuple):
    facility_id: str
    name: str
    city: str
    country: str
    region: str
    timezone: str
    shifts: tuple[str, ...]  # names from SHIFTS, worked Monday to Friday

    @property
    def calendar_id(self) -> str:
        return f"{self.facility_id}-STD"


# name → (local start, minutes); every shift has a 30-minute break 240 minutes in
SHIFTS: dict[str, tuple[time, int]] = {
    "EARLY": (time(6, 0), 480),
    "LATE": (time(14, 0), 480),
    "NIGHT": (time(22, 0), 480),
}
BREAK_OFFSET_MINUTES = 240
BREAK_MINUTES = 30

# fmt: off
FACILITIES = (
    Facility("PHX", "Titan Phoenix Aerostructures", "Phoenix", "US", "NA-WEST",
             "America/Phoenix", ("EARLY", "LATE", "NIGHT")),
    Facility("MUC", "Titan München Präzisionsteile", "Munich", "DE", "EU-CENTRAL",
             "Europe/Berlin", ("EARLY", "LATE")),
    Facility("DET", "Titan Detroit Mobility", "Detroit", "US", "NA-EAST",
             "America/Detroit", ("EARLY", "LATE")),
)
# fmt: on


class CalendarException(NamedTuple):
    facility_id: str
    kind: str
    days_ahead: int  # local days after the plant day; -1: the next Saturday
    start: time
    hours: int
    description: str


# fmt: off
CALENDAR_EXCEPTIONS = (
    CalendarException("PHX", "OVERTIME", -1, time(6), 8, "Overtime Saturday: blade backlog"),
    CalendarException("MUC", "HOLIDAY", 10, time(0), 24, "Plant holiday (bridge day)"),
    CalendarException("DET", "SHUTDOWN", 19, time(6), 16,
                      "Planned shutdown: compressed-air system upgrade"),
)
# fmt: on


class WorkCenter(NamedTuple):
    work_center_id: str
    facility_id: str
    name: str
    wc_type: str


# fmt: off
WORK_CENTERS = (
    WorkCenter("PHX-MILL", "PHX", "5-axis milling", "CNC_MILL"),
    WorkCenter("PHX-TURN", "PHX", "Mill-turn", "CNC_LATHE"),
    WorkCenter("PHX-GRIND", "PHX", "Blade root grinding", "GRINDING"),
    WorkCenter("PHX-HEAT", "PHX", "Vacuum heat treatment", "HEAT_TREAT"),
    WorkCenter("PHX-QC", "PHX", "Inspection and CMM", "INSPECTION"),
    WorkCenter("MUC-MILL", "MUC", "5-Achs-Fräsen", "CNC_MILL"),
    WorkCenter("MUC-TURN", "MUC", "Drehen", "CNC_LATHE"),
    WorkCenter("MUC-GRIND", "MUC", "Schleifen", "GRINDING"),
    WorkCenter("MUC-HEAT", "MUC", "Wärmebehandlung", "HEAT_TREAT"),
    WorkCenter("MUC-QC", "MUC", "Qualitätsprüfung", "INSPECTION"),
    WorkCenter("MUC-ASSY", "MUC", "Schweißen und Montage", "ASSEMBLY"),
    WorkCenter("DET-MILL", "DET", "Machining", "CNC_MILL"),
    WorkCenter("DET-TURN", "DET", "Mill-turn", "CNC_LATHE"),
    WorkCenter("DET-QC", "DET", "Leak test and inspection", "INSPECTION"),
    WorkCenter("DET-ASSY", "DET", "Welding and assembly", "ASSEMBLY"),
)
# fmt: on


class MachineModel(NamedTuple):
    model: str
    manufacturer: str
    wc_type: str
    rated_power_kw: D
    max_spindle_rpm: int | None


# fmt: off
MACHINE_MODELS = (
    MachineModel("DMG MORI DMU 50", "DMG MORI", "CNC_MILL", D("35.00"), 20000),
    MachineModel("Haas VF-2", "Haas Automation", "CNC_MILL", D("22.40"), 12000),
    MachineModel("Mazak Integrex i-200", "Yamazaki Mazak", "CNC_LATHE", D("30.00"), 5000),
    MachineModel("DMG MORI CTX beta 800", "DMG MORI", "CNC_LATHE", D("33.00"), 5000),
    MachineModel("Blohm Profimat MT 408", "United Grinding", "GRINDING", D("45.00"), 8000),
    MachineModel("Ipsen TITAN H2", "Ipsen", "HEAT_TREAT", D("150.00"), None),
    MachineModel("Zeiss CONTURA", "Carl Zeiss IMT", "INSPECTION", D("3.50"), None),
    MachineModel("KUKA KR QUANTEC weld cell", "KUKA", "ASSEMBLY", D("18.00"), None),
)
# fmt: on


class Machine(NamedTuple):
    machine_id: str
    work_center_id: str
    model: str
    name: str
    status: str
    years_installed: float

    @property
    def facility_id(self) -> str:
        return self.machine_id[:3]

    @property
    def wc_type(self) -> str:
        return next(m.wc_type for m in MACHINE_MODELS if m.model == self.model)


# fmt: off
MACHINES = (
    Machine("PHX-CNC-003", "PHX-MILL", "DMG MORI DMU 50", "5-axis mill 3", "RUNNING", 7.5),
    Machine("PHX-CNC-005", "PHX-MILL", "DMG MORI DMU 50", "5-axis mill 5", "RUNNING", 6.0),
    Machine("PHX-CNC-007", "PHX-MILL", "DMG MORI DMU 50", "5-axis mill 7", "RUNNING", 5.2),
    Machine("PHX-CNC-009", "PHX-MILL", "Haas VF-2", "Vertical mill 9", "IDLE", 9.1),
    Machine("PHX-CNC-012", "PHX-MILL", "DMG MORI DMU 50", "5-axis mill 12", "RUNNING", 2.3),
    Machine("PHX-CNC-014", "PHX-TURN", "Mazak Integrex i-200", "Mill-turn 14", "RUNNING", 4.4),
    Machine("PHX-CNC-015", "PHX-TURN", "Mazak Integrex i-200", "Mill-turn 15", "IDLE", 3.8),
    Machine("PHX-GRD-001", "PHX-GRIND", "Blohm Profimat MT 408", "Root grinder 1", "RUNNING", 6.7),
    Machine("PHX-HT-001", "PHX-HEAT", "Ipsen TITAN H2", "Vacuum furnace 1", "RUNNING", 8.0),
    Machine("PHX-CMM-001", "PHX-QC", "Zeiss CONTURA", "CMM 1", "RUNNING", 4.0),
    Machine("MUC-CNC-001", "MUC-MILL", "DMG MORI DMU 50", "5-Achs-Fräse 1", "RUNNING", 3.1),
    Machine("MUC-CNC-002", "MUC-MILL", "DMG MORI DMU 50", "5-Achs-Fräse 2", "RUNNING", 3.1),
    Machine("MUC-CNC-005", "MUC-MILL", "Haas VF-2", "Vertikalfräse 5", "IDLE", 10.4),
    Machine("MUC-CNC-003", "MUC-TURN", "DMG MORI CTX beta 800", "Drehzentrum 3", "RUNNING", 5.6),
    Machine("MUC-GRD-001", "MUC-GRIND", "Blohm Profimat MT 408", "Schleifmaschine", "RUNNING", 7.2),
    Machine("MUC-HT-001", "MUC-HEAT", "Ipsen TITAN H2", "Vakuumofen 1", "IDLE", 11.0),
    Machine("MUC-CMM-001", "MUC-QC", "Zeiss CONTURA", "Messmaschine 1", "RUNNING", 2.0),
    Machine("MUC-ASM-001", "MUC-ASSY", "KUKA KR QUANTEC weld cell", "Schweißzelle", "RUNNING", 1.5),
    Machine("DET-CNC-001", "DET-MILL", "Haas VF-2", "Vertical mill 1", "RUNNING", 4.9),
    Machine("DET-CNC-002", "DET-MILL", "Haas VF-2", "Vertical mill 2", "RUNNING", 4.9),
    Machine("DET-CNC-003", "DET-MILL", "Haas VF-2", "Vertical mill 3", "MAINTENANCE", 6.3),
    Machine("DET-CNC-004", "DET-TURN", "Mazak Integrex i-200", "Mill-turn 4", "RUNNING", 2.8),
    Machine("DET-ASM-001", "DET-ASSY", "KUKA KR QUANTEC weld cell", "Weld cell 1", "IDLE", 1.2),
    Machine("DET-CMM-001", "DET-QC", "Zeiss CONTURA", "CMM 1", "RUNNING", 3.3),
)
# fmt: on

# The machine in MAINTENANCE went down this long before the plant day began.
MAINTENANCE_STARTED_MINUTES_AGO = 210


class Threshold(NamedTuple):
    sensor: str
    machine_id: str | None  # None: the default for every machine
    unit: str
    direction: str
    warning: float
    critical: float


# fmt: off
SENSOR_THRESHOLDS = (
    Threshold("vibration", None, "mm/s", "ABOVE", 4.5, 7.1),  # ISO 10816-3, medium machines
    Threshold("temperature", None, "°C", "ABOVE", 65.0, 80.0),
    Threshold("spindle_speed", None, "rpm", "ABOVE", 18000.0, 20000.0),
    Threshold("spindle_load", None, "%", "ABOVE", 85.0, 100.0),
    Threshold("coolant_pressure", None, "bar", "BELOW", 4.0, 2.5),
    Threshold("motor_current", None, "A", "ABOVE", 38.0, 45.0),
    Threshold("power", None, "kW", "ABOVE", 30.0, 36.0),
    Threshold("vibration", "PHX-CNC-007", "mm/s", "ABOVE", 4.0, 6.3),  # since a spindle rebuild
    Threshold("spindle_speed", "DET-CNC-001", "rpm", "ABOVE", 11000.0, 12000.0),
    Threshold("temperature", "PHX-HT-001", "°C", "ABOVE", 1080.0, 1120.0),  # furnaces run hot
    Threshold("temperature", "MUC-HT-001", "°C", "ABOVE", 1080.0, 1120.0),
)
# fmt: on

# ───────────────────────── products ─────────────────────────

DIVISIONS = (
    ("AERO", "Aerospace components"),
    ("MOBILITY", "Electric mobility components"),
    ("SPARES", "Maintenance spares"),
)


class Product(NamedTuple):
    sku: str
    name: str
    division_id: str
    category: str
    unit_price: D
    unit_weight_kg: D
    is_manufactured: bool
    requires_certification: bool = False
    material: str | None = None  # the certified raw material it is machined from
    material_per_unit: float = 0.0  # raw units per finished unit


# fmt: off
PRODUCTS = (
    Product("SKU-TB-1001", "Turbine blade TB-1001, Ti-6Al-4V, stage 1", "AERO", "TURBINE_BLADE",
            D("2850.00"), D("0.450"), True, True, "SKU-RM-TI64", 0.2),
    Product("SKU-TB-1002", "Turbine blade TB-1002, Ti-6Al-4V, stage 2", "AERO", "TURBINE_BLADE",
            D("2420.00"), D("0.380"), True, True, "SKU-RM-TI64", 0.2),
    Product("SKU-TB-2001", "Turbine blade TB-2001, Ti-6Al-4V, stage 3", "AERO", "TURBINE_BLADE",
            D("1980.00"), D("0.310"), True, True, "SKU-RM-TI64", 0.125),
    Product("SKU-EH-3001", "Engine housing EH-3001, Inconel 718 combustor case", "AERO",
            "ENGINE_HOUSING", D("38500.00"), D("86.000"), True, True, "SKU-RM-IN718", 4.0),
    Product("SKU-EH-3002", "Engine housing EH-3002, Ti-6Al-4V intermediate case", "AERO",
            "ENGINE_HOUSING", D("27400.00"), D("54.500"), True, True, "SKU-RM-TI64", 3.0),
    Product("SKU-MH-4001", "Motor housing MH-4001, 150 kW e-drive", "MOBILITY", "MOTOR_HOUSING",
            D("385.00"), D("9.800"), True),
    Product("SKU-MH-4002", "Motor housing MH-4002, 250 kW e-drive", "MOBILITY", "MOTOR_HOUSING",
            D("520.00"), D("12.600"), True),
    Product("SKU-BE-5001", "Battery enclosure BE-5001, 75 kWh tray", "MOBILITY",
            "BATTERY_ENCLOSURE", D("1240.00"), D("38.000"), True),
    Product("SKU-BE-5002", "Battery enclosure BE-5002, 100 kWh tray", "MOBILITY",
            "BATTERY_ENCLOSURE", D("1560.00"), D("46.500"), True),
    Product("SKU-BE-5003", "Battery enclosure lid BE-5003", "MOBILITY", "BATTERY_ENCLOSURE",
            D("310.00"), D("11.200"), True),
    Product("SKU-BRG-6205", "Deep-groove ball bearing 6205-2RS", "SPARES", "BEARING",
            D("38.50"), D("0.128"), False),
    Product("SKU-BRG-7014", "Angular-contact spindle bearing 7014, matched pair", "SPARES",
            "BEARING", D("685.00"), D("1.200"), False),
    Product("SKU-BRG-NN3020", "Cylindrical roller bearing NN3020, lathe main spindle", "SPARES",
            "BEARING", D("890.00"), D("1.950"), False),
    Product("SKU-SPN-20K", "Motor spindle 20,000 rpm, HSK-A63", "SPARES", "SPINDLE",
            D("18500.00"), D("38.000"), False),
    Product("SKU-SPN-12K", "Spindle cartridge 12,000 rpm, CAT40", "SPARES", "SPINDLE",
            D("9400.00"), D("29.000"), False),
    Product("SKU-SP-CP200", "Coolant pump, 200 L/min", "SPARES", "SPARE_PART",
            D("1650.00"), D("14.500"), False),
    Product("SKU-SP-VS100", "Accelerometer vibration sensor, 100 mV/g", "SPARES", "SPARE_PART",
            D("420.00"), D("0.090"), False),
    Product("SKU-RM-TI64", "Titanium bar Ti-6Al-4V (AMS 4928), 100 x 1000 mm", "AERO",
            "RAW_MATERIAL", D("1565.00"), D("34.800"), False, True),
    Product("SKU-RM-IN718", "Inconel 718 bar (AMS 5662), 80 x 1000 mm", "AERO",
            "RAW_MATERIAL", D("2470.00"), D("41.200"), False, True),
    Product("SKU-RM-AL6061", "Aluminium plate 6061-T6, 25 x 1000 x 2000 mm", "MOBILITY",
            "RAW_MATERIAL", D("675.00"), D("135.000"), False),
)
# fmt: on


class Operation(NamedTuple):
    operation: str
    wc_type: str
    setup_minutes: int
    run_minutes_per_unit: D
    may_span_break: bool = False


# fmt: off
_BLADE = (
    Operation("Mill airfoil and root, 5-axis", "CNC_MILL", 90, D("42.00")),
    Operation("Solution treat and age", "HEAT_TREAT", 30, D("6.00"), True),
    Operation("Creep-feed grind fir-tree root", "GRINDING", 45, D("12.00")),
    Operation("CMM and FPI inspection", "INSPECTION", 15, D("9.00")),
)
_HOUSING = (
    Operation("Turn flanges and bores", "CNC_LATHE", 120, D("180.00")),
    Operation("Mill bosses and ports, 5-axis", "CNC_MILL", 150, D("240.00")),
    Operation("Stress relieve", "HEAT_TREAT", 45, D("30.00"), True),
    Operation("CMM inspection", "INSPECTION", 30, D("60.00")),
)
_MOTOR = (
    Operation("Turn stator bore and bearing seats", "CNC_LATHE", 45, D("6.50")),
    Operation("Mill cooling channels and flanges", "CNC_MILL", 60, D("8.00")),
    Operation("Leak test and dimensional check", "INSPECTION", 10, D("2.50")),
)
_ENCLOSURE = (
    Operation("Mill tray and crash frame", "CNC_MILL", 60, D("14.00")),
    Operation("Weld and assemble", "ASSEMBLY", 30, D("22.00")),
    Operation("Leak test and dimensional check", "INSPECTION", 15, D("5.00")),
)
ROUTINGS: dict[str, tuple[Operation, ...]] = {
    "SKU-TB-1001": _BLADE,
    "SKU-TB-1002": _BLADE,
    "SKU-TB-2001": (_BLADE[0], *_BLADE[2:]),
    "SKU-EH-3001": _HOUSING,
    "SKU-EH-3002": _HOUSING,
    "SKU-MH-4001": _MOTOR,
    "SKU-MH-4002": _MOTOR,
    "SKU-BE-5001": _ENCLOSURE,
    "SKU-BE-5002": _ENCLOSURE,
    "SKU-BE-5003": (Operation("Mill lid and sealing face", "CNC_MILL", 40, D("6.00")),
                    Operation("Dimensional check", "INSPECTION", 10, D("2.00"))),
}
# fmt: on


class Holding(NamedTuple):
    """Where a SKU is stocked, its reorder policy, and how much free stock there may be."""

    sku: str
    facilities: tuple[str, ...]
    reorder_point: int
    reorder_quantity: int
    free_min: int
    free_max: int


_ALL = ("PHX", "MUC", "DET")
# fmt: off
HOLDINGS = (
    Holding("SKU-TB-1001", ("PHX", "MUC"), 40, 150, 30, 180),
    Holding("SKU-TB-1002", ("PHX", "MUC"), 40, 150, 30, 160),
    Holding("SKU-TB-2001", ("PHX", "MUC"), 30, 120, 20, 140),
    Holding("SKU-EH-3001", ("PHX",), 2, 6, 1, 6),
    Holding("SKU-EH-3002", ("PHX",), 2, 6, 1, 6),
    Holding("SKU-MH-4001", ("DET", "MUC"), 150, 600, 100, 700),
    Holding("SKU-MH-4002", ("DET", "MUC"), 100, 400, 60, 500),
    Holding("SKU-BE-5001", ("DET", "MUC"), 40, 160, 20, 180),
    Holding("SKU-BE-5002", ("DET", "MUC"), 40, 160, 20, 180),
    Holding("SKU-BE-5003", ("DET", "MUC"), 60, 240, 40, 300),
    Holding("SKU-BRG-6205", _ALL, 40, 200, 50, 240),
    Holding("SKU-BRG-7014", _ALL, 4, 12, 5, 14),
    Holding("SKU-BRG-NN3020", _ALL, 2, 6, 3, 8),
    Holding("SKU-SPN-20K", _ALL, 1, 2, 1, 3),
    Holding("SKU-SPN-12K", _ALL, 1, 2, 1, 3),
    Holding("SKU-SP-CP200", _ALL, 2, 4, 2, 6),
    Holding("SKU-SP-VS100", _ALL, 6, 20, 8, 30),
    Holding("SKU-RM-TI64", ("PHX", "MUC"), 60, 120, 70, 160),
    Holding("SKU-RM-IN718", ("PHX",), 20, 40, 24, 50),
    Holding("SKU-RM-AL6061", ("DET", "MUC"), 30, 80, 35, 120),
)
# fmt: on
# (sku, facility) → free stock range that puts it near or below its reorder point. The
# Phoenix incident needs spindle bearings short at PHX.
LOW_STOCK: dict[tuple[str, str], tuple[int, int]] = {
    ("SKU-BRG-7014", "PHX"): (1, 2),
    ("SKU-BRG-6205", "PHX"): (34, 46),
    ("SKU-SP-CP200", "DET"): (0, 1),
    ("SKU-RM-TI64", "MUC"): (48, 66),
}


class SparePart(NamedTuple):
    model: str
    fault_type: str
    part_role: str
    sku: str
    quantity: int


_SPINDLE_MACHINES = ("DMG MORI DMU 50", "Haas VF-2", "Mazak Integrex i-200",
                     "DMG MORI CTX beta 800", "Blohm Profimat MT 408")  # fmt: skip
# fmt: off
SPARE_PARTS = (
    SparePart("DMG MORI DMU 50", "BEARING_DEGRADATION", "spindle front bearing set",
              "SKU-BRG-7014", 2),
    SparePart("DMG MORI DMU 50", "BEARING_DEGRADATION", "spindle rear bearing", "SKU-BRG-6205", 1),
    SparePart("DMG MORI DMU 50", "SPINDLE_WEAR", "motor spindle", "SKU-SPN-20K", 1),
    SparePart("DMG MORI DMU 50", "MOTOR_BURNOUT", "motor spindle", "SKU-SPN-20K", 1),
    SparePart("Haas VF-2", "BEARING_DEGRADATION", "spindle bearing set", "SKU-BRG-7014", 1),
    SparePart("Haas VF-2", "SPINDLE_WEAR", "spindle cartridge", "SKU-SPN-12K", 1),
    SparePart("Mazak Integrex i-200", "BEARING_DEGRADATION", "main spindle front bearing",
              "SKU-BRG-NN3020", 1),
    SparePart("Mazak Integrex i-200", "BEARING_DEGRADATION", "main spindle rear bearing set",
              "SKU-BRG-7014", 1),
    SparePart("DMG MORI CTX beta 800", "BEARING_DEGRADATION", "main spindle front bearing",
              "SKU-BRG-NN3020", 1),
    SparePart("DMG MORI CTX beta 800", "BEARING_DEGRADATION", "main spindle rear bearing set",
              "SKU-BRG-7014", 1),
    SparePart("Blohm Profimat MT 408", "BEARING_DEGRADATION", "wheel spindle bearing set",
              "SKU-BRG-7014", 2),
    *(SparePart(model, "COOLANT_FAILURE", "coolant pump", "SKU-SP-CP200", 1)
      for model in _SPINDLE_MACHINES),
    *(SparePart(model, "SENSOR_DRIFT", "spindle vibration sensor", "SKU-SP-VS100", 1)
      for model in _SPINDLE_MACHINES),
)
# fmt: on

# ───────────────────────── customers, suppliers, carriers ─────────────────────────


class Customer(NamedTuple):
    customer_id: str
    name: str
    region: str
    city: str  # where shipments go
    priority: int
    rush_allowed: bool
    payment_terms_days: int
    contract_days: int  # the contract runs this many days past the plant day
    contact_email: str
    divisions: tuple[str, ...]
    compliance: tuple[str, ...]


# fmt: off
CUSTOMERS = (
    Customer("BOEING", "The Boeing Company", "NA-WEST", "Everett, US", 1, True, 45, 730,
             "supplier.orders@boeing.example", ("AERO",),
             ("AS9100", "FAA_8130_3", "MATERIAL_CERT")),
    Customer("AIRBUS", "Airbus SE", "EU-WEST", "Toulouse, FR", 1, True, 60, 540,
             "procurement@airbus.example", ("AERO",), ("AS9100", "MATERIAL_CERT")),
    Customer("GE_AEROSPACE", "GE Aerospace", "NA-EAST", "Cincinnati, US", 2, True, 45, 365,
             "sourcing@geaerospace.example", ("AERO", "SPARES"),
             ("AS9100", "ITAR", "MATERIAL_CERT")),
    Customer("TESLA", "Tesla, Inc.", "NA-WEST", "Fremont, US", 2, False, 30, 400,
             "parts.supply@tesla.example", ("MOBILITY",), ("IATF16949",)),
    Customer("RIVIAN", "Rivian Automotive, Inc.", "NA-EAST", "Normal, US", 3, False, 30, 120,
             "supplychain@rivian.example", ("MOBILITY",), ("IATF16949", "ISO9001")),
    Customer("BMW", "BMW Group", "EU-CENTRAL", "Dingolfing, DE", 2, True, 60, 600,
             "einkauf@bmw.example", ("MOBILITY", "SPARES"), ("IATF16949", "ISO9001")),
)
# fmt: on


class Supplier(NamedTuple):
    supplier_id: str
    name: str
    country: str
    region: str
    reliability: D
    contact_email: str


class SupplierItem(NamedTuple):
    supplier_id: str
    sku: str
    unit_price: D
    lead_time_days: int
    min_order_qty: int
    is_preferred: bool


# fmt: off
SUPPLIERS = (
    Supplier("NIPPONBEARING", "NipponBearing", "JP", "APAC", D("0.88"),
             "orders@nipponbearing.example"),
    Supplier("RHEINTECH", "RheinTech Industriebedarf GmbH", "DE", "EU-CENTRAL", D("0.95"),
             "vertrieb@rheintech.example"),
    Supplier("TITANMET", "TitanMet Alloys", "US", "NA-WEST", D("0.93"), "sales@titanmet.example"),
    Supplier("ALUFORM", "AluForm Metals", "US", "NA-EAST", D("0.91"), "orders@aluform.example"),
)
SUPPLIER_ITEMS = (
    SupplierItem("NIPPONBEARING", "SKU-BRG-6205", D("31.20"), 21, 50, True),
    SupplierItem("NIPPONBEARING", "SKU-BRG-7014", D("610.00"), 35, 2, True),
    SupplierItem("NIPPONBEARING", "SKU-BRG-NN3020", D("795.00"), 35, 2, True),
    SupplierItem("NIPPONBEARING", "SKU-SPN-20K", D("16900.00"), 56, 1, True),
    SupplierItem("NIPPONBEARING", "SKU-SPN-12K", D("8450.00"), 49, 1, True),
    SupplierItem("RHEINTECH", "SKU-BRG-6205", D("36.80"), 5, 20, False),
    SupplierItem("RHEINTECH", "SKU-BRG-7014", D("705.00"), 10, 1, False),
    SupplierItem("RHEINTECH", "SKU-BRG-NN3020", D("910.00"), 12, 1, False),
    SupplierItem("RHEINTECH", "SKU-SPN-20K", D("17950.00"), 28, 1, False),
    SupplierItem("RHEINTECH", "SKU-SP-CP200", D("1480.00"), 7, 1, True),
    SupplierItem("RHEINTECH", "SKU-SP-VS100", D("365.00"), 4, 1, True),
    SupplierItem("TITANMET", "SKU-RM-TI64", D("1490.00"), 28, 10, True),
    SupplierItem("TITANMET", "SKU-RM-IN718", D("2380.00"), 42, 5, True),
    SupplierItem("ALUFORM", "SKU-RM-AL6061", D("640.00"), 10, 20, True),
)
# fmt: on


class Carrier(NamedTuple):
    carrier_id: str
    name: str
    reliability: D
    price_factor: D
    hub_na: str  # where its North American parcels pass
    hub_eu: str


# fmt: off
CARRIERS = (
    Carrier("DHL", "DHL Express", D("0.93"), D("1.00"), "Cincinnati hub, US", "Leipzig hub, DE"),
    Carrier("FEDEX", "FedEx", D("0.95"), D("1.06"), "Memphis hub, US", "Paris CDG hub, FR"),
    Carrier("UPS", "UPS", D("0.94"), D("0.97"), "Louisville Worldport, US", "Cologne hub, DE"),
)
DESTINATION_REGIONS = ("NA-WEST", "NA-EAST", "EU-CENTRAL", "EU-WEST")
# distance → service level → (base cost, cost per kg, transit days)
RATE_TABLE: dict[str, dict[str, tuple[D, D, int]]] = {
    "LOCAL": {"GROUND": (D("12"), D("0.45"), 2), "EXPRESS": (D("25"), D("0.90"), 1),
              "OVERNIGHT": (D("45"), D("1.60"), 1), "FREIGHT": (D("180"), D("0.18"), 3)},
    "CONTINENTAL": {"GROUND": (D("18"), D("0.70"), 4), "EXPRESS": (D("38"), D("1.40"), 2),
                    "OVERNIGHT": (D("70"), D("2.40"), 1), "FREIGHT": (D("320"), D("0.30"), 5)},
    "INTERCONTINENTAL": {"GROUND": (D("60"), D("2.10"), 9), "EXPRESS": (D("95"), D("4.20"), 3),
                         "OVERNIGHT": (D("160"), D("6.80"), 2),
                         "FREIGHT": (D("950"), D("0.85"), 12)},
}
# service level → weight bands in kg: parcels up to 150 kg, freight above
_PARCEL = ((D("0"), D("30")), (D("30"), D("150")))
WEIGHT_BANDS = {"GROUND": _PARCEL, "EXPRESS": _PARCEL, "OVERNIGHT": _PARCEL,
                "FREIGHT": ((D("150"), D("30000")),)}
# fmt: on

# ───────────────────────── the order book and other open work ─────────────────────────


class OrderPlan(NamedTuple):
    """One order of the book: who, where it stands, and what is fixed about it.

    Lines are drawn from the customer's divisions unless `skus` fixes them.
    """

    customer_id: str
    status: str
    facility_id: str
    tag: str = ""
    skus: tuple[str, ...] = ()
    rush: bool = False
    shipment: str = ""  # SHIPPED orders: IN_TRANSIT, DELAYED or SPLIT
    sources: tuple[str, ...] = ()  # facilities a split reservation or shipment draws on
    hold_reason: str | None = None
    notes: str = ""


# fmt: off
ORDER_PLANS = (
    OrderPlan("BOEING", "COMPLETED", "PHX", tag="boeing-completed"),
    OrderPlan("TESLA", "DELIVERED", "DET", tag="tesla-delivered"),
    OrderPlan("BOEING", "SHIPPED", "PHX", tag="boeing-split", skus=("SKU-TB-1001", "SKU-TB-1002"),
              shipment="SPLIT", sources=("PHX", "MUC"),
              notes="Split shipment: PHX and MUC stock combined to meet the due date"),
    OrderPlan("AIRBUS", "SHIPPED", "MUC", shipment="IN_TRANSIT"),
    OrderPlan("RIVIAN", "SHIPPED", "DET", tag="rivian-delayed", shipment="DELAYED"),
    OrderPlan("BMW", "SHIPPED", "MUC", shipment="IN_TRANSIT"),
    OrderPlan("GE_AEROSPACE", "READY", "PHX"),
    OrderPlan("TESLA", "READY", "DET"),
    OrderPlan("BOEING", "IN_PRODUCTION", "PHX"),
    OrderPlan("AIRBUS", "IN_PRODUCTION", "MUC"),
    OrderPlan("TESLA", "IN_PRODUCTION", "DET"),
    OrderPlan("BMW", "IN_PRODUCTION", "MUC"),
    OrderPlan("BOEING", "RESERVED", "PHX", tag="boeing-expedite", skus=("SKU-TB-1001",),
              rush=True, sources=("PHX", "MUC"),
              notes="Rush: AOG recovery for the 787 line; stock reserved at PHX and MUC"),
    OrderPlan("GE_AEROSPACE", "RESERVED", "PHX"),
    OrderPlan("RIVIAN", "RESERVED", "DET"),
    OrderPlan("TESLA", "RESERVED", "DET"),
    OrderPlan("AIRBUS", "VALIDATED", "MUC"),
    OrderPlan("BMW", "VALIDATED", "MUC", skus=("SKU-SPN-20K", "SKU-BRG-7014"),
              notes="Spares for BMW's in-house DMU 50 fleet"),
    OrderPlan("TESLA", "VALIDATED", "DET"),
    OrderPlan("BOEING", "CREATED", "PHX"),
    OrderPlan("RIVIAN", "CREATED", "DET"),
    OrderPlan("GE_AEROSPACE", "CREATED", "PHX"),
    OrderPlan("AIRBUS", "ON_HOLD", "MUC",
              hold_reason="Customer asked to hold: drawing revision C awaiting approval"),
)
# fmt: on
FIRST_ORDER_NUMBER = 10001  # ORD-10001 on, as the order_number sequence counts

# category → (least, most) units on an order line
ORDER_QUANTITY: dict[str, tuple[int, int]] = {
    "TURBINE_BLADE": (24, 120),
    "ENGINE_HOUSING": (1, 4),
    "MOTOR_HOUSING": (80, 480),
    "BATTERY_ENCLOSURE": (20, 120),
    "BEARING": (2, 12),
    "SPINDLE": (1, 2),
    "SPARE_PART": (1, 6),
}

# raw material, facility, how many heats of it are in stock there
RAW_HEATS = (("SKU-RM-TI64", "PHX", 3), ("SKU-RM-TI64", "MUC", 2), ("SKU-RM-IN718", "PHX", 1))


class PurchasePlan(NamedTuple):
    supplier_id: str
    sku: str
    facility_id: str
    status: str
    least: int
    most: int


# fmt: off
PURCHASE_PLANS = (
    PurchasePlan("TITANMET", "SKU-RM-TI64", "PHX", "IN_TRANSIT", 20, 60),
    PurchasePlan("NIPPONBEARING", "SKU-BRG-6205", "MUC", "IN_TRANSIT", 100, 300),
    PurchasePlan("NIPPONBEARING", "SKU-BRG-NN3020", "PHX", "PENDING", 2, 6),
    PurchasePlan("NIPPONBEARING", "SKU-SPN-12K", "DET", "PENDING", 1, 2),
    PurchasePlan("ALUFORM", "SKU-RM-AL6061", "DET", "PENDING", 40, 100),
    PurchasePlan("RHEINTECH", "SKU-SP-VS100", "MUC", "RECEIVED", 10, 20),
)
# fmt: on


class WorkOrderPlan(NamedTuple):
    machine_id: str
    kind: str
    priority: str
    status: str
    fault_type: str | None
    description: str
    assigned_to: str | None


# fmt: off
WORK_ORDER_PLANS = (
    WorkOrderPlan("DET-CNC-003", "CORRECTIVE", "HIGH", "IN_PROGRESS", "COOLANT_FAILURE",
                  "Coolant pump cavitating, pressure under 2.5 bar: replace pump SKU-SP-CP200",
                  "J. Alvarez"),
    WorkOrderPlan("PHX-CNC-012", "PREVENTIVE", "MEDIUM", "SCHEDULED", None,
                  "2,000-hour service: way lube, ballscrew backlash, spindle runout", "R. Chen"),
    WorkOrderPlan("MUC-CNC-001", "PREVENTIVE", "MEDIUM", "SCHEDULED", None,
                  "Quarterly service: coolant change, taper cleaning, axis calibration",
                  "S. Huber"),
    WorkOrderPlan("PHX-HT-001", "PREVENTIVE", "LOW", "SCHEDULED", None,
                  "Vacuum pump oil change and thermocouple survey (AMS 2750)", "R. Chen"),
    WorkOrderPlan("MUC-GRD-001", "INSPECTION", "LOW", "OPEN", None,
                  "Wheel spindle vibration check after the last wheel change", None),
)
# fmt: on


class InquiryPlan(NamedTuple):
    customer_id: str
    order_tag: str
    channel: str
    kind: str  # STATUS, EXPEDITE, QUALITY or OTHER
    subject: str  # {order_id} is filled in
    body: str
    response: str | None  # None: still open


# fmt: off
INQUIRY_PLANS = (
    InquiryPlan("BOEING", "boeing-expedite", "EMAIL", "EXPEDITE",
                "Rush order {order_id}: confirm ship date",
                "Our 787 line is waiting on these blades. Please confirm the ship date and the "
                "carrier for order {order_id} today.", None),
    InquiryPlan("RIVIAN", "rivian-delayed", "PORTAL", "STATUS", "Where is order {order_id}?",
                "The tracking for order {order_id} has shown a delay since yesterday. When will "
                "it arrive?", None),
    InquiryPlan("TESLA", "tesla-delivered", "PHONE", "OTHER",
                "Delivery receipt for order {order_id}",
                "Please send the signed delivery receipt for order {order_id} to accounts "
                "payable.", "The signed proof of delivery for order {order_id} is attached."),
)
# fmt: on
