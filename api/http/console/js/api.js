// Talking to the Titan API: the signed-in key, JSON requests, and Server-Sent Events read over
// fetch (EventSource cannot send the Authorization header).

const KEY = "titan.key";

export class ApiError extends Error {
  constructor(status, code, message, details = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export const session = {
  get key() { return sessionStorage.getItem(KEY); },
  set key(value) {
    if (value) sessionStorage.setItem(KEY, value);
    else sessionStorage.removeItem(KEY);
  },
  onUnauthorized: () => {},
};

function headers(extra = {}) {
  const found = { ...extra };
  if (session.key) found.Authorization = `Bearer ${session.key}`;
  return found;
}

// A readable sentence for an error body `{"error": {"code", "message", "details"}}`.
function describe(status, body) {
  const error = body && body.error;
  if (!error) return `The service answered ${status} without an explanation.`;
  const fields = (error.details || [])
    .filter((d) => d.field && d.reason)
    .map((d) => `${d.field.replace(/^body\./, "")}: ${d.reason}`);
  return fields.length ? `${error.message} (${fields.join("; ")})` : error.message;
}

async function failure(response) {
  let body = null;
  try { body = await response.json(); } catch { /* not JSON: say the status */ }
  const error = new ApiError(
    response.status, body?.error?.code ?? "http_error", describe(response.status, body),
    body?.error?.details ?? []);
  if (response.status === 401) session.onUnauthorized(error);
  return error;
}

/** The parsed JSON answer of `path`, or an ApiError with the service's message. */
export async function api(path, { method = "GET", body, signal } = {}) {
  let response;
  try {
    response = await fetch(path, {
      method,
      signal,
      headers: headers(body === undefined ? {} : { "Content-Type": "application/json" }),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (exc) {
    if (exc.name === "AbortError") throw exc;
    throw new ApiError(0, "unreachable", "The Titan service cannot be reached. Is it running?");
  }
  if (!response.ok) throw await failure(response);
  return response.status === 204 ? null : response.json();
}

/**
 * Read a Server-Sent Events stream; `onEvent({event, data, id})` per message. Resolves when the
 * stream ends, rejects with an ApiError when it is refused.
 */
export async function stream(path, { method = "GET", body, signal, lastEventId, onEvent }) {
  const extra = { Accept: "text/event-stream" };
  if (body !== undefined) extra["Content-Type"] = "application/json";
  if (lastEventId) extra["Last-Event-ID"] = String(lastEventId);
  let response;
  try {
    response = await fetch(path, {
      method, signal, headers: headers(extra),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (exc) {
    if (exc.name === "AbortError") throw exc;
    throw new ApiError(0, "unreachable", "The Titan service cannot be reached. Is it running?");
  }
  if (!response.ok) throw await failure(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let message = { event: "message", data: [], id: null };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop();
    for (const line of lines) {
      if (line === "") {
        if (message.data.length) {
          const text = message.data.join("\n");
          let data = text;
          try { data = JSON.parse(text); } catch { /* plain text data */ }
          onEvent({ event: message.event, data, id: message.id });
        }
        message = { event: "message", data: [], id: null };
      } else if (!line.startsWith(":")) {
        const at = line.indexOf(":");
        const field = at < 0 ? line : line.slice(0, at);
        let value = at < 0 ? "" : line.slice(at + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "event") message.event = value;
        else if (field === "data") message.data.push(value);
        else if (field === "id") message.id = value;
      }
    }
  }
}
