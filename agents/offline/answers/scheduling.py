"""Answers about due dates, capacity, queues and schedules."""

from __future__ import annotations

from typing import Any

from agents.offline.answers import answer
from agents.offline.answers.common import (
    day,
    hours,
    label,
    listing,
    num,
    pct,
    plural,
    table,
    when,
    words,
)
from agents.offline.planner import Progress

_SOURCE = {
    "APPLIED_SCHEDULE": "from the schedule in force",
    "WHAT_IF": "from a what-if plan (nothing was changed)",
}


def _late(minutes: Any) -> str:
    m = int(minutes or 0)
    return hours(m / 60) + " late"


def _check_sentence(c: dict[str, Any]) -> str:
    order = c.get("order_id")
    due = day(c.get("due_at"))
    if c.get("source") in ("ORDER_STATUS", "NOTHING_TO_MAKE", "NO_PLAN"):
        return f"{order} (due {due}): {c.get('note') or words(c.get('status'))}."
    finish = when(c.get("planned_finish"))
    source = _SOURCE.get(str(c.get("source")), "")
    if c.get("makes_due_date"):
        return f"{order} makes its date: planned to finish {finish}, due {due} ({source})."
    return (
        f"{order} will be {_late(c.get('minutes_late'))}: planned to finish {finish}, due {due} "
        f"({source})."
    )


@answer("due_dates")
def due_dates(p: Progress) -> str:
    report = p.result("check_due_dates") or {}
    checks = [c for c in report.get("orders") or [] if isinstance(c, dict)]
    machine = p.values.get("machine")
    lead = ""
    if machine:
        plan = _schedule_of(p.result("current_schedule")) or {}
        touched = {
            s.get("order_id")
            for s in plan.get("slots") or []
            if isinstance(s, dict) and s.get("machine_id") == machine
        }
        if touched:
            checks = [c for c in checks if c.get("order_id") in touched]
            lead = (
                f"{plural(len(checks), 'open order')} have work on {machine} in the schedule in "
                "force. "
            )
        else:
            lead = f"No open order has work planned on {machine}; for the site as a whole: "
    if not checks:
        return lead + "No open orders to check."
    if len(checks) <= 3:
        return lead + " ".join(_check_sentence(c) for c in checks)
    late = [c for c in checks if c.get("makes_due_date") is False]
    summary = (
        f"{plural(len(late), 'order')} of {len(checks)} will miss "
        f"{'its' if len(late) == 1 else 'their'} due date"
        if late
        else f"All {len(checks)} open orders make their due dates"
    )
    rows = sorted(checks, key=lambda c: -int(c.get("minutes_late") or 0))
    grid = table(
        ["Order", "Customer", "Due", "Planned finish", "Late by", "From"],
        [
            [
                c.get("order_id"),
                c.get("customer_id"),
                day(c.get("due_at")),
                when(c.get("planned_finish")),
                _late(c.get("minutes_late")) if c.get("minutes_late") else "on time",
                words(c.get("source")),
            ]
            for c in rows
        ],
        limit=15,
    )
    return f"{lead}{summary}.\n\n{grid}"


@answer("bottlenecks")
def bottlenecks(p: Progress) -> str:
    d = p.result("bottlenecks") or {}
    centers = [w for w in d.get("work_centers") or [] if isinstance(w, dict)]
    scope = label("facility", d.get("facility_id")) if d.get("facility_id") else "the plant"
    if not centers:
        return f"No work centers to measure in {scope}."
    centers.sort(key=lambda w: -float(w.get("load_ratio") or 0))
    top = centers[0]
    lead = (
        f"The bottleneck in {scope} from {day(d.get('starts_at'))} to {day(d.get('ends_at'))} is "
        f"{d.get('bottleneck') or top.get('work_center_id')}: demand is "
        f"{pct(top.get('load_ratio'))} of its "
        f"available time ({num(float(top.get('demand_minutes') or 0) / 60, 0)} h asked of "
        f"{num(float(top.get('available_minutes') or 0) / 60, 0)} h)."
    )
    over = [w for w in centers if float(w.get("load_ratio") or 0) > 1]
    if over:
        lead += (
            f" Over capacity: {listing([str(w.get('work_center_id')) for w in over])} — overtime "
            "or moving work would be needed."
        )
    grid = table(
        ["Work center", "Type", "Load", "Booked", "Available h"],
        [
            [
                w.get("work_center_id"),
                words(w.get("wc_type")),
                pct(w.get("load_ratio")),
                pct(w.get("utilisation")),
                num(float(w.get("available_minutes") or 0) / 60, 0),
            ]
            for w in centers
        ],
    )
    return f"{lead}\n\n{grid}"


@answer("queue")
def queue(p: Progress) -> str:
    d = p.result("work_center_queue") or {}
    entries = [e for e in d.get("entries") or [] if isinstance(e, dict)]
    rule = d.get("rule")
    if not entries:
        return f"Nothing waits at {d.get('work_center_id')}."
    first = entries[0]
    lead = (
        f"{plural(len(entries), 'operation')} wait at {d.get('work_center_id')}, in {rule} "
        "order; next is "
        f"{first.get('order_id')} {first.get('operation')} ({first.get('quantity')} × "
        f"{first.get('sku')}, due {day(first.get('due_at'))})."
    )
    grid = table(
        ["#", "Order", "Operation", "Product", "Qty", "Customer", "Due", "Minutes", "Rush"],
        [
            [
                e.get("position"),
                e.get("order_id"),
                e.get("operation"),
                e.get("sku"),
                e.get("quantity"),
                e.get("customer_id"),
                day(e.get("due_at")),
                e.get("minutes"),
                "yes" if e.get("is_rush") else "",
            ]
            for e in entries
        ],
    )
    return f"{lead}\n\n{grid}"


def _schedule_of(value: Any) -> dict[str, Any] | None:
    if isinstance(value, dict) and isinstance(value.get("schedule"), dict):
        schedule: dict[str, Any] = value["schedule"]
        return schedule
    if isinstance(value, dict) and value.get("schedule_id"):
        return value
    return None


_VERBS = {
    "propose_schedule": "Proposed",
    "reschedule_machine": "Proposed",
    "apply_schedule": "Applied",
    "reject_schedule": "Rejected",
}


@answer("schedule")
def schedule(p: Progress) -> str:
    for step, outcome in reversed(p.calls):
        data = outcome.data
        plan = _schedule_of(data)
        if plan is None:
            if isinstance(data, dict) and data.get("solver_status"):
                return (
                    f"The scheduler found no schedule ({words(data['solver_status'])}): "
                    f"{data.get('reason') or 'no reason given'}."
                )
            if step.tool == "current_schedule":
                scope = p.values.get("facility")
                return (
                    "No schedule is in force"
                    f"{(' at ' + label('facility', scope)) if scope else ''}."
                )
            continue
        text = _schedule_text(plan, _VERBS.get(step.tool, ""))
        machine = p.values.get("machine")
        if machine and step.tool in ("current_schedule", "get_schedule"):
            text += "\n\n" + _machine_slots(plan, str(machine))
        return text
    return "No schedule came back."


def _machine_slots(plan: dict[str, Any], machine: str) -> str:
    slots = [
        s for s in plan.get("slots") or [] if isinstance(s, dict) and s.get("machine_id") == machine
    ]
    if not slots:
        return f"{machine} has nothing planned in it."
    grid = table(
        ["Starts", "Ends", "Order", "Operation", "Step"],
        [
            [
                when(s.get("starts_at")),
                when(s.get("ends_at")),
                s.get("order_id"),
                s.get("operation"),
                s.get("op_seq"),
            ]
            for s in slots
        ],
        limit=15,
    )
    return f"{machine} runs {plural(len(slots), 'operation')} in it:\n\n{grid}"


def _schedule_text(plan: dict[str, Any], verb: str) -> str:
    slots = plan.get("slots") or []
    late = [o for o in plan.get("late_orders") or [] if isinstance(o, dict)]
    scope = label("facility", plan.get("facility_id")) if plan.get("facility_id") else "the plant"
    text = (
        f"{verb + ' s' if verb else 'S'}chedule {plan.get('schedule_id')} for {scope} "
        f"({words(plan.get('status'))}, {plural(len(slots), 'operation')}, solver "
        f"{words(plan.get('solver_status'))})"
    )
    impact = plan.get("impact") or {}
    if impact:
        text += (
            f": it moves {plural(int(impact.get('jobs_moved') or 0), 'job')} "
            f"({impact.get('operations_moved')} operations) and needs "
            f"{impact.get('overtime_minutes') or 0} min of overtime"
        )
    text += "."
    if late:
        text += (
            " Late: "
            + "; ".join(
                f"{o.get('order_id')} by {_late(o.get('minutes_late'))} (finishes "
                f"{when(o.get('finishes_at'))}, due {day(o.get('due_at'))})"
                for o in late[:5]
            )
            + "."
        )
    elif slots:
        text += " Every order in it finishes by its due date."
    if plan.get("status") == "PROPOSED":
        text += (
            ' Nothing changes on the floor until it is applied ("apply schedule '
            f'{plan.get("schedule_id")}").'
        )
    return text


@answer("conflicts")
def conflicts(p: Progress) -> str:
    d = p.result("schedule_conflicts") or {}
    found = [c for c in d.get("conflicts") or [] if isinstance(c, dict)]
    if not found:
        return (
            f"Schedule {d.get('schedule_id')} has no conflicts "
            f"({plural(int(d.get('slots') or 0), 'slot')} checked)."
        )
    grid = table(
        ["Kind", "Machine", "Order", "When", "Minutes", "What"],
        [
            [
                words(c.get("kind")),
                c.get("machine_id"),
                c.get("order_id"),
                when(c.get("starts_at")),
                c.get("minutes"),
                c.get("message"),
            ]
            for c in found
        ],
    )
    return f"Schedule {d.get('schedule_id')} has {plural(len(found), 'conflict')}:\n\n{grid}"
