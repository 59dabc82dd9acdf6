/* The scan API client. Every call resolves (never rejects) to an outcome the page can act on:
 *   result   200: the server's verdict (accepted or refused), the scan is done
 *   auth     401: the session ended; the scan stays queued until the guard logs in again
 *   refused  another 4xx: the server will not take this request (its message says why)
 *   offline  no answer, a timeout or a 5xx: the scan stays queued and is sent again
 */
import { rememberServerDate } from "./queue.js";

const REQUEST_TIMEOUT_MS = 8000;

export function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (m) {
    try { return decodeURIComponent(m[1]); } catch (e) { /* a mangled cookie: use the page's token */ }
  }
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

/** POST `body` as JSON; resolves to {status, data, date} or {status: 0} when nothing came back. */
export function postJson(url, body, timeoutMs = REQUEST_TIMEOUT_MS) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  return fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify(body),
    signal: controller.signal,
  }).then((resp) => resp.json().then(
    (data) => ({ status: resp.status, data: data || {}, date: resp.headers.get("Date") }),
    () => ({ status: resp.status, data: null, date: resp.headers.get("Date") }),  // not JSON: a proxy's page
  )).then((answer) => {
    clearTimeout(timer);
    return answer;
  }).catch(() => {
    clearTimeout(timer);
    return { status: 0, data: null };  // no network, or the timeout aborted it
  });
}

function scanBody(item) {
  const body = { ...(item.fields || {}), code: item.code, station: item.station, nonce: item.nonce };
  if (item.force) {
    body.force = true;
    body.note = item.note;
    if (item.direction) body.direction = item.direction;
  }
  // A first try is "now" on the server's clock; a retry carries the time of the scan.
  if (item.tries > 0) body.scanned_at = item.scannedAt;
  return body;
}

export function outcomeOf(answer, fallbackMessage) {
  const { status, data } = answer;
  if (status === 200 && data) return { kind: "result", data };
  if (status === 401) return { kind: "auth", message: (data && data.error) || fallbackMessage };
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
    return { kind: "refused", status, message: (data && data.error) || fallbackMessage };
  }
  return { kind: "offline" };
}

export function sendScan(url, item, fallbackMessage) {
  return postJson(url, scanBody(item)).then((answer) => {
    if (answer.status === 200) rememberServerDate(answer.date);
    return outcomeOf(answer, fallbackMessage);
  }).catch(() => ({ kind: "offline" }));  // kept in the queue, sent again
}
