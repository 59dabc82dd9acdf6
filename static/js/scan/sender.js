/* Sending scans: a new scan is queued first (so a crash or a reload during the request
 * loses nothing), then sent; the queue is flushed every few seconds and when the network
 * comes back. The nonce makes a resend that did reach the server a harmless replay, so a
 * scan is never lost and never recorded twice.
 *
 * Flushing goes in scan order and stops at the first scan that cannot be sent now (no
 * network, or the session ended: a 401 keeps everything). A scan the server refuses to take
 * moves to the "not sent" list and the flush goes on with the scans behind it.
 *
 * createSender() makes one for any queue (queue.js createQueue) and any request: the
 * booth's scan screen uses the functions exported at the end, the marshal's page its own. */
import * as scanQueue from "./queue.js";
import { sendScan } from "./api.js";

export function createSender(defaults) {
  const inFlight = new Set();
  let flushing = false;
  let opts = {
    queue: scanQueue,
    // send(item, opts) resolves to an outcome of api.js (result, auth, refused, offline).
    send: (item, o) => sendScan(o.apiUrl, item, o.errorMessage),
    apiUrl: "", maxAgeHours: 0, expiredMessage: "", errorMessage: "",
    onChange() {}, onSession() {}, onLateResult() {}, onRecorded() {}, onSent() {},
    ...defaults,
  };

  function init(options) {
    opts = { ...opts, ...options };
  }

  function settle(item, outcome) {
    const queue = opts.queue;
    inFlight.delete(item.nonce);
    if (outcome.kind === "result") queue.remove(item.nonce);
    else if (outcome.kind === "refused") queue.moveToNotSent(item.nonce, outcome.message);
    else queue.bump(item.nonce);  // offline or logged out: kept, sent again later
    if (outcome.kind === "auth") opts.onSession(false);
    else if (outcome.kind !== "offline") opts.onSession(true);
    return outcome;
  }

  function send(item) {
    inFlight.add(item.nonce);
    return Promise.resolve()
      .then(() => opts.send(item, opts))
      .catch(() => ({ kind: "offline" }))
      .then((outcome) => settle(item, outcome));
  }

  /** Queue and send one new scan; resolves to its outcome (see api.js). */
  function submit(item) {
    opts.queue.add(item);
    opts.onChange();
    return send(item).then((outcome) => {
      opts.onChange();
      if (outcome.kind === "result") opts.onRecorded();
      return outcome;
    });
  }

  /** Send what is waiting, oldest first. Resolves when done; never rejects. */
  async function flush() {
    if (flushing) return;
    flushing = true;
    let sent = 0;
    const queue = opts.queue;
    try {
      queue.expireOld(opts.maxAgeHours, opts.expiredMessage);
      const waiting = queue.pending().filter((i) => !inFlight.has(i.nonce));
      for (const item of waiting) {
        if (!queue.pending().some((i) => i.nonce === item.nonce)) continue;  // discarded meanwhile
        const outcome = await send(item);
        if (outcome.kind === "result") {
          sent += 1;
          opts.onSent(outcome.data, item);  // every answer to a scan sent from the queue
          // A refusal sent late matters (a banned driver may have passed): show it.
          if (!outcome.data.accepted) opts.onLateResult(outcome.data, item);
        } else if (outcome.kind !== "refused") {
          break;  // offline or logged out: the rest waits, in order
        }
      }
    } catch (e) {
      /* storage or rendering trouble: the next flush tries again */
    } finally {
      flushing = false;
      opts.onChange();
      if (sent) opts.onRecorded();
    }
  }

  /** Flush every `ms` and when the browser says it is online again. */
  function keepFlushing(ms) {
    const run = () => { flush().catch(() => {}); };
    setInterval(run, ms);
    window.addEventListener("online", run);
    run();
  }

  return { init, submit, flush, keepFlushing };
}

/* The booth's scan screen's sender. */
export const { init, submit, flush, keepFlushing } = createSender();
