// The console's shell: sign-in, who the key belongs to, the pages and the hash router.

import { api, session } from "./api.js";
import { startLive, stopLive, onEvent } from "./live.js";
import { h, fill, showError } from "./ui.js";
import * as chat from "./chat.js";
import * as approvals from "./approvals.js";
import * as plant from "./plant.js";
import * as schedule from "./schedule.js";
import * as sim from "./sim.js";

const PAGES = { chat, approvals, plant, schedule, sim };
const BADGE_MS = 60000;
const LARGE = "titan.large-type";

const ctx = {
  me: null,
  navigate: (hash) => { location.hash = hash; },
  refreshBadge,
};
let current = null;
let badgeTimer = null;
let mounted = false;

async function refreshBadge() {
  try {
    const pending = await api("/approvals?status=pending&limit=500");
    const badge = document.getElementById("approvals-badge");
    badge.textContent = String(pending.length);
    badge.hidden = pending.length === 0;
    badge.setAttribute("aria-label", `${pending.length} pending approvals`);
  } catch (exc) {
    if (exc.status !== 401) console.warn("approvals badge", exc);
  }
}

function route() {
  if (!ctx.me) return;
  const [name, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  const page = PAGES[name] ? name : "chat";
  for (const link of document.querySelectorAll(".tabs a")) {
    link.classList.toggle("active", link.dataset.page === page);
    if (link.dataset.page === page) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  for (const section of document.querySelectorAll(".page")) {
    section.hidden = section.dataset.page !== page;
  }
  if (current && current !== PAGES[page]) current.hide?.();
  current = PAGES[page];
  current.show(rest.map(decodeURIComponent));
}

function showSignin(message = "") {
  stopLive();
  clearInterval(badgeTimer);
  ctx.me = null;
  document.getElementById("app").hidden = true;
  document.getElementById("signin").hidden = false;
  const error = document.getElementById("signin-error");
  error.textContent = message;
  error.hidden = !message;
  document.getElementById("signin-key").focus();
}

async function signIn(key) {
  session.key = key;
  try {
    ctx.me = await api("/me");
  } catch (exc) {
    session.key = null;
    const text = exc.status === 401
      ? `That key was not accepted: ${exc.message}`
      : `Could not sign in: ${exc.message}`;
    showSignin(text);
    return;
  }
  if (mounted) {
    // Pages were built for the previous key's role: start afresh with the new key.
    location.reload();
    return;
  }
  mounted = true;
  const { me } = ctx;
  document.body.dataset.role = me.role;
  document.body.classList.toggle("may-control", me.may.control_simulation);
  document.body.classList.toggle("may-approve", me.may.decide_approvals);
  fill(document.getElementById("who"), h("strong", {}, me.user_id), ` · ${me.role.replace("_", " ")}`);
  document.getElementById("signin").hidden = true;
  document.getElementById("app").hidden = false;
  for (const [name, page] of Object.entries(PAGES)) {
    page.mount(document.getElementById(`page-${name}`), ctx);
  }
  startLive();
  refreshBadge();
  badgeTimer = setInterval(refreshBadge, BADGE_MS);
  route();
}

function setLarge(on) {
  document.documentElement.classList.toggle("large", on);
  document.getElementById("large-type").setAttribute("aria-pressed", String(on));
  localStorage.setItem(LARGE, on ? "1" : "");
}

function start() {
  session.onUnauthorized = (exc) => {
    session.key = null;
    showSignin(`You were signed out: ${exc.message}`);
  };
  setLarge(Boolean(localStorage.getItem(LARGE)));
  document.getElementById("large-type").addEventListener("click", () =>
    setLarge(!document.documentElement.classList.contains("large")));
  document.getElementById("signin-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = document.getElementById("signin-key");
    signIn(input.value.trim()).catch((exc) => showError(exc, "sign in"));
    input.value = "";
  });
  document.getElementById("signout").addEventListener("click", () => {
    session.key = null;
    showSignin();
  });
  window.addEventListener("hashchange", route);
  onEvent((event) => {
    const clock = document.getElementById("plant-time");
    if (event.occurred_at) clock.textContent = `plant ${event.occurred_at.slice(5, 16).replace("T", " ")} UTC`;
    // Requests and decisions are events: the badge follows them at once (the timer is a backstop).
    if (event.type && event.type.startsWith("approval.") && session.key) refreshBadge();
  });
  if (session.key) signIn(session.key);
  else showSignin();
}

start();
