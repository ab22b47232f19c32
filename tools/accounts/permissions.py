"""Who may do what: the permission matrix, as plant MES systems have it, in one table.

Every HTTP route and every MCP tool names the permission it needs; an approval request names
the permission needed to decide it, and exactly the roles that hold it may. Four roles are
people's (an API key carries one); `automation` is the role of the runs nobody started (a
critical anomaly, a supplier delay, a customer inquiry): it may read, record findings and tell
the staff, and whatever else it would write becomes a request for a person instead (it
*proposes*), so untrusted text in an inquiry or a supplier's note can at most ask.

`docs/permissions.md` is this table with what each route and tool needs (`titan keys
permissions > docs/permissions.md` writes it; a test keeps them equal).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, get_args

from tools.accounts.accounts import ROLES, Role
from tools.core.errors import PermissionDeniedError


class Permission(StrEnum):
    SCHEDULE_VIEW = "schedule.view"
    SCHEDULE_EDIT = "schedule.edit"
    SCHEDULE_APPROVE = "schedule.approve"
    JOB_VIEW = "job.view"
    JOB_CREATE = "job.create"
    JOB_RELEASE = "job.release"
    MACHINE_VIEW = "machine.view"
    MACHINE_MAINTAIN = "machine.maintain"
    MACHINE_CONFIG = "machine.config"
    MATERIAL_VIEW = "material.view"
    MATERIAL_EDIT = "material.edit"
    MESSAGE_VIEW = "message.view"
    MESSAGE_SEND = "message.send"
    REPORT_VIEW = "report.view"
    REPORT_EXPORT = "report.export"
    AI_TRIGGER = "ai.trigger"
    AI_APPROVE = "ai.approve"
    SPEND_APPROVE = "spend.approve"
    PLANT_CONFIG = "plant.config"
    THREAD_VIEW_ALL = "thread.view_all"
    SIM_CONTROL = "sim.control"
    PLANT_RESET = "plant.reset"
    KEYS_MANAGE = "keys.manage"


P = Permission

DESCRIPTIONS: dict[Permission, str] = {
    P.SCHEDULE_VIEW: "See schedules, proposals, work-center queues, conflicts and bottlenecks",
    P.SCHEDULE_EDIT: "Propose, reschedule, apply and reject schedules (a change that needs a "
    "person waits for schedule.approve)",
    P.SCHEDULE_APPROVE: "Decide the schedule changes held for a person",
    P.JOB_VIEW: "See orders and work orders",
    P.JOB_CREATE: "Create and validate customer orders",
    P.JOB_RELEASE: "Move jobs on: hold, release, cancel and progress orders; schedule, start, "
    "complete and cancel work orders",
    P.MACHINE_VIEW: "See machines, their health, sensor readings and thresholds, anomalies, "
    "predictions and OEE",
    P.MACHINE_MAINTAIN: "Record anomalies and failure predictions, and open work orders (they "
    "take no machine out of production until scheduled)",
    P.MACHINE_CONFIG: "Set a machine's sensor thresholds (a plant-wide one waits for plant.config)",
    P.MATERIAL_VIEW: "See stock, products, purchase orders, suppliers, carriers and shipments",
    P.MATERIAL_EDIT: "Adjust, reserve and release stock; raise and progress purchase orders; "
    "create and progress shipments",
    P.MESSAGE_VIEW: "See notifications and customer inquiries",
    P.MESSAGE_SEND: "Notify the staff, write messages, log and answer inquiries (whatever a "
    "customer reads waits for ai.approve)",
    P.REPORT_VIEW: "See the audit trail, traceability, compliance, the data catalog, approval "
    "requests and the live event and sensor streams",
    P.REPORT_EXPORT: "Export the audit trail as CSV",
    P.AI_TRIGGER: "Ask the assistant, and read and continue one's own threads",
    P.AI_APPROVE: "Decide the writes held for a person (the assistant's or a client's) within "
    "the ordinary limits: customer messages, order holds and cancellations, rush orders, work "
    "orders, stock adjustments and purchase orders up to the manager limit",
    P.SPEND_APPROVE: "Decide purchase orders above the manager limit",
    P.PLANT_CONFIG: "Decide plant-wide settings (a sensor threshold for every machine)",
    P.THREAD_VIEW_ALL: "Read and continue threads other people started",
    P.SIM_CONTROL: "Stage scenarios, inject faults, set rates, pause and resume the simulation",
    P.PLANT_RESET: "Reset the plant to the demo state (the reset is recorded and the record kept)",
    P.KEYS_MANAGE: "Make, list and revoke API keys",
}

Holder = Literal["operator", "supervisor", "production_manager", "admin", "automation"]
HOLDERS: tuple[Holder, ...] = get_args(Holder)

_VIEW = frozenset(
    {P.SCHEDULE_VIEW, P.JOB_VIEW, P.MACHINE_VIEW, P.MATERIAL_VIEW, P.MESSAGE_VIEW, P.REPORT_VIEW}
)
_OPERATOR = _VIEW | {P.AI_TRIGGER}
_SUPERVISOR = _OPERATOR | {
    P.SCHEDULE_EDIT, P.JOB_CREATE, P.JOB_RELEASE, P.MACHINE_MAINTAIN, P.MACHINE_CONFIG,
    P.MATERIAL_EDIT, P.MESSAGE_SEND, P.REPORT_EXPORT, P.AI_APPROVE, P.SIM_CONTROL,
}  # fmt: skip
_MANAGER = _SUPERVISOR | {P.SCHEDULE_APPROVE, P.SPEND_APPROVE, P.PLANT_CONFIG, P.THREAD_VIEW_ALL}

# The one table: what each role holds.
MATRIX: dict[Holder, frozenset[Permission]] = {
    "operator": _OPERATOR,
    "supervisor": _SUPERVISOR,
    "production_manager": _MANAGER,
    "admin": frozenset(Permission),
    "automation": _VIEW | {P.MACHINE_MAINTAIN, P.MESSAGE_SEND},
}
# Holders whose writes beyond what they hold become approval requests instead of refusals.
PROPOSES: frozenset[Holder] = frozenset({"automation"})


def holds(holder: Holder, permission: Permission) -> bool:
    return permission in MATRIX[holder]


def deciders(permission: Permission) -> list[Role]:
    """The people's roles that hold `permission`, lowest first."""
    return [role for role in ROLES if permission in MATRIX[role]]


def least_role(permission: Permission) -> Role:
    """The lowest people's role that holds `permission`."""
    found = deciders(permission)
    assert found, f"no role holds {permission}"
    return found[0]


def parse_permission(value: str) -> Permission:
    try:
        return Permission(value)
    except ValueError:
        raise PermissionDeniedError(f"unknown permission {value!r}") from None


def refusal(
    user: str, holder: Holder, permission: Permission, *, action: str
) -> PermissionDeniedError:
    """The error saying that `user` (a `holder`) may not do `action`, which needs `permission`."""
    roles = deciders(permission)
    return PermissionDeniedError(
        f"{action} needs the permission {permission}, which {', '.join(roles)} hold; "
        f"{user} is {holder}",
        action=action,
        role=holder,
        permission=str(permission),
        roles=", ".join(roles),
    )


def require(user: str, holder: Holder, permission: Permission, *, action: str) -> None:
    """Raise PermissionDeniedError unless `holder` holds `permission`."""
    if not holds(holder, permission):
        raise refusal(user, holder, permission, action=action)


def render_markdown(
    routes: list[tuple[str, str, str]] | None = None,
    tools: list[tuple[str, str]] | None = None,
) -> str:
    """The matrix as the docs show it; with `routes` and `tools`, which each needs."""
    head = "| Permission | " + " | ".join(HOLDERS) + " | What it allows |"
    rule = "|" + "---|" * (len(HOLDERS) + 2)
    lines = [
        "# Permissions",
        "",
        "Generated from `tools/accounts/permissions.py` and the routes and tools that name",
        "their permission (`titan keys permissions > docs/permissions.md`); a test keeps it equal.",
        "",
        "Roles are people's (an API key carries one), except `automation`: the role of the runs",
        "nobody started (events). What `automation` would write beyond its permissions becomes",
        "an approval request that a person with the permission decides.",
        "",
        head,
        rule,
    ]
    for permission in Permission:
        marks = " | ".join("✓" if permission in MATRIX[h] else "" for h in HOLDERS)
        lines.append(f"| `{permission}` | {marks} | {DESCRIPTIONS[permission]} |")
    if routes:
        lines += [
            "", "## HTTP routes", "",
            "`/`, `/console/…`, `/health` and `/ready` need no key; `/metrics` needs none either",
            "when `TITAN_METRICS_PUBLIC` is set. The MCP endpoints (`/mcp/<server>`) need a valid",
            "key; each tool then checks its own permission.", "",
            "| Route | Permission |", "|---|---|",
        ]  # fmt: skip
        lines += [f"| `{method} {path}` | {perm} |" for method, path, perm in routes]
    if tools:
        lines += ["", "## MCP tools", "", "| Tool | Permission |", "|---|---|"]
        lines += [f"| `{name}` | {perm} |" for name, perm in tools]
    return "\n".join(lines) + "\n"
