// Simulation control: the engine's status, generators and rates, speed, pause and resume, a
// fault pattern per machine, scenarios, reset; and the live event log.

import { api } from "./api.js";
import { linkify } from "./links.js";
import { onEvent, recent } from "./live.js";
import { h, fill, showError, errorBox, toast, when, words } from "./ui.js";

const SCENARIOS = [
  ["phoenix-incident", "Phoenix Incident"], ["boeing-expedite", "Boeing Expedite"],
  ["supply-crisis", "Supply Crisis"], ["faa-audit", "FAA Audit"],
  ["machine-down", "Machine Down"], ["full-demo", "Full Demo"],
];
// The degradation patterns the engine knows (simulation.signals.PATTERNS); it checks them too.
const PATTERNS = ["BEARING_DEGRADATION", "MOTOR_BURNOUT", "SPINDLE_WEAR", "COOLANT_FAILURE",
  "ELECTRICAL_FAULT", "SENSOR_DRIFT"];
const LOG_KEEP = 400;
const NOISY = "sensor.readings_recorded";
const STATUS_MS = 5000;

let root;
let ctx;
let statusBox;
let controls;
let log;
let filterInput;
let showNoisy;
let visible = false;
let timer = null;
let machineIds = [];

export function mount(el, context) {
  root = el;
  ctx = context;
  statusBox = h("div", { class: "sim-status" });
  controls = h("div", { class: "sim-controls" });
  log = h("ol", { class: "event-log", id: "event-log", "aria-live": "polite" });
  filterInput = h("input", { type: "search", placeholder: "filter: type or entity",
    "aria-label": "filter events", oninput: redrawLog });
  showNoisy = h("input", { type: "checkbox", onchange: redrawLog });
  fill(root, h("h1", {}, "Simulation"),
    h("div", { class: "sim-layout" },
      h("div", { class: "stack" }, statusBox, controls),
      h("section", { class: "card log-card" },
        h("div", { class: "row between" }, h("h2", {}, "Live events"),
          h("div", { class: "row" }, filterInput,
            h("label", { class: "small" }, showNoisy, " sensor batches"))),
        log)));
  onEvent((event) => {
    if (!visible) return;
    if (matches(event)) addLine(event, true);
    if (event.type.startsWith("simulation.")) loadStatus();
  });
}

export function show() {
  visible = true;
  redrawLog();
  loadStatus();
  drawControls();
  clearInterval(timer);
  timer = setInterval(loadStatus, STATUS_MS);
}

export function hide() {
  visible = false;
  clearInterval(timer);
}

function matches(event) {
  if (event.type === NOISY && !showNoisy.checked) return false;
  const text = filterInput.value.trim().toLowerCase();
  return !text || `${event.type} ${event.entity_id ?? ""}`.toLowerCase().includes(text);
}

function summary(event) {
  const p = event.payload || {};
  const said = p.title || p.label || p.reason || p.note || p.message || p.to_status || p.status;
  return typeof said === "string" ? said : "";
}

function addLine(event, follow) {
  const stick = log.scrollTop + log.clientHeight >= log.scrollHeight - 40;
  log.append(h("li", { class: `event ev-${event.type.split(".")[0]}`, dataset: { type: event.type } },
    h("time", {}, event.occurred_at.slice(11, 19)),
    h("code", {}, event.type),
    event.entity_id ? h("span", { class: "entity-cell" }, linkify(event.entity_id)) : null,
    h("span", { class: "muted" }, summary(event))));
  while (log.children.length > LOG_KEEP) log.firstElementChild.remove();
  if (follow && stick) log.scrollTop = log.scrollHeight;
}

function redrawLog() {
  log.replaceChildren();
  for (const event of recent) if (matches(event)) addLine(event, false);
  if (!log.children.length) log.append(h("li", { class: "muted" }, "Events appear here as they happen."));
  log.scrollTop = log.scrollHeight;
}

async function loadStatus() {
  try {
    const status = await api("/sim/status");
    const state = status.state;
    const running = Boolean(status.engine_lock) && state && state.running;
    fill(statusBox, h("section", { class: "card", id: "sim-status" },
      h("h2", {}, "Engine ", h("span", { class: `pill ${running ? (state.paused ? "warn" : "good") : "bad"}` },
        running ? (state.paused ? "paused" : "running") : "stopped")),
      state ? h("dl", { class: "kv" },
        h("dt", {}, "plant time"), h("dd", {}, when(state.plant_time)),
        h("dt", {}, "speed"), h("dd", {}, `${state.speed}× (plant seconds per second)`),
        h("dt", {}, "seed"), h("dd", {}, state.seed),
        h("dt", {}, "faults in play"), h("dd", {}, status.faults_in_play.length
          ? status.faults_in_play.map((f) => `${f.machine_id} ${words(f.pattern)}`).join(", ") : "none"),
        h("dt", {}, "commands queued"), h("dd", {}, status.pending_commands))
        : h("p", { class: "muted" }, "No engine has run on this database yet.")));
    if (ctx.me.may.control_simulation) updateGenerators(status);
  } catch (exc) {
    fill(statusBox, errorBox(exc));
  }
}

async function command(path, body, doing) {
  try {
    const outcome = await api(path, { method: "POST", body });
    const items = Array.isArray(outcome) ? outcome : [outcome];
    const waiting = items.some((o) => o.done === false);
    toast(waiting ? `${doing}: queued, the engine will carry it out at its next step` : `${doing}: done`);
    loadStatus();
    return outcome;
  } catch (exc) {
    showError(exc, doing);
    return null;
  }
}

let generatorBody = null;
let speedInput = null;

function updateGenerators(status) {
  if (speedInput && !speedInput.dataset.filled && status.state) {
    speedInput.dataset.filled = "1";
    speedInput.value = status.state.speed;
  }
  if (!generatorBody || generatorBody.dataset.filled) return;
  generatorBody.dataset.filled = "1";
  fill(generatorBody, status.generators.map((g) => h("tr", {
    dataset: { generator: g.name, enabled: String(g.enabled), rate: String(g.rate) } },
    h("td", {}, h("label", {}, h("input", { type: "checkbox", checked: g.enabled, name: "enabled" }), ` ${g.name}`)),
    h("td", {}, h("input", { type: "number", min: 0, step: "any", value: g.rate, name: "rate",
      "aria-label": `${g.name} rate`, class: "narrow" })),
    h("td", { class: "muted small" }, g.rate_means))));
}

async function loadMachines() {
  if (machineIds.length) return machineIds;
  try { machineIds = (await api("/machines")).map((m) => m.machine_id).sort(); } catch { /* shown elsewhere */ }
  return machineIds;
}

async function drawControls() {
  if (!ctx.me.may.control_simulation) {
    fill(controls, h("p", { class: "notice" },
      `Your role (${words(ctx.me.role)}) may watch the simulation; controlling it needs a supervisor or higher.`));
    return;
  }
  if (controls.dataset.drawn) return;
  controls.dataset.drawn = "1";
  const speed = h("input", { type: "number", min: 0.1, max: 86400, step: "any", value: 60, class: "narrow",
    "aria-label": "speed", id: "sim-speed" });
  speedInput = speed;
  generatorBody = h("tbody");
  const machine = h("select", { "aria-label": "machine" });
  const pattern = h("select", { "aria-label": "pattern" },
    PATTERNS.map((p) => h("option", { value: p }, words(p))));
  const hours = h("input", { type: "number", min: 0.1, max: 1440, step: "any", value: 24, class: "narrow",
    "aria-label": "hours to failure" });
  fill(machine, (await loadMachines()).map((m) => h("option", { value: m }, m)));
  fill(controls,
    h("section", { class: "card" }, h("h2", {}, "Scenarios"),
      h("div", { class: "scenario-buttons" }, SCENARIOS.map(([key, title]) =>
        h("button", { type: "button", class: "scenario", dataset: { scenario: key },
          onclick: () => command(`/sim/scenarios/${key}`, undefined, `stage ${title}`) }, title)))),
    h("section", { class: "card" }, h("h2", {}, "Controls"),
      h("div", { class: "row wrap" },
        h("button", { type: "button", id: "sim-pause", onclick: () => command("/sim/pause", undefined, "pause") }, "Pause"),
        h("button", { type: "button", id: "sim-resume", onclick: () => command("/sim/resume", undefined, "resume") }, "Resume"),
        h("label", {}, "Speed ", speed),
        h("button", { type: "button", id: "sim-speed-set",
          onclick: () => command("/sim/rates", { speed: Number(speed.value) }, "set the speed") }, "Set speed"),
        h("button", { type: "button", class: "danger", onclick: () => {
          if (confirm("Reset the plant to the demo plant? Everything since is discarded.")) {
            command("/sim/reset", undefined, "reset the plant");
          }
        } }, "Reset plant"))),
    h("section", { class: "card" }, h("h2", {}, "Fault pattern"),
      h("div", { class: "row wrap" }, machine, pattern, h("label", {}, "fails in ", hours, " h"),
        h("button", { type: "button", onclick: () => command(`/sim/equipment/${machine.value}/pattern`,
          { pattern: pattern.value, fails_in_hours: Number(hours.value) }, `start ${words(pattern.value)} on ${machine.value}`) },
        "Start"),
        h("button", { type: "button", class: "ghost", onclick: () => command(`/sim/equipment/${machine.value}/pattern`,
          { pattern: null }, `end the faults on ${machine.value}`) }, "End faults"))),
    h("section", { class: "card" }, h("h2", {}, "Generators"),
      h("form", { onsubmit: (e) => { e.preventDefault(); applyGenerators(); } },
        h("div", { class: "table-wrap" }, h("table", { class: "table" },
          h("thead", {}, h("tr", {}, h("th", {}, "On"), h("th", {}, "Rate"), h("th", {}, "Meaning"))),
          generatorBody)),
        h("button", { type: "submit", class: "primary" }, "Apply"))));
  loadStatus();
}

function applyGenerators() {
  const rates = {};
  const enabled = {};
  for (const row of generatorBody.querySelectorAll("tr[data-generator]")) {
    const name = row.dataset.generator;
    const on = row.querySelector("[name=enabled]").checked;
    const rate = Number(row.querySelector("[name=rate]").value);
    if (String(on) !== row.dataset.enabled) enabled[name] = on;
    if (rate !== Number(row.dataset.rate)) rates[name] = rate;
  }
  if (!Object.keys(rates).length && !Object.keys(enabled).length) {
    toast("Nothing changed: switch a generator or change a rate first.");
    return;
  }
  command("/sim/rates", { rates, enabled }, "change the generators").then((outcome) => {
    if (outcome) generatorBody.dataset.filled = "";
  });
}
