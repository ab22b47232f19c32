// Chat: a conversation with Titan streamed as it forms, the agents and tools that ran, and the
// threads to reopen.

import { api, stream } from "./api.js";
import { linkify } from "./links.js";
import { h, fill, showError, errorBox, words, keyValues } from "./ui.js";

const EXAMPLES = [
  "Why is PHX-CNC-007 vibrating?",
  "How much SKU-TB-1001 do we have in stock?",
  "Which shipments are delayed?",
  "Cancel order ORD-10020, the customer withdrew it",
];

let root;
let ctx;
let threadList;
let log;
let input;
let sendButton;
let threadId = null;
let busy = false;

export function mount(el, context) {
  root = el;
  ctx = context;
  threadList = h("ul", { class: "thread-list" });
  log = h("div", { class: "chat-log", "aria-live": "polite" });
  input = h("textarea", {
    id: "chat-input", rows: 2, maxlength: 4000, placeholder: "Ask Titan about the plant…",
    "aria-label": "Message to Titan",
  });
  sendButton = h("button", { type: "submit", class: "primary", id: "chat-send" }, "Send");
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
  });
  const form = h("form", { class: "chat-form", onsubmit: (e) => { e.preventDefault(); send(); } },
    input, sendButton);
  fill(root, h("div", { class: "chat-layout" },
    h("aside", { class: "card threads" },
      h("div", { class: "row between" }, h("h2", {}, "Threads"),
        h("button", { type: "button", class: "ghost", id: "chat-new", onclick: () => newChat() },
          "New")),
      threadList),
    h("div", { class: "card conversation" }, log, form)));
}

export function show([id]) {
  loadThreads();
  if (busy) return;
  if (id && id !== threadId) openThread(id);
  // Back on the Chat tab: the conversation in hand stays open ("New" starts another).
  else if (!id && threadId) history.replaceState(null, "", `#/chat/${encodeURIComponent(threadId)}`);
  else if (!id) newThread();
  input.focus();
}

function newChat() {
  if (busy) return;
  history.replaceState(null, "", "#/chat");
  newThread();
  loadThreads();
  input.focus();
}

function newThread() {
  threadId = null;
  fill(log, h("div", { class: "empty" },
    h("p", {}, "Ask about machines, orders, stock, shipments, maintenance or the schedule."),
    h("div", { class: "examples" }, EXAMPLES.map((text) =>
      h("button", { type: "button", class: "chip-button", onclick: () => { input.value = text; send(); } },
        text)))));
}

async function loadThreads() {
  try {
    const threads = await api("/threads");
    fill(threadList, threads.length ? threads.slice(0, 50).map((t) =>
      h("li", { class: t.thread_id === threadId ? "active" : "" },
        h("a", { href: `#/chat/${encodeURIComponent(t.thread_id)}`, title: t.request },
          h("span", { class: "thread-title" }, t.request || t.thread_id),
          t.waiting_for_approval ? h("span", { class: "pill warn" }, "awaiting approval") : null)))
      : h("li", { class: "muted" }, "No conversations yet."));
  } catch (exc) {
    fill(threadList, h("li", {}, errorBox(exc)));
  }
}

function bubble(role, ...children) {
  const el = h("div", { class: `msg ${role}` }, ...children);
  log.append(el);
  log.scrollTop = log.scrollHeight;
  return el;
}

function stepsView(route, toolCalls, open = false) {
  const list = h("ol", { class: "steps-list" });
  const summary = h("summary", {});
  const details = h("details", { class: "steps", open }, summary, list);
  const update = () => {
    const agents = [...new Set(route)];
    summary.textContent = `${agents.length ? agents.join(" → ") : "supervisor"} · ` +
      `${toolCalls.length} tool call${toolCalls.length === 1 ? "" : "s"}`;
  };
  const addAgent = (agent) => {
    route.push(agent);
    list.append(h("li", { class: "step agent" }, h("strong", {}, agent), " started"));
    update();
  };
  const addTool = (call) => {
    toolCalls.push(call);
    list.append(h("li", { class: `step tool ${call.ok ? "" : "failed"}` },
      h("code", {}, call.name), ` by ${call.agent}`, call.ok ? "" : " (failed)",
      h("details", { class: "args" }, h("summary", {}, "arguments"), keyValues(call.args, linkify))));
    update();
  };
  const initial = { route: [...route], tools: [...toolCalls] };
  route.length = 0;
  toolCalls.length = 0;
  initial.route.forEach(addAgent);
  initial.tools.forEach(addTool);
  update();
  return { el: details, addAgent, addTool };
}

function sentence(text) {
  const trimmed = String(text).trim();
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

function approvalNote(approval) {
  return h("div", { class: "approval-note" },
    h("strong", {}, "Waiting for approval: "),
    `${words(approval.action)} — ${sentence(approval.description || approval.reason)} `,
    h("a", { href: `#/approvals/${approval.approval_id}` }, `Review ${approval.approval_id}`));
}

async function openThread(id) {
  threadId = id;
  fill(log, h("p", { class: "muted" }, "Loading…"));
  try {
    const thread = await api(`/threads/${encodeURIComponent(id)}`);
    log.replaceChildren();
    let lastAi = null;
    for (const m of thread.messages) {
      if (m.role === "human") bubble("human", m.content);
      else lastAi = bubble("ai", h("div", { class: "answer" }, linkify(m.content)));
    }
    if (lastAi) lastAi.prepend(stepsView([...thread.route], [...thread.tool_calls]).el);
    if (thread.approval) bubble("ai", approvalNote(thread.approval));
  } catch (exc) {
    fill(log, errorBox(exc));
  }
}

async function send() {
  const message = input.value.trim();
  if (!message || busy) return;
  if (!threadId) log.replaceChildren();
  busy = true;
  sendButton.disabled = true;
  input.value = "";
  bubble("human", message);
  const steps = stepsView([], [], true);
  const answer = h("div", { class: "answer streaming" });
  const reply = bubble("ai", steps.el, answer);
  let text = "";
  try {
    await stream("/chat/stream", {
      method: "POST",
      body: threadId ? { message, thread_id: threadId } : { message },
      onEvent: ({ event, data }) => {
        if (event === "thread") {
          threadId = data.thread_id;
          history.replaceState(null, "", `#/chat/${encodeURIComponent(threadId)}`);
        } else if (event === "agent") steps.addAgent(data.agent);
        else if (event === "tool_call") steps.addTool(data);
        else if (event === "token") { text += data; answer.textContent = text; }
        else if (event === "approval") { reply.append(approvalNote(data)); ctx.refreshBadge(); }
        else if (event === "done") fill(answer, linkify(data.answer));
        else if (event === "error") answer.replaceWith(errorBox(data.error));
        log.scrollTop = log.scrollHeight;
      },
    });
  } catch (exc) {
    answer.replaceWith(errorBox(exc));
    showError(exc, "ask Titan");
  } finally {
    answer.classList.remove("streaming");
    steps.el.open = false;
    busy = false;
    sendButton.disabled = false;
    loadThreads();
  }
}
