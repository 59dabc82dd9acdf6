/* The offline queue: every scan is written here (with its nonce and the time it was
 * scanned) before it is sent, and leaves only when the server has answered. A scan the
 * server refuses to take (400, 403, 409) moves to the "not sent" list with the server's
 * message, where the guard retries or discards it; one too old to be believed
 * (SCAN_MAX_AGE_HOURS) is shown there as expired and never sent. */
import { load, save } from "./store.js";

const QUEUE_KEY = "qrgate.scan.queue";
const NOT_SENT_KEY = "qrgate.scan.notSent";
const OFFSET_KEY = "qrgate.scan.clockOffset";

function list(key) {
  const value = load(key, []);
  // A damaged value (another version of the page, a hand edit) must not stop the booth.
  return Array.isArray(value) ? value.filter((i) => i && typeof i.code === "string" && i.nonce) : [];
}

export function newNonce() {
  // crypto.randomUUID needs a secure context; a booth on plain http has only getRandomValues.
  const bytes = new Uint8Array(16);
  window.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The booth's clock may be wrong: the offset measured on the server's Date headers. */
export function rememberServerDate(httpDate) {
  const server = Date.parse(httpDate || "");
  if (!Number.isNaN(server)) save(OFFSET_KEY, server - Date.now());
}

/** A new scan to send. `fields` are extra API fields a form on the page may add. */
export function newItem(code, station, fields) {
  const clientTime = Date.now();
  const offset = Number(load(OFFSET_KEY, 0)) || 0;
  return {
    code, station, nonce: newNonce(), clientTime, tries: 0,
    scannedAt: new Date(clientTime + offset).toISOString(),
    ...(fields ? { fields } : {}),
  };
}

export function pending() { return list(QUEUE_KEY); }
export function notSent() { return list(NOT_SENT_KEY); }

export function add(item) {
  save(QUEUE_KEY, [...pending(), item]);
}

export function remove(nonce) {
  save(QUEUE_KEY, pending().filter((i) => i.nonce !== nonce));
}

export function bump(nonce) {
  save(QUEUE_KEY, pending().map((i) => (i.nonce === nonce ? { ...i, tries: (i.tries || 0) + 1 } : i)));
}

/** The server refused to take it: out of the queue (it never blocks the scans behind it). */
export function moveToNotSent(nonce, message, { expired = false } = {}) {
  const item = pending().find((i) => i.nonce === nonce);
  remove(nonce);
  if (!item) return;
  save(NOT_SENT_KEY, [...notSent().filter((i) => i.nonce !== nonce), { ...item, message, expired }]);
}

/** Back into the queue with a fresh nonce: the refused request recorded nothing, and a
 * nonce the server saw with other content would be refused again as a conflict. */
export function retry(nonce) {
  const item = notSent().find((i) => i.nonce === nonce && !i.expired);
  if (!item) return;
  discard(nonce);
  const { message, expired, ...again } = item;
  add({ ...again, nonce: newNonce(), tries: Math.max(again.tries || 0, 1) });
}

export function discard(nonce) {
  save(NOT_SENT_KEY, notSent().filter((i) => i.nonce !== nonce));
}

export function isExpired(item, maxAgeHours, now = Date.now()) {
  return maxAgeHours > 0 && now - item.clientTime > maxAgeHours * 3600 * 1000;
}

/** Move every queued scan older than maxAgeHours to the "not sent" list, marked expired. */
export function expireOld(maxAgeHours, message) {
  const now = Date.now();
  pending().filter((i) => isExpired(i, maxAgeHours, now))
    .forEach((i) => moveToNotSent(i.nonce, message, { expired: true }));
}

/** A double read while offline: the server could not tell it from a real second scan. */
export function queuedAgain(code, station, seconds) {
  const now = Date.now();
  return pending().some((q) => !q.force && q.station === station &&
    q.code.toUpperCase() === code.toUpperCase() && now - q.clientTime < seconds * 1000);
}
