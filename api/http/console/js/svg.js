// Inline SVG charts: sensor sparklines and the schedule's Gantt chart.

const NS = "http://www.w3.org/2000/svg";

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
  for (const child of children) {
    if (child === null || child === undefined) continue;
    el.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return el;
}

/** A sparkline of `values` (numbers, oldest first); `level` tints it warn/bad. */
export function sparkline(values, { level = "ok", label = "" } = {}) {
  const width = 100;
  const height = 28;
  const svg = s("svg", {
    viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: "none",
    class: `spark ${level}`, role: "img", "aria-label": label,
  });
  if (values.length < 2) return svg;
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const span = hi - lo || 1;
  const step = width / (values.length - 1);
  const points = values.map((v, i) =>
    `${(i * step).toFixed(2)},${(height - 2 - ((v - lo) / span) * (height - 4)).toFixed(2)}`);
  svg.append(
    s("polygon", { points: `0,${height} ${points.join(" ")} ${width},${height}`, class: "area" }),
    s("polyline", { points: points.join(" "), class: "line" }),
  );
  return svg;
}

// Neighbouring IDs (ORD-10011, ORD-10012) get far-apart colours (golden-angle steps), kept
// out of the reds that mark late work.
function hue(text) {
  let n = 0;
  for (const ch of text) n = (n * 31 + ch.charCodeAt(0)) % 100003;
  return Math.round(70 + ((n * 137.508) % 220));
}

const HOUR = 3600e3;
const TICKS = [1, 2, 4, 6, 12, 24, 48, 96, 168, 336].map((n) => n * HOUR);

/**
 * A Gantt chart of a schedule's slots, one row per machine. Orders in `late` are drawn red;
 * `onSlot(slot)` runs when a bar is clicked.
 */
export function gantt(slots, { late = new Set(), now = null, onSlot = null, width = 1000 } = {}) {
  const machines = [...new Set(slots.map((x) => x.machine_id))].sort();
  const start = Math.min(...slots.map((x) => Date.parse(x.starts_at)));
  const end = Math.max(...slots.map((x) => Date.parse(x.ends_at)));
  // Drawn at the size it is shown (`width` pixels), in units of the page's type size, so its
  // labels read like the text around it on a laptop and with large type on a TV.
  const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 15;
  const label = Math.round(rem * 8);
  const row = Math.round(rem * 1.9);
  const top = Math.round(rem * 1.7);
  const height = top + machines.length * row + 4;
  const span = Math.max(end - start, HOUR);
  const x = (t) => label + ((t - start) / span) * (width - label - 8);
  const svg = s("svg", {
    viewBox: `0 0 ${width} ${height}`, width, height, class: "gantt", role: "img",
    "aria-label": `schedule of ${machines.length} machines`,
  });
  // The finest tick spacing whose labels do not collide ("12-01", or "12-01 06:00" below a day).
  const perMs = (width - label - 8) / span;
  const tickEvery = TICKS.find((t) => t * perMs >= rem * (t >= 24 * HOUR ? 4 : 7.5))
    ?? TICKS[TICKS.length - 1];
  for (let t = Math.ceil(start / tickEvery) * tickEvery; t <= end; t += tickEvery) {
    const d = new Date(t);
    if (x(t) > width - rem * 3) continue;
    const text = tickEvery >= 24 * HOUR
      ? d.toISOString().slice(5, 10)
      : `${d.toISOString().slice(5, 10)} ${d.toISOString().slice(11, 16)}`;
    svg.append(
      s("line", { x1: x(t), x2: x(t), y1: top - 4, y2: height, class: "tick" }),
      s("text", { x: x(t) + 2, y: top - rem * 0.6, class: "tick-label" }, text),
    );
  }
  machines.forEach((m, i) => {
    const y = top + i * row;
    svg.append(
      s("rect", { x: 0, y, width, height: row, class: i % 2 ? "lane odd" : "lane" }),
      s("text", { x: 6, y: y + row / 2, class: "lane-label", "dominant-baseline": "middle" }, m),
    );
  });
  for (const slot of slots) {
    const y = top + machines.indexOf(slot.machine_id) * row + row * 0.15;
    const x0 = x(Date.parse(slot.starts_at));
    const w = Math.max(2, x(Date.parse(slot.ends_at)) - x0);
    const isLate = late.has(slot.order_id);
    const bar = s("rect", {
      x: x0, y, width: w, height: row * 0.7, rx: 3,
      class: isLate ? "bar late" : "bar",
      style: isLate ? "" : `fill: hsl(${hue(slot.order_id)} 55% 52%)`,
    }, s("title", {}, `${slot.order_id} line ${slot.line_no} op ${slot.op_seq} ` +
      `${slot.operation} on ${slot.machine_id}\n${slot.starts_at} → ${slot.ends_at}` +
      (isLate ? "\nLATE" : "")));
    bar.dataset.order = slot.order_id;
    if (onSlot) bar.addEventListener("click", () => onSlot(slot));
    svg.append(bar);
    if (w > rem * 6) {
      svg.append(s("text", { x: x0 + 4, y: y + row * 0.35, class: "bar-label",
        "dominant-baseline": "middle" }, slot.order_id));
    }
  }
  if (now !== null && now >= start && now <= end) {
    svg.append(s("line", { x1: x(now), x2: x(now), y1: top - 4, y2: height, class: "now" }));
  }
  return svg;
}
