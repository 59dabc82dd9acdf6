/* What waits on this device: the scans queued for sending (amber box) and the ones the
 * server would not take (the "not sent" list, with the server's message and a Retry and
 * a Discard button each; an expired scan can only be discarded). */
import { $, T } from "./config.js";
import * as queue from "./queue.js";

let handlers = { retried() {} };

function clock(ms) {
  const t = new Date(ms);
  return [t.getHours(), t.getMinutes(), t.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
}

function summary(item) {
  const code = item.code.length > 12 ? item.code.slice(0, 12) + "…" : item.code;
  return clock(item.clientTime) + " · " + item.station + " · " + code;
}

function button(text, action, nonce, extraClass) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "btn not-sent-btn " + (extraClass || "");
  b.textContent = text;
  b.dataset.action = action;
  b.dataset.nonce = nonce;
  return b;
}

function renderNotSent() {
  const items = queue.notSent();
  $("scan-not-sent").hidden = items.length === 0;
  $("scan-not-sent-count").textContent = items.length;
  const list = $("scan-not-sent-list");
  list.textContent = "";
  items.forEach((item) => {
    const li = document.createElement("li");
    li.className = "not-sent-item" + (item.expired ? " is-expired" : "");
    const what = document.createElement("span");
    what.className = "not-sent-what";
    what.textContent = summary(item);
    const why = document.createElement("span");
    why.className = "not-sent-why";
    why.textContent = item.message || T.error;
    const actions = document.createElement("span");
    actions.className = "not-sent-actions";
    if (!item.expired) actions.appendChild(button(T.retry, "retry", item.nonce, "btn-primary"));
    actions.appendChild(button(T.discard, "discard", item.nonce, ""));
    li.append(what, why, actions);
    list.appendChild(li);
  });
  document.body.dataset.notSent = items.length;
}

export function render() {
  const items = queue.pending();
  $("scan-pending").hidden = items.length === 0;
  $("scan-pending-count").textContent = items.length;
  const list = $("scan-pending-list");
  list.textContent = "";
  items.forEach((item) => {
    const li = document.createElement("li");
    li.className = "pending-item";
    li.textContent = summary(item);
    list.appendChild(li);
  });
  document.body.dataset.pending = items.length;
  renderNotSent();
}

/** `retried()` runs after the guard put a scan back in the queue. */
export function init(options) {
  handlers = { ...handlers, ...options };
  $("scan-not-sent-list").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-action]");
    if (!b) return;
    if (b.dataset.action === "retry") queue.retry(b.dataset.nonce);
    else queue.discard(b.dataset.nonce);
    render();
    if (b.dataset.action === "retry") handlers.retried();
  });
  window.addEventListener("storage", render);  // another tab of this booth sent or queued scans
}
