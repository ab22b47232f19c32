// Small DOM helpers shared by the pages: element building, messages, formatting.

/** An element: h("div", {class: "x", onclick: fn}, "text", child, [more]). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** Replace `el`'s content. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A message at the top of the screen; errors stay until dismissed. */
export function toast(text, kind = "info") {
  const box = document.getElementById("toasts");
  const close = h("button", { type: "button", class: "ghost", "aria-label": "dismiss" }, "×");
  const item = h("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" },
    h("span", {}, text), close);
  close.addEventListener("click", () => item.remove());
  box.append(item);
  if (kind !== "error") setTimeout(() => item.remove(), 5000);
  while (box.children.length > 4) box.firstElementChild.remove();
}

/** Show an API failure readably (403 says which role is needed, as the service words it). */
export function showError(exc, doing = "") {
  if (exc && exc.name === "AbortError") return;
  const prefix = doing ? `Could not ${doing}: ` : "";
  toast(prefix + (exc && exc.message ? exc.message : String(exc)), "error");
}

export function errorBox(exc) {
  return h("p", { class: "error-text", role: "alert" }, exc.message || String(exc));
}

const timeFormat = new Intl.DateTimeFormat(undefined, {
  month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZone: "UTC",
});

export function when(iso) {
  return iso ? `${timeFormat.format(new Date(iso))} UTC` : "—";
}

export function pct(x) {
  return x === null || x === undefined ? "—" : `${(x * 100).toFixed(1)}%`;
}

export function num(x, digits = 1) {
  return x === null || x === undefined ? "—" : Number(x).toFixed(digits);
}

export function words(s) {
  return String(s).replaceAll("_", " ").toLowerCase();
}

/** A status word as a coloured pill (colour chosen by the status's meaning). */
export function pill(status) {
  const s = String(status || "").toUpperCase();
  const tone = /DOWN|CRITICAL|DELAYED|REJECTED|FAIL|LATE|OFFLINE|EXPIRED/.test(s) ? "bad"
    : /WARN|MAINT|HOLD|PENDING|PROPOSED|IDLE|OPEN/.test(s) ? "warn"
    : /RUNNING|OK|HEALTHY|APPROVED|DELIVERED|COMPLETED|APPLIED|EDITED|NORMAL/.test(s) ? "good"
    : "neutral";
  return h("span", { class: `pill ${tone}` }, words(s));
}

/** JSON as a readable key: value list; `format(text)` may turn each value into nodes. */
export function keyValues(obj, format = (text) => text) {
  const entries = Object.entries(obj || {});
  if (!entries.length) return h("p", { class: "muted" }, "none");
  return h("dl", { class: "kv" }, entries.map(([k, v]) => [
    h("dt", {}, words(k)),
    h("dd", {}, format(typeof v === "object" && v !== null ? JSON.stringify(v) : String(v))),
  ]));
}
