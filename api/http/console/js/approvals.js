// Approvals inbox: pending requests with their action, arguments and impact; approve, reject
// with a reason, or edit the arguments; the outcome once the thread resumes; decided ones.

import { api } from "./api.js";
import { linkify } from "./links.js";
import { h, fill, showError, errorBox, when, words, pill, keyValues, toast } from "./ui.js";

let root;
let ctx;
let pendingBox;
let outcomeBox;
let decidedBody;
let focus = null;

export function mount(el, context) {
  root = el;
  ctx = context;
  pendingBox = h("div", { class: "approval-cards" });
  outcomeBox = h("div", { class: "outcomes" });
  decidedBody = h("tbody");
  fill(root,
    h("div", { class: "row between" }, h("h1", {}, "Approvals"),
      h("button", { type: "button", class: "ghost", onclick: load }, "Refresh")),
    ctx.me.may.decide_approvals ? null : h("p", { class: "notice" },
      `Your role (${words(ctx.me.role)}) may read requests; deciding them needs ` +
      "a production manager or an admin."),
    outcomeBox,
    h("h2", {}, "Pending"), pendingBox,
    h("h2", {}, "Decided"),
    h("div", { class: "card table-wrap" }, h("table", { class: "table" },
      h("thead", {}, h("tr", {}, ["Approval", "Action", "Outcome", "Decided by", "When", "Reason"]
        .map((c) => h("th", {}, c)))),
      decidedBody)));
}

export function show([id]) {
  focus = id || null;
  load();
}

async function load() {
  try {
    const all = await api("/approvals?status=all&limit=200");
    const pending = all.filter((a) => a.status === "PENDING");
    const decided = all.filter((a) => a.status !== "PENDING");
    fill(pendingBox, pending.length ? pending.map(card)
      : h("p", { class: "empty" }, "Nothing waits for a decision."));
    fill(decidedBody, decided.length ? decided.map(decidedRow)
      : h("tr", {}, h("td", { colspan: 6, class: "muted" }, "No decisions yet.")));
    ctx.refreshBadge();
    if (focus) document.getElementById(`approval-${focus}`)?.scrollIntoView({ block: "center" });
  } catch (exc) {
    fill(pendingBox, errorBox(exc));
  }
}

function decidedRow(a) {
  return h("tr", {},
    h("td", {}, a.approval_id),
    h("td", {}, words(a.action), " ", h("span", { class: "muted" }, linkify(argsLine(a.arguments)))),
    h("td", {}, pill(a.status)),
    h("td", {}, a.decided_by || "—"),
    h("td", {}, when(a.decided_at)),
    h("td", {}, a.decision_reason || ""));
}

function argsLine(args) {
  return Object.entries(args || {}).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(", ");
}

function card(a) {
  const controls = h("div", { class: "decide" });
  const box = h("article", {
    class: `card approval ${focus === a.approval_id ? "focus" : ""}`, id: `approval-${a.approval_id}`,
  },
    h("header", { class: "row between" },
      h("h3", {}, words(a.action)),
      h("span", { class: "muted" }, `${a.approval_id} · ${when(a.requested_at)}`)),
    h("p", {}, linkify(a.reason)),
    h("p", { class: "muted" }, `Asked by the ${a.agent} agent · needs ${words(a.required_role)} · `,
      h("a", { href: `#/chat/${encodeURIComponent(a.thread_id)}` }, "open the conversation")),
    h("div", { class: "two-col" },
      h("section", {}, h("h4", {}, "Arguments"), keyValues(a.arguments, linkify)),
      h("section", {}, h("h4", {}, "Impact"), keyValues(a.impact, linkify))),
    controls);
  if (ctx.me.may.decide_approvals) buttons(a, controls);
  return box;
}

function buttons(a, controls) {
  const extra = h("div", { class: "decide-extra" });
  const approve = h("button", { type: "button", class: "primary", dataset: { action: "approve" } },
    "Approve");
  const reject = h("button", { type: "button", class: "danger", dataset: { action: "reject" } },
    "Reject…");
  const edit = h("button", { type: "button", class: "ghost", dataset: { action: "edit" } },
    "Edit arguments…");
  approve.addEventListener("click", () => decide(a, { decision: "approve" }, controls));
  reject.addEventListener("click", () => {
    const reason = h("input", { type: "text", maxlength: 2000, required: true,
      placeholder: "Why it is rejected", "aria-label": "reason" });
    fill(extra, h("form", { class: "row", onsubmit: (e) => {
      e.preventDefault();
      decide(a, { decision: "reject", reason: reason.value.trim() }, controls);
    } }, reason, h("button", { type: "submit", class: "danger" }, "Reject")));
    reason.focus();
  });
  edit.addEventListener("click", () => {
    const text = h("textarea", { rows: 6, class: "mono", "aria-label": "arguments (JSON)" });
    text.value = JSON.stringify(a.arguments, null, 2);
    fill(extra, h("form", { class: "stack", onsubmit: (e) => {
      e.preventDefault();
      let args;
      try { args = JSON.parse(text.value); } catch (exc) {
        showError(`The arguments are not valid JSON: ${exc.message}`);
        return;
      }
      decide(a, { decision: "edit", args }, controls);
    } }, text, h("button", { type: "submit", class: "primary" }, "Run with these arguments")));
  });
  fill(controls, h("div", { class: "row" }, approve, reject, edit), extra);
}

async function decide(a, body, controls) {
  for (const b of controls.querySelectorAll("button")) b.disabled = true;
  controls.append(h("p", { class: "muted working" }, "Resuming the conversation…"));
  try {
    const outcome = await api(`/approvals/${a.approval_id}/decision`, { method: "POST", body });
    const done = outcome.approval;
    toast(`${a.approval_id} ${words(done.status)}`, "info");
    outcomeBox.prepend(h("article", {
      class: `card outcome ${done.status.toLowerCase()}`, dataset: { approval: a.approval_id } },
      h("header", { class: "row between" },
        h("h3", {}, `${words(a.action)} — `, pill(done.status)),
        h("span", { class: "muted" }, `${done.decided_by} · ${when(done.decided_at)}`)),
      h("p", { class: "answer" }, linkify(outcome.thread.answer)),
      outcome.thread.approval ? h("p", { class: "notice" }, "The conversation stopped again for ",
        h("a", { href: `#/approvals/${outcome.thread.approval.approval_id}` }, "another approval"), ".")
        : null));
  } catch (exc) {
    showError(exc, `decide ${a.approval_id}`);
  }
  await load();
}
