/* What the marshal's phone holds: the scans waiting to be sent (with the time each was
 * made), the ones the server would not take (its message, Retry / Discard, never blocking
 * the others), and the last marks of this phone in this roll call with their outcome. */
import { $, T, cfg, clock } from "./config.js";
import { load, save } from "../scan/store.js";

const RECENT_KEY = "qrgate.muster.recent";
const RECENT_MAX = 30;
let queue = null;
let handlers = { retried() {} };

function code(item) {
  return item.code.length > 14 ? item.code.slice(0, 14) + "…" : item.code;
}

function li(className, parts) {
  const el = document.createElement("li");
  el.className = className;
  parts.forEach(([cls, text]) => {
    const span = document.createElement("span");
    span.className = cls;
    span.textContent = text;
    el.appendChild(span);
  });
  return el;
}

function button(text, action, nonce, extra) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "btn muster-small-btn " + (extra || "");
  b.textContent = text;
  b.dataset.action = action;
  b.dataset.nonce = nonce;
  return b;
}

function recentMarks() {
  const value = load(RECENT_KEY, []);
  return Array.isArray(value) ? value.filter((m) => m && m.rollCall === cfg.rollCall) : [];
}

/** Remember one answer of the server (idempotent: the same nonce is one line). */
export function remember(data, item) {
  const all = load(RECENT_KEY, []);
  const others = (Array.isArray(all) ? all : []).filter((m) => m && m.nonce !== item.nonce && m.rollCall === cfg.rollCall);
  const mark = {
    nonce: item.nonce, rollCall: item.rollCall, time: item.time || clock(item.clientTime),
    reason: data.reason, name: (data.driver && data.driver.name) || code(item),
    point: (item.point && item.point.name) || "",
  };
  save(RECENT_KEY, [mark, ...others].slice(0, RECENT_MAX));
}

function renderRecent() {
  const marks = recentMarks();
  const list = $("muster-recent-list");
  list.textContent = "";
  marks.forEach((m) => {
    const label = T["short_" + m.reason] || m.reason;
    list.appendChild(li("muster-mark reason-" + m.reason, [
      ["muster-mark-time", m.time], ["muster-mark-what", label], ["muster-mark-name", m.name],
    ]));
  });
  $("muster-recent-empty").hidden = marks.length > 0;
  document.body.dataset.recent = marks.length;
}

function renderPending() {
  const items = queue.pending();
  $("muster-pending").hidden = items.length === 0;
  $("muster-pending-count").textContent = items.length;
  const list = $("muster-pending-list");
  list.textContent = "";
  items.forEach((item) => {
    list.appendChild(li("muster-pending-item", [
      ["muster-mark-time", item.time || clock(item.clientTime)], ["muster-mark-name", code(item)],
      ["muster-mark-point", (item.point && item.point.name) || ""],
    ]));
  });
  document.body.dataset.pending = items.length;
}

function renderNotSent() {
  const items = queue.notSent();
  $("muster-not-sent").hidden = items.length === 0;
  $("muster-not-sent-count").textContent = items.length;
  const list = $("muster-not-sent-list");
  list.textContent = "";
  items.forEach((item) => {
    const row = li("muster-not-sent-item", [
      ["muster-mark-time", item.time || clock(item.clientTime)], ["muster-mark-name", code(item)],
      ["muster-mark-point", (item.point && item.point.name) || ""], ["muster-not-sent-why", item.message || T.error],
    ]);
    const actions = document.createElement("span");
    actions.className = "muster-not-sent-actions";
    actions.append(button(T.retry, "retry", item.nonce, "btn-primary"), button(T.discard, "discard", item.nonce));
    row.appendChild(actions);
    list.appendChild(row);
  });
  document.body.dataset.notSent = items.length;
}

export function render() {
  renderPending();
  renderNotSent();
  renderRecent();
}

export function init(options) {
  ({ queue } = options);
  handlers = { ...handlers, ...options };
  $("muster-not-sent-list").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-action]");
    if (!b) return;
    if (b.dataset.action === "retry") queue.retry(b.dataset.nonce);
    else queue.discard(b.dataset.nonce);
    render();
    if (b.dataset.action === "retry") handlers.retried();
  });
  window.addEventListener("storage", render);  // another tab of this phone sent or queued scans
}
