// The plant view of one entity (a machine, an order, a work order, a shipment, a SKU): where
// links in chat answers and tables lead.

import { api } from "./api.js";
import { entityLink, linkify } from "./links.js";
import { h, fill, errorBox, when, num, pill, words } from "./ui.js";

function panel(title, ...body) {
  return h("section", { class: "card detail", id: "entity-detail" },
    h("header", { class: "row between" }, h("h2", {}, title),
      h("a", { href: "#/plant", class: "ghost button", "aria-label": "close" }, "Close")),
    ...body);
}

function rows(pairs) {
  return h("dl", { class: "kv" }, pairs.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v ?? "—")]));
}

async function machine(id) {
  const [health, work] = await Promise.all([
    api(`/machines/${encodeURIComponent(id)}`),
    api(`/work-orders?machine_id=${encodeURIComponent(id)}&limit=20`),
  ]);
  const metrics = Object.values(health.metrics);
  return panel(`Machine ${id}`,
    rows([["Status", pill(health.machine_status)], ["Health", pill(health.status)],
      ["Health index", health.health_index === null ? "—" : `${health.health_index}/100`],
      ["Facility", health.facility_id], ["Last heartbeat", when(health.last_heartbeat_at)]]),
    health.reasons.length ? h("ul", {}, health.reasons.map((r) => h("li", {}, linkify(r)))) : null,
    metrics.length ? h("table", { class: "table" },
      h("thead", {}, h("tr", {}, ["Sensor", "Current", "Mean", "Max", "Level", "Hours to critical"]
        .map((x) => h("th", {}, x)))),
      h("tbody", {}, metrics.map((m) => h("tr", {},
        h("td", {}, words(m.stats.sensor)), h("td", {}, `${num(m.stats.current)} ${m.stats.unit}`),
        h("td", {}, num(m.stats.mean)), h("td", {}, num(m.stats.max)), h("td", {}, pill(m.level)),
        h("td", {}, num(m.hours_to_critical)))))) : h("p", { class: "muted" }, "No readings in the last hour."),
    h("h3", {}, "Work orders"),
    work.length ? h("ul", {}, work.map((w) => h("li", {}, entityLink(w.work_order_id), " ",
      pill(w.status), ` ${w.description}`))) : h("p", { class: "muted" }, "None."));
}

async function order(id) {
  const o = await api(`/orders/${encodeURIComponent(id)}`);
  return panel(`Order ${id}`,
    rows([["Customer", o.customer_id], ["Status", pill(o.status)], ["Due", when(o.due_at)],
      ["Priority", o.is_rush ? `${o.priority} (rush)` : o.priority], ["Facility", o.facility_id],
      ["Ship to", o.ship_to_region], ["On hold because", o.hold_reason],
      ["Cancelled because", o.cancel_reason]]),
    h("table", { class: "table" },
      h("thead", {}, h("tr", {}, ["Line", "SKU", "Quantity"].map((x) => h("th", {}, x)))),
      h("tbody", {}, o.lines.map((l) => h("tr", {},
        h("td", {}, l.line_no), h("td", {}, entityLink(l.sku)), h("td", {}, l.quantity))))));
}

async function workOrder(id) {
  const all = await api("/work-orders?limit=500");
  const w = all.find((x) => x.work_order_id === id);
  if (!w) throw new Error(`work order ${id} is not among the plant's work orders`);
  return panel(`Work order ${id}`,
    rows([["Machine", entityLink(w.machine_id)], ["Status", pill(w.status)], ["Kind", words(w.kind)],
      ["Priority", words(w.priority)], ["Fault", w.fault_type], ["Description", w.description],
      ["Scheduled", when(w.scheduled_start)], ["Assigned to", w.assigned_to]]));
}

async function shipment(id) {
  const all = await api("/shipments?limit=500");
  const s = all.find((x) => x.shipment_id === id);
  if (!s) throw new Error(`shipment ${id} is not among the plant's shipments`);
  return panel(`Shipment ${id}`,
    rows([["Order", entityLink(s.order_id)], ["Status", pill(s.status)], ["Carrier", s.carrier_id],
      ["Tracking", s.tracking_number], ["From", s.origin_facility_id], ["To", s.destination_region],
      ["ETA", when(s.eta)], ["Delivered", when(s.delivered_at)]]),
    s.events.length ? h("ol", {}, s.events.map((e) =>
      h("li", {}, `${when(e.at)} — ${words(e.status)} at ${e.location}`,
        e.reason ? ` (${e.reason})` : ""))) : null);
}

async function sku(id) {
  const levels = await api(`/stock?sku=${encodeURIComponent(id)}`);
  return panel(`Stock of ${id}`, levels.length ? h("table", { class: "table" },
    h("thead", {}, h("tr", {}, ["Facility", "On hand", "Reserved", "Available", "Reorder point"]
      .map((x) => h("th", {}, x)))),
    h("tbody", {}, levels.map((s) => h("tr", { class: s.available < s.reorder_point ? "low" : "" },
      h("td", {}, s.facility_id), h("td", {}, s.on_hand), h("td", {}, s.reserved),
      h("td", {}, s.available), h("td", {}, s.reorder_point))))) : h("p", {}, "No stock records."));
}

const VIEWS = { machine, order, "work-order": workOrder, shipment, sku };

/** Show the entity's panel in `slot` (or a readable error). */
export async function entity(slot, kind, id) {
  const view = VIEWS[kind];
  fill(slot, h("p", { class: "muted" }, `Loading ${id}…`));
  if (!view) { fill(slot, errorBox(new Error(`unknown kind of entity: ${kind}`))); return; }
  try {
    fill(slot, await view(id));
  } catch (exc) {
    fill(slot, panel(id, errorBox(exc)));
  }
}
