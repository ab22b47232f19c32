// The live event stream, shared by every page: one connection, resumed after a break from the
// last event seen, fanned out to subscribers. Recent events are kept for the event log.

import { api, stream } from "./api.js";

const KEEP = 300;
const HISTORY = 100;
const RETRY_MS = [1000, 2000, 5000, 10000];

const listeners = new Set();
export const recent = [];
let controller = null;
let lastId = null;

function setDot(state) {
  const dot = document.getElementById("live-dot");
  if (dot) {
    dot.dataset.state = state;
    dot.title = state === "on" ? "live: events arriving" : "live stream reconnecting";
  }
}

/** Call `fn(event)` for every event from now on; returns the unsubscribe function. */
export function onEvent(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function deliver({ id, data }) {
  lastId = id || lastId;
  recent.push(data);
  if (recent.length > KEEP) recent.splice(0, recent.length - KEEP);
  for (const fn of listeners) {
    try { fn(data); } catch (exc) { console.error(exc); }
  }
}

// The log starts with the latest events; the stream then resumes right after them.
async function openWithHistory(signal) {
  try {
    const found = await api(`/events/recent?limit=${HISTORY}`, { signal });
    for (const event of found.events) recent.push(event);
    lastId = String(found.newest_event_id);
  } catch { /* the stream alone still shows what happens from now on */ }
}

/** Open the shared stream (again after a sign-in); it reconnects until `stopLive()`. */
export function startLive() {
  stopLive();
  const mine = new AbortController();
  controller = mine;
  (async () => {
    let failures = 0;
    if (lastId === null) await openWithHistory(mine.signal);
    while (!mine.signal.aborted) {
      try {
        setDot("on");
        await stream("/events/stream", {
          signal: mine.signal, lastEventId: lastId,
          onEvent: (message) => { failures = 0; deliver(message); },
        });
      } catch (exc) {
        if (mine.signal.aborted) return;
        if (exc.status === 401 || exc.status === 403) { setDot("off"); return; }
      }
      setDot("off");
      const wait = RETRY_MS[Math.min(failures, RETRY_MS.length - 1)];
      failures += 1;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  })();
}

export function stopLive() {
  if (controller) controller.abort();
  controller = null;
  setDot("off");
}

/** Follow sensor readings (batches) until the returned function is called. */
export function followSensors(onBatch) {
  const mine = new AbortController();
  (async () => {
    while (!mine.signal.aborted) {
      try {
        await stream("/sensors/stream", { signal: mine.signal, onEvent: (m) => onBatch(m.data) });
      } catch (exc) {
        if (mine.signal.aborted || exc.status === 401 || exc.status === 403) return;
      }
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  })();
  return () => mine.abort();
}
