// Plant: OEE per facility, machines with status, health and live sparklines, and the lists a
// plant person watches (open orders, low stock, shipments in flight, open work orders).

import { api } from "./api.js";
import { entity } from "./entity.js";
import { entityLink } from "./links.js";
import { onEvent, followSensors } from "./live.js";
import { h, fill, errorBox, when, pct, num, pill, words } from "./ui.js";
import { sparkline } from "./svg.js";

const SPARK_SENSORS = ["vibration", "temperature", "spindle_load", "power"];
const POINTS = 40;
const REFRESH_MS = 1500;
const CLOSED_ORDERS = new Set(["DELIVERED", "COMPLETED", "CANCELLED"]);
const CLOSED_SHIPMENTS = new Set(["DELIVERED", "CANCELLED"]);
const CLOSED_WORK = new Set(["COMPLETED", "CANCELLED"]);
const WATCHED = /^(machine|sensor\.anomaly|order|shipment|work_order|stock|purchase|simulation|plant)/;

let root;
let detail;
let oeeBox;
let kpiBox;
let grid;
let lists;
let facility = "";
let visible = false;
let pending = null;
let stopSensors = null;
let machines = [];
const series = new Map(); // "machine|sensor" → {unit, values}
const cards = new Map(); // machine_id → {sparks: element}

export function mount(el) {
  root = el;
  detail = h("div", { class: "detail-slot" });
  oeeBox = h("div", { class: "oee-row" });
  kpiBox = h("div", { class: "kpi-row" });
  grid = h("div", { class: "machine-grid" });
  lists = h("div", { class: "lists" });
  const filter = h("select", { "aria-label": "facility", id: "facility-filter" },
    h("option", { value: "" }, "All facilities"),
    ["PHX", "MUC", "DET"].map((f) => h("option", { value: f }, f)));
  filter.addEventListener("change", () => { facility = filter.value; drawGrid(); });
  fill(root, detail,
    h("div", { class: "row between" }, h("h1", {}, "Plant"), filter),
    oeeBox, kpiBox, h("h2", {}, "Machines"), grid, lists);
  onEvent((event) => {
    if (visible && WATCHED.test(event.type)) later();
  });
}

export function show([kind, id]) {
  visible = true;
  if (kind && id) entity(detail, kind, id);
  else detail.replaceChildren();
  if (kind && id) window.scrollTo({ top: 0 });
  refresh();
  loadHistory();
  if (!stopSensors) stopSensors = followSensors(addReadings);
}

export function hide() {
  visible = false;
  if (stopSensors) stopSensors();
  stopSensors = null;
}

function later() {
  if (pending) return;
  pending = setTimeout(() => { pending = null; if (visible) refresh(); }, REFRESH_MS);
}

async function refresh() {
  const [machineList, oee, orders, stock, shipments, work] = await Promise.allSettled([
    api("/machines"), api("/facilities/oee"), api("/orders?limit=500"), api("/stock"),
    api("/shipments?limit=500"), api("/work-orders?limit=500"),
  ]);
  if (machineList.status === "fulfilled") { machines = machineList.value; drawGrid(); }
  else fill(grid, errorBox(machineList.reason));
  drawOee(oee);
  const openOrders = settled(orders, (xs) => xs.filter((o) => !CLOSED_ORDERS.has(o.status)));
  const low = settled(stock, (xs) => xs.filter((s) => s.available < s.reorder_point));
  const moving = settled(shipments, (xs) => xs.filter((s) => !CLOSED_SHIPMENTS.has(s.status)));
  const openWork = settled(work, (xs) => xs.filter((w) => !CLOSED_WORK.has(w.status)));
  fill(kpiBox,
    kpi("Open orders", openOrders, "#plant-orders"),
    kpi("Stock below reorder point", low, "#plant-stock", true),
    kpi("Shipments in flight", moving, "#plant-shipments"),
    kpi("Open work orders", openWork, "#plant-work"));
  fill(lists,
    table("plant-orders", "Open orders", openOrders,
      ["Order", "Customer", "Status", "Due", "Quantity"],
      (o) => [entityLink(o.order_id), o.customer_id, pill(o.status), when(o.due_at), o.total_quantity]),
    table("plant-stock", "Stock below reorder point", low,
      ["SKU", "Facility", "Available", "Reorder point", "Low since"],
      (s) => [entityLink(s.sku), s.facility_id, s.available, s.reorder_point, when(s.low_since)]),
    table("plant-shipments", "Shipments in flight", moving,
      ["Shipment", "Order", "Carrier", "Status", "ETA"],
      (s) => [entityLink(s.shipment_id), entityLink(s.order_id), s.carrier_id, pill(s.status), when(s.eta)]),
    table("plant-work", "Open work orders", openWork,
      ["Work order", "Machine", "Kind", "Priority", "Status", "Description"],
      (w) => [entityLink(w.work_order_id), entityLink(w.machine_id), words(w.kind), words(w.priority),
        pill(w.status), w.description]));
}

function settled(result, pick) {
  return result.status === "fulfilled" ? pick(result.value) : result.reason;
}

function kpi(label, value, href, warnWhenAny = false) {
  const failed = value instanceof Error;
  const count = failed ? "!" : value.length;
  return h("a", { class: `card kpi ${warnWhenAny && count > 0 ? "warn" : ""}`, href: "#/plant",
    onclick: (e) => { e.preventDefault(); document.querySelector(href)?.scrollIntoView(); } },
    h("span", { class: "kpi-value" }, count), h("span", { class: "kpi-label" }, label));
}

function table(id, title, rows, headings, cells) {
  const body = rows instanceof Error ? h("tr", {}, h("td", { colspan: headings.length }, errorBox(rows)))
    : rows.length ? rows.map((r) => h("tr", {}, cells(r).map((c) => h("td", {}, c))))
    : h("tr", {}, h("td", { colspan: headings.length, class: "muted" }, "None."));
  return h("section", { class: "card table-wrap", id },
    h("h2", {}, title, rows instanceof Error ? "" : h("span", { class: "count" }, rows.length)),
    h("table", { class: "table" }, h("thead", {}, h("tr", {}, headings.map((x) => h("th", {}, x)))),
      h("tbody", {}, body)));
}

function drawOee(result) {
  if (result.status !== "fulfilled") { fill(oeeBox, errorBox(result.reason)); return; }
  fill(oeeBox, result.value.map((f) => h("div", { class: "card oee" },
    h("div", { class: "oee-head" }, h("strong", {}, f.facility_id), h("span", { class: "muted" }, f.name)),
    h("div", { class: "oee-value" }, pct(f.figures.oee)),
    h("div", { class: "oee-parts muted" },
      `A ${pct(f.figures.availability)} · P ${pct(f.figures.performance)} · Q ${pct(f.figures.quality)}`),
    h("div", { class: "muted small" }, `OEE, shifts ${f.start} to ${f.end}`))));
}

function drawGrid() {
  cards.clear();
  const shown = machines.filter((m) => !facility || m.facility_id === facility);
  fill(grid, shown.map((m) => {
    const sparks = h("div", { class: "sparks" });
    cards.set(m.machine_id, { sparks, health: m });
    drawSparks(m.machine_id);
    return h("article", { class: `card machine status-${m.machine_status.toLowerCase()}`,
      dataset: { machine: m.machine_id } },
      h("header", { class: "row between" },
        h("a", { href: `#/plant/machine/${m.machine_id}`, class: "machine-id" }, m.machine_id),
        h("span", { class: "machine-status", dataset: { status: m.machine_status } }, pill(m.machine_status))),
      h("div", { class: "row between small" },
        h("span", {}, "health ", pill(m.status)),
        h("span", { class: "health-index" }, m.health_index === null ? "—" : `${m.health_index}/100`)),
      m.reasons.length ? h("p", { class: "reason small" }, m.reasons[0]) : null,
      sparks);
  }));
  if (!shown.length) grid.append(h("p", { class: "empty" }, "No machines."));
}

function drawSparks(machineId) {
  const card = cards.get(machineId);
  if (!card) return;
  const parts = [];
  for (const sensor of SPARK_SENSORS) {
    const found = series.get(`${machineId}|${sensor}`);
    if (!found || found.values.length < 2) continue;
    const level = card.health.metrics?.[sensor]?.level ?? "OK";
    const last = found.values[found.values.length - 1];
    parts.push(h("div", { class: "spark-row" },
      h("span", { class: "spark-name" }, words(sensor)),
      sparkline(found.values, { level: level.toLowerCase(), label: `${sensor} of ${machineId}` }),
      h("span", { class: "spark-value" }, `${num(last)} ${found.unit}`)));
  }
  fill(card.sparks, parts.length ? parts : h("p", { class: "muted small" }, "no readings yet"));
}

async function loadHistory() {
  try {
    const history = await api(`/sensors/history?points=${POINTS}`);
    for (const s of history) {
      series.set(`${s.machine_id}|${s.sensor}`, { unit: s.unit, values: s.points.map((p) => p.value) });
    }
    for (const id of cards.keys()) drawSparks(id);
  } catch { /* the grid says what failed; sparklines simply stay empty */ }
}

let redraw = null;
function addReadings(batch) {
  for (const r of batch.readings) {
    const key = `${r.machine_id}|${r.sensor}`;
    const found = series.get(key) ?? { unit: r.unit, values: [] };
    found.values.push(r.value);
    if (found.values.length > POINTS) found.values.splice(0, found.values.length - POINTS);
    series.set(key, found);
  }
  if (redraw) return;
  redraw = setTimeout(() => {
    redraw = null;
    if (visible) for (const id of cards.keys()) drawSparks(id);
  }, 1000);
}
