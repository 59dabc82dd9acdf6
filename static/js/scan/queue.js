/* The offline queue: every scan is written here (with its nonce and the time it was
 * scanned) before it is sent, and leaves only when the server has answered. A scan the
 * server refuses to take (400, 403, 409) moves to the "not sent" list with the server's
 * message, where the guard retries or discards it; one too old to be believed
 * (SCAN_MAX_AGE_HOURS) is shown there as expired and never sent. */
import { load, save } from "./store.js";

const OFFSET_KEY = "qrgate.scan.clockOffset";  // the device's, whichever page measured it

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

/** A random UUID (version 4): crypto.randomUUID where the page is a secure context, else
 * the same layout from getRandomValues (a phone reaching the plant's server over plain http). */
export function newUuid() {
  if (window.crypto.randomUUID) {
    try { return window.crypto.randomUUID(); } catch (e) { /* not a secure context */ }
  }
  const bytes = new Uint8Array(16);
  window.crypto.getRandomValues(bytes);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
}

/** The booth's clock may be wrong: the offset measured on the server's Date headers. */
export function rememberServerDate(httpDate) {
  const server = Date.parse(httpDate || "");
  if (!Number.isNaN(server)) save(OFFSET_KEY, server - Date.now());
}

/** The time of a new scan, on the device's clock and corrected to the server's. */
export function stamp(nonce = newNonce()) {
  const clientTime = Date.now();
  const offset = Number(load(OFFSET_KEY, 0)) || 0;
  return { nonce, clientTime, tries: 0, scannedAt: new Date(clientTime + offset).toISOString() };
}

/** A queue of scans under its own storage keys: the booth's scan screen has one (the
 * functions exported below), the marshal's page (static/js/muster/) another. */
export function createQueue({ queueKey, notSentKey, makeNonce = newNonce }) {
  const q = {};

  /** A new scan to send. `fields` are extra API fields a form on the page may add. */
  q.newItem = (code, station, fields) => ({ code, station, ...stamp(makeNonce()), ...(fields ? { fields } : {}) });

  q.pending = () => list(queueKey);
  q.notSent = () => list(notSentKey);

  q.add = (item) => {
    save(queueKey, [...q.pending(), item]);
  };

  q.remove = (nonce) => {
    save(queueKey, q.pending().filter((i) => i.nonce !== nonce));
  };

  q.bump = (nonce) => {
    save(queueKey, q.pending().map((i) => (i.nonce === nonce ? { ...i, tries: (i.tries || 0) + 1 } : i)));
  };

  /** The server refused to take it: out of the queue (it never blocks the scans behind it). */
  q.moveToNotSent = (nonce, message, { expired = false } = {}) => {
    const item = q.pending().find((i) => i.nonce === nonce);
    q.remove(nonce);
    if (!item) return;
    save(notSentKey, [...q.notSent().filter((i) => i.nonce !== nonce), { ...item, message, expired }]);
  };

  /** Back into the queue with a fresh nonce: the refused request recorded nothing, and a
   * nonce the server saw with other content would be refused again as a conflict. */
  q.retry = (nonce) => {
    const item = q.notSent().find((i) => i.nonce === nonce && !i.expired);
    if (!item) return;
    q.discard(nonce);
    const { message, expired, ...again } = item;
    q.add({ ...again, nonce: makeNonce(), tries: Math.max(again.tries || 0, 1) });
  };

  q.discard = (nonce) => {
    save(notSentKey, q.notSent().filter((i) => i.nonce !== nonce));
  };

  q.isExpired = (item, maxAgeHours, now = Date.now()) =>
    maxAgeHours > 0 && now - item.clientTime > maxAgeHours * 3600 * 1000;

  /** Move every queued scan older than maxAgeHours to the "not sent" list, marked expired. */
  q.expireOld = (maxAgeHours, message) => {
    const now = Date.now();
    q.pending().filter((i) => q.isExpired(i, maxAgeHours, now))
      .forEach((i) => q.moveToNotSent(i.nonce, message, { expired: true }));
  };

  /** A double read while offline: the server could not tell it from a real second scan. */
  q.queuedAgain = (code, station, seconds) => {
    const now = Date.now();
    return q.pending().some((i) => !i.force && i.station === station &&
      i.code.toUpperCase() === code.toUpperCase() && now - i.clientTime < seconds * 1000);
  };

  return q;
}

/* The booth's scan screen's queue. */
const scanQueue = createQueue({ queueKey: "qrgate.scan.queue", notSentKey: "qrgate.scan.notSent" });
export const {
  newItem, pending, notSent, add, remove, bump, moveToNotSent, retry, discard, isExpired, expireOld, queuedAgain,
} = scanQueue;
