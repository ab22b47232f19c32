// Schedule: the applied schedule as a Gantt chart per machine, late jobs highlighted, and a
// proposal waiting for approval beside it.

import { api } from "./api.js";
import { entityLink } from "./links.js";
import { onEvent } from "./live.js";
import { h, fill, errorBox, when, pill, num } from "./ui.js";
import { gantt } from "./svg.js";

let root;
let ctx;
let board;
let visible = false;
let pending = null;

export function mount(el, context) {
  root = el;
  ctx = context;
  board = h("div", { class: "schedule-board" });
  fill(root, h("div", { class: "row between" }, h("h1", {}, "Schedule"),
    h("button", { type: "button", class: "ghost", onclick: load }, "Refresh")), board);
  onEvent((event) => {
    if (!visible || !event.type.startsWith("schedule.") || pending) return;
    pending = setTimeout(() => { pending = null; load(); }, 1000);
  });
}

export function show() {
  visible = true;
  load();
}

export function hide() {
  visible = false;
}

function scope(schedule) {
  return schedule.facility_id ?? "whole plant";
}

function view(schedule, title, extra = null, columns = 1) {
  const late = new Set(schedule.late_orders.map((o) => o.order_id));
  const head = h("header", {},
    h("h2", {}, `${title} — ${scope(schedule)} `, pill(schedule.status)),
    h("p", { class: "muted small" },
      `Schedule ${schedule.schedule_id} · ${schedule.kind.toLowerCase()} · ${schedule.objective} · ` +
      `solver ${schedule.solver_status.toLowerCase()} · ${schedule.slots.length} operations · ` +
      (schedule.applied_at ? `applied ${when(schedule.applied_at)}` : `proposed ${when(schedule.created_at)}`)));
  const chart = schedule.slots.length
    ? h("div", { class: "gantt-wrap" }, gantt(schedule.slots, {
      late, width: chartWidth(columns),
      onSlot: (slot) => ctx.navigate(`#/plant/order/${slot.order_id}`),
    }))
    : h("p", { class: "muted" }, "No operations in this schedule.");
  const lateList = schedule.late_orders.length
    ? h("div", { class: "late-list" }, h("strong", {}, `${schedule.late_orders.length} late: `),
      schedule.late_orders.map((o) => h("span", { class: "late-item" }, entityLink(o.order_id),
        ` ${lateness(o.minutes_late)} late`)))
    : h("p", { class: "good-text small" }, "Every order finishes on time.");
  return h("section", { class: "card schedule", dataset: { schedule: schedule.schedule_id } },
    head, extra, lateList, chart);
}

// The pixels a chart has: the board's width shared by the schedules side by side.
function chartWidth(columns) {
  const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 15;
  const side = columns > 1 && window.innerWidth > 900 ? columns : 1;
  return Math.max(560, Math.floor((board.clientWidth - rem * (side - 1)) / side - rem * 2.2));
}

function lateness(minutes) {
  if (minutes < 120) return `${minutes} min`;
  if (minutes < 48 * 60) return `${Math.round(minutes / 60)} h`;
  return `${Math.round(minutes / 1440)} d`;
}

function impactView(impact) {
  if (!impact) return null;
  return h("p", { class: "notice" },
    `Reschedule around ${impact.machine_id}: ${impact.operations_moved} operations moved, ` +
    `${impact.jobs_moved} jobs, ${impact.orders_late.length} orders late, ` +
    `${num(impact.overtime_minutes / 60)} h overtime.`);
}

async function load() {
  try {
    const { applied, proposed } = await api("/schedules/board");
    if (!applied.length && !proposed.length) {
      fill(board, h("div", { class: "card empty" },
        h("p", {}, "No schedule is applied and none is proposed."),
        h("p", { class: "muted" }, "Ask the scheduler in Chat (for example “plan the schedule for DET”), " +
          "or run the Machine Down scenario, which plans Detroit first.")));
      return;
    }
    const rows = [];
    const paired = new Set();
    for (const current of applied) {
      const rival = proposed.find((p) => p.schedule.facility_id === current.facility_id);
      if (rival) paired.add(rival.schedule.schedule_id);
      const columns = rival ? 2 : 1;
      rows.push(h("div", { class: rival ? "compare" : "single" },
        view(current, "Current", null, columns), rival ? proposal(rival, columns) : null));
    }
    for (const p of proposed) {
      if (!paired.has(p.schedule.schedule_id)) rows.push(h("div", { class: "single" }, proposal(p)));
    }
    fill(board, rows);
  } catch (exc) {
    fill(board, errorBox(exc));
  }
}

function proposal(p, columns = 1) {
  const link = p.approval_id
    ? h("p", {}, "Waiting for approval: ", h("a", { href: `#/approvals/${p.approval_id}` }, p.approval_id))
    : h("p", { class: "muted small" }, "Proposed; not yet applied.");
  return view(p.schedule, "Proposed", h("div", {}, link, impactView(p.schedule.impact)), columns);
}
