"""Answers about machines, their health, faults, predictions, work orders, limits and OEE."""

from __future__ import annotations

from typing import Any

from agents.offline.answers import answer
from agents.offline.answers.common import (
    hours,
    keep,
    label,
    listing,
    num,
    pct,
    plural,
    rows_of,
    status_words,
    table,
    when,
    words,
)
from agents.offline.planner import Progress

_LEVEL_ORDER = {"CRITICAL": 0, "WARNING": 1, "OK": 2, "UNKNOWN": 3}


def _metrics(health: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    metrics = health.get("metrics") or {}
    return sorted(
        metrics.items(),
        key=lambda kv: (_LEVEL_ORDER.get(str(kv[1].get("level")), 4), kv[0]),
    )


def _sensor_line(sensor: str, m: dict[str, Any]) -> str:
    stats, limit = m.get("stats") or {}, m.get("threshold") or {}
    unit = stats.get("unit") or limit.get("unit") or ""
    line = f"{sensor} {num(stats.get('current', stats.get('last')))} {unit}".strip()
    if limit:
        line += (
            f" against a warning level of {num(limit.get('warning'))} (critical "
            f"{num(limit.get('critical'))})"
        )
    slope = stats.get("slope_per_hour")
    if slope and abs(float(slope)) > 1e-3:
        line += (
            f", {'rising' if float(slope) > 0 else 'falling'} {num(abs(float(slope)), 2)} {unit} "
            "an hour"
        )
    if m.get("hours_to_critical") is not None:
        line += f" — about {hours(m['hours_to_critical'])} to critical"
    return line


def health_sentence(health: dict[str, Any]) -> str:
    machine = health.get("machine_id")
    name = label("machine", machine)
    index = health.get("health_index")
    status = health.get("status")
    head = f"{machine} ({name})" if name != machine else str(machine)
    sentence = f"{head} is {words(health.get('machine_status'))}"
    if index is not None:
        sentence += f", health index {index}/100 ({words(status)})"
    else:
        sentence += f" ({words(status)}; no recent readings to score its health)"
    bad = [(s, m) for s, m in _metrics(health) if m.get("level") in ("WARNING", "CRITICAL")]
    if bad:
        sentence += ": " + "; ".join(_sensor_line(s, m) for s, m in bad[:3])
    elif index is not None:
        sentence += "; every sensor is within its limits"
    return sentence + "."


@answer("machine_health")
def machine_health(p: Progress) -> str:
    health = p.result("machine_health") or {}
    rows = []
    for sensor, m in _metrics(health):
        stats, limit = m.get("stats") or {}, m.get("threshold") or {}
        rows.append(
            [
                sensor,
                f"{num(stats.get('current', stats.get('last')))} {stats.get('unit') or ''}".strip(),
                f"{num(limit.get('warning'))} / {num(limit.get('critical'))}" if limit else "—",
                num(stats.get("slope_per_hour"), 3)
                if stats.get("slope_per_hour") is not None
                else "—",
                words(m.get("level")),
            ]
        )
    text = health_sentence(health)
    grid = table(["Sensor", "Now", "Warning / critical", "Trend per h", "Level"], rows)
    return f"{text}\n\n{grid}" if grid else text


def _findings(scan: Any) -> list[dict[str, Any]]:
    return [f for f in (scan or {}).get("findings", []) if isinstance(f, dict)]


def _diagnosis_sentence(machine: str, fault: dict[str, Any]) -> str:
    if not fault.get("fault_type"):
        return f"The readings of {machine} point to no particular fault."
    top = (fault.get("candidates") or [{}])[0]
    evidence = "; ".join(top.get("evidence", [])[:2])
    return (
        f"{machine} most likely has {words(fault['fault_type'])} "
        f"(confidence {num(fault.get('confidence'), 2)})"
        + (f": {evidence}" if evidence else "")
        + "."
    )


def _prediction_sentence(estimate: dict[str, Any]) -> str:
    rul = estimate.get("rul_hours")
    mode = words(estimate.get("failure_mode"))
    chance = (
        f"{pct(estimate.get('probability'))} chance of failure within "
        f"{num(estimate.get('horizon_hours'), 0)} h"
    )
    if rul is None:
        return f"No failure is in sight from the {mode} trend ({chance})."
    interval = ""
    if estimate.get("rul_low_hours") is not None and estimate.get("rul_high_hours") is not None:
        interval = (
            f" (90% between {hours(estimate['rul_low_hours'])} and "
            f"{hours(estimate['rul_high_hours'])})"
        )
    at = (
        f", around {when(estimate['predicted_failure_at'])}"
        if estimate.get("predicted_failure_at")
        else ""
    )
    return (
        f"At the current trend it is expected to fail from {mode} in about {hours(rul)}"
        f"{interval}{at}; {chance}, confidence {num(estimate.get('confidence'), 2)}."
    )


@answer("diagnosis")
def diagnosis(p: Progress) -> str:
    machine = str(p.values.get("machine"))
    parts: list[str] = []
    fault = p.result("classify_fault") or {}
    parts.append(_diagnosis_sentence(machine, fault))
    findings = _findings(p.result("scan_anomalies"))
    if findings:
        listed = "; ".join(
            f"{f.get('description')} ({words(f.get('severity'))})" for f in findings[:3]
        )
        parts.append(f"Anomalies in the last hour: {listed}.")
    elif p.result("scan_anomalies") is not None:
        parts.append("No anomalies in the last hour's readings.")
    estimate = p.result("estimate_failure")
    if isinstance(estimate, dict):
        parts.append(_prediction_sentence(estimate))
    health = p.result("machine_health")
    if isinstance(health, dict) and health.get("health_index") is not None:
        parts.append(f"Health index {health['health_index']}/100 ({words(health.get('status'))}).")
    if fault.get("fault_type") or findings:
        parts.append(f'Nothing was changed; to act, ask me to "open a work order for {machine}".')
    return " ".join(parts)


@answer("prediction")
def prediction(p: Progress) -> str:
    estimate = p.result("estimate_failure") or p.result("predict_failure") or {}
    machine = estimate.get("machine_id") or p.values.get("machine")
    text = f"{machine}: " + _prediction_sentence(estimate)
    evidence = "; ".join((estimate.get("evidence") or [])[:2])
    if evidence:
        text += f" Evidence: {evidence}."
    if p.result("predict_failure"):
        text += f" The prediction is stored (#{estimate.get('prediction_id')})."
    return text


@answer("machines")
def machines(p: Progress) -> str:
    rows = keep(rows_of(p.result("list_machines")), p.values.get("status"))
    scope = " ".join(
        x
        for x in (
            status_words(p.values.get("status")),
            label("facility", p.values.get("facility")) if p.values.get("facility") else "",
        )
        if x
    )
    if not rows:
        return f"No machines match{(' (' + scope + ')') if scope else ''}."
    head = f"{plural(len(rows), 'machine')}{(' — ' + scope) if scope else ''}:"
    grid = table(
        ["Machine", "Name", "Work center", "Model", "Status", "Last heartbeat"],
        [
            [
                r.get("machine_id"),
                r.get("name"),
                r.get("work_center_id"),
                r.get("model"),
                words(r.get("status")),
                when(r.get("last_heartbeat_at")),
            ]
            for r in rows
        ],
        limit=25,
    )
    return f"{head}\n\n{grid}"


@answer("plant_health")
def plant_health(p: Progress) -> str:
    rows = rows_of(p.result("plant_health"))
    if not rows:
        return "No machines to report on."
    rows.sort(key=lambda r: (r.get("health_index") is None, r.get("health_index") or 0))
    worst = [r for r in rows if r.get("status") in ("DEGRADED", "DOWN", "CRITICAL")]
    scope = label("facility", p.values["facility"]) if p.values.get("facility") else "the plant"
    if worst:
        lead = (
            f"In {scope}, {plural(len(worst), 'machine')} need attention: "
            + listing(
                [
                    f"{r['machine_id']} ({words(r.get('status'))}, index {r.get('health_index')})"
                    for r in worst
                ]
            )
            + "."
        )
    else:
        lead = f"Every machine in {scope} is healthy."
    grid = table(
        ["Machine", "Status", "Health", "Why"],
        [
            [
                r.get("machine_id"),
                f"{words(r.get('machine_status'))} / {words(r.get('status'))}",
                r.get("health_index"),
                "; ".join((r.get("reasons") or [])[:1]),
            ]
            for r in rows
        ],
        limit=12,
    )
    return f"{lead}\n\n{grid}"


@answer("heartbeat_risk")
def heartbeat_risk(p: Progress) -> str:
    found = p.result("get_heartbeat_risk")
    found = found if isinstance(found, dict) else {}
    machines = [m for m in found.get("machines") or [] if isinstance(m, dict)]
    if not machines:
        return "No machines to report on."
    if len(machines) == 1:
        m = machines[0]
        rate = m.get("error_rate")
        head = (
            f"{m['machine_id']} ({words(m.get('machine_status'))}): heartbeat risk "
            f"{m.get('risk')}, connectivity {m.get('connectivity')}."
        )
        detail = "; ".join(m.get("reasons") or [])
        if rate is not None and m.get("judged"):
            detail = f"{pct(rate)} of its heartbeats missed lately. " + detail
        tail = f"\n\n{m['suggestion']}." if m.get("suggestion") else ""
        return f"{head} {detail}{tail}".strip()
    risky = [m for m in machines if m.get("risk") != "LOW" or m.get("connectivity") != "OK"]
    scope = label("facility", p.values["facility"]) if p.values.get("facility") else "the plant"
    if not risky:
        lead = f"Every machine in {scope} is heard steadily: heartbeat risk LOW."
    else:
        lead = (
            f"In {scope}, {plural(len(risky), 'machine')} to watch: "
            + listing(
                [f"{m['machine_id']} ({m.get('risk')}, {m.get('connectivity')})" for m in risky]
            )
            + "."
        )
    facilities = [f for f in found.get("facilities") or [] if isinstance(f, dict)]
    sites = ", ".join(f"{f['facility_id']} {f.get('risk')}" for f in facilities)
    grid = table(
        ["Machine", "Risk", "Connectivity", "Missed", "Why"],
        [
            [m.get("machine_id"), m.get("risk"), m.get("connectivity"),
             pct(m["error_rate"]) if m.get("error_rate") is not None else "—",
             "; ".join((m.get("reasons") or [])[:1])]
            for m in sorted(risky or machines, key=lambda m: (m.get("risk") != "HIGH",
                                                              m.get("risk") != "MEDIUM"))
        ],
        limit=12,
    )  # fmt: skip
    return f"{lead}" + (f" Facilities: {sites}." if sites else "") + f"\n\n{grid}"


@answer("anomalies")
def anomalies(p: Progress) -> str:
    rows = rows_of(p.result("list_anomalies"))
    machine = p.values.get("machine")
    where = f" on {machine}" if machine else ""
    status = words(p.values.get("status"))
    if not rows:
        return f"No {status + ' ' if status else ''}anomalies recorded{where}."
    open_rows = [r for r in rows if r.get("status") == "OPEN"]
    lead = f"{plural(len(rows), 'anomaly', 'anomalies')} recorded{where}"
    lead += f", {len(open_rows)} still open" if not status else ""
    grid = table(
        ["When", "Machine", "Sensor", "Kind", "Severity", "Value / limit", "Status"],
        [
            [
                when(r.get("detected_at")),
                r.get("machine_id"),
                r.get("sensor"),
                words(r.get("kind")),
                words(r.get("severity")),
                f"{num(r.get('value'))} / {num(r.get('threshold'))}",
                words(r.get("status")),
            ]
            for r in rows
        ],
    )
    return f"{lead}:\n\n{grid}"


@answer("scan")
def scan(p: Progress) -> str:
    findings = _findings(p.result("scan_anomalies"))
    machines = p.values.get("machine") or []
    scope = listing(list(machines)) if machines else "the machines scanned"
    if not findings:
        return f"The last hour's readings of {scope} look normal: no anomalies."
    grid = table(
        ["Machine", "Sensor", "Finding", "Severity"],
        [
            [f.get("machine_id"), f.get("sensor"), f.get("description"), words(f.get("severity"))]
            for f in findings
        ],
    )
    return (
        f"{plural(len(findings), 'anomaly', 'anomalies')} in the last hour "
        f"(nothing recorded):\n\n{grid}"
    )


@answer("recorded_anomalies")
def recorded_anomalies(p: Progress) -> str:
    report = p.result("detect_anomalies") or {}
    written = [w for w in report.get("written", []) if isinstance(w, dict)]
    found = _findings(report)
    if not written:
        return f"Detection ran: {plural(len(found), 'finding')}, none new to record."
    listed = listing(
        [
            f"#{w.get('anomaly_id')} {w.get('machine_id')} {w.get('sensor')} "
            f"({words(w.get('severity'))})"
            for w in written
        ]
    )
    return f"Recorded {plural(len(written), 'new anomaly', 'new anomalies')}: {listed}."


def work_order_sentence(wo: dict[str, Any], verb: str = "") -> str:
    parts = [
        f"{verb + ' ' if verb else ''}work order {wo.get('work_order_id')} on "
        f"{wo.get('machine_id')}:",
        f"{words(wo.get('kind'))}, {words(wo.get('priority'))} priority, {words(wo.get('status'))}",
    ]
    text = " ".join(parts)
    if wo.get("fault_type"):
        text += f", for {words(wo['fault_type'])}"
    if wo.get("scheduled_start"):
        text += f", window {when(wo['scheduled_start'])} to {when(wo.get('scheduled_end'))}"
    if wo.get("assigned_to"):
        text += f", assigned to {wo['assigned_to']}"
    parts_needed = [x for x in wo.get("parts") or [] if isinstance(x, dict)]
    if parts_needed:
        text += "; parts: " + listing(
            [
                f"{x.get('quantity')} × {x.get('sku')} ({words(x.get('status'))})"
                for x in parts_needed
            ]
        )
    text += "."
    if wo.get("description") and verb != "Opened":
        text += f" {wo['description']}"
    return text[0].upper() + text[1:]


_VERBS = {
    "create_work_order": "Opened",
    "schedule_work_order": "Scheduled",
    "start_work_order": "Started",
    "complete_work_order": "Completed",
    "cancel_work_order": "Cancelled",
}


@answer("work_order")
def work_order(p: Progress) -> str:
    for step, outcome in reversed(p.calls):
        if isinstance(outcome.data, dict) and outcome.data.get("work_order_id"):
            return work_order_sentence(outcome.data, _VERBS.get(step.tool, ""))
    existing = None
    for row in rows_of(p.result("list_work_orders")):
        if row.get("status") in ("OPEN", "SCHEDULED", "IN_PROGRESS"):
            existing = row
            break
    if existing:
        return (
            "There is already an open work order for this, so I did not open another: "
            + work_order_sentence(existing)
        )
    return "No work order came back."


@answer("work_orders")
def work_orders(p: Progress) -> str:
    rows = keep(rows_of(p.result("list_work_orders")), p.values.get("status"))
    scope = " ".join(
        str(x)
        for x in (
            p.values.get("machine"),
            label("facility", p.values.get("facility")) if p.values.get("facility") else None,
        )
        if x
    )
    status = status_words(p.values.get("status"))
    if not rows:
        return (
            f"No {status + ' ' if status else ''}work orders{(' for ' + scope) if scope else ''}."
        )
    grid = table(
        ["Work order", "Machine", "Kind", "Priority", "Status", "Fault", "Window"],
        [
            [
                r.get("work_order_id"),
                r.get("machine_id"),
                words(r.get("kind")),
                words(r.get("priority")),
                words(r.get("status")),
                words(r.get("fault_type")),
                f"{when(r.get('scheduled_start'))} – {when(r.get('scheduled_end'))}"
                if r.get("scheduled_start")
                else "—",
            ]
            for r in rows
        ],
    )
    lead = (
        f"{plural(len(rows), (status + ' ' if status else '') + 'work order')}"
        f"{(' for ' + scope) if scope else ''}:"
    )
    if len(rows) == 1 and rows[0].get("description"):
        lead += f" {rows[0]['work_order_id']} is about: {rows[0]['description']}."
    return f"{lead}\n\n{grid}"


@answer("thresholds")
def thresholds(p: Progress) -> str:
    found = p.result("sensor_thresholds") or {}
    asked = p.values.get("sensor")
    lines: list[str] = []
    for machine, sensors in found.items():
        if not isinstance(sensors, dict):
            continue
        limit = sensors.get(asked) if asked else None
        if isinstance(limit, dict):
            unit = f" {limit['unit']}" if limit.get("unit") else ""
            below = str(limit.get("direction") or "").upper() == "BELOW"
            own = (
                "set for this machine"
                if limit.get("source") == "machine"
                else f"the {words(limit.get('source'))} limit"
            )
            lines.append(
                f"{machine} alarms on {words(asked)} {'below' if below else 'above'} "
                f"{plain_number(limit.get('warning'))}{unit} (warning) and "
                f"{plain_number(limit.get('critical'))}{unit} (critical), {own}."
            )
            continue
        rows = [
            [
                s,
                t.get("unit"),
                num(t.get("warning")),
                num(t.get("critical")),
                words(t.get("direction")),
                words(t.get("source")),
            ]
            for s, t in sorted(sensors.items())
        ]
        lines.append(
            f"Limits in force on {machine}:\n\n"
            + table(["Sensor", "Unit", "Warning", "Critical", "Alarm when", "Set"], rows, limit=12)
        )
    return "\n\n".join(lines) or "No limits found."


def plain_number(value: Any) -> str:
    """A measured limit as an engineer writes it: 1080, 4.5."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{number:.0f}" if number == int(number) else f"{number:g}"


@answer("threshold_set")
def threshold_set(p: Progress) -> str:
    t = p.result("set_sensor_threshold") or {}
    where = t.get("machine_id") or "every machine without its own"
    return (
        f"The {t.get('sensor')} limits on {where} are now warning {num(t.get('warning'))} "
        f"and critical {num(t.get('critical'))} {t.get('unit') or ''}.".replace(" .", ".")
    )


@answer("oee")
def oee(p: Progress) -> str:
    report = p.result("oee") or {}
    total = report.get("total") or {}
    scope = report.get("scope_id") or "the plant"
    scope = label("facility", scope) if report.get("scope") == "facility" else scope
    if total.get("oee") is None:
        return (
            f"No production was recorded for {scope} from {report.get('start')} to "
            f"{report.get('end')}, so there is no OEE for it yet."
        )
    lead = (
        f"OEE for {scope} from {report.get('start')} to {report.get('end')}: "
        f"{pct(total.get('oee'))} "
        f"(availability {pct(total.get('availability'))}, performance "
        f"{pct(total.get('performance'))}, "
        f"quality {pct(total.get('quality'))}); {num(total.get('parts_produced'), 0)} parts made, "
        f"{num(total.get('parts_defective'), 0)} defective."
    )
    centers = report.get("work_centers") or {}
    rows = sorted(
        (
            [
                wc,
                pct(f.get("oee")),
                pct(f.get("availability")),
                pct(f.get("performance")),
                pct(f.get("quality")),
            ]
            for wc, f in centers.items()
            if isinstance(f, dict)
        ),
        key=lambda r: r[1],
    )
    grid = table(["Work center", "OEE", "Availability", "Performance", "Quality"], rows)
    return f"{lead}\n\n{grid}" if grid and len(rows) > 1 else lead


@answer("incident")
def incident(p: Progress) -> str:
    machine = str(p.values.get("machine"))
    parts = [_diagnosis_sentence(machine, p.result("classify_fault") or {})]
    estimate = p.result("estimate_failure")
    if isinstance(estimate, dict):
        parts.append(_prediction_sentence(estimate))
    findings = _findings(p.result("scan_anomalies"))
    if findings:
        parts.append(
            "Anomalies: " + "; ".join(str(f.get("description")) for f in findings[:2]) + "."
        )
    created = p.result("create_work_order")
    scheduled = p.result("schedule_work_order")
    if isinstance(scheduled, dict):
        parts.append(work_order_sentence(scheduled, "Scheduled"))
    elif isinstance(created, dict):
        parts.append(work_order_sentence(created, "Opened"))
    elif not (p.result("classify_fault") or {}).get("fault_type") and not findings:
        parts.append("No work order was needed.")
    return " ".join(parts)
