/* The result panel: one scan's outcome fills the screen in its colour (entry green, exit
 * blue, refused red...) with the driver's photo, then clears itself. From it a supervisor
 * forces a refused movement and an operator undoes the scan just made. */
import { $, T, cfg } from "./config.js";
import { play } from "../sounds.js";

const overlay = $("scan-result");
const HEADS = { entry: "entry", exit: "exit", pass: "pass", refused: "refused" };
let hideTimer = null;
let lastItem = null;    // the scan whose result is on screen (for force)
let lastResult = null;
let formAction = null;
let actions = { force() {}, undo() {}, focusScanner() {} };

function beep(level) {
  const sound = level === "refused" ? "refused"
    : (level === "warning" || level === "pending") ? "warning" : "accepted";
  document.body.dataset.lastSound = sound;
  play(sound);
}

export function isShown() {
  return !overlay.hidden;
}

export function hide() {
  clearTimeout(hideTimer);
  overlay.hidden = true;
  $("result-form").hidden = true;
  document.body.dataset.result = "";
  actions.focusScanner();
}

function scheduleHide(seconds) {
  clearTimeout(hideTimer);
  hideTimer = setTimeout(hide, seconds * 1000);
}

function showPanel(level, head) {
  clearTimeout(hideTimer);
  overlay.className = "scan-result level-" + level;
  $("result-head").textContent = head;
  $("result-head").classList.toggle("is-long", head.length > 10);
  $("result-photo-box").hidden = true;
  $("result-photo").hidden = true;
  $("result-initial").hidden = true;
  ["result-name", "result-company", "result-message", "result-extra", "result-route"].forEach((id) => { $(id).textContent = ""; });
  $("result-force").hidden = true;
  $("result-undo").hidden = true;
  $("result-form").hidden = true;
  overlay.hidden = false;
  document.body.dataset.result = level;
  actions.focusScanner();  // the scanner field keeps the focus under the panel
}

function hhmm(iso) { return iso ? iso.slice(11, 16) : ""; }  // already in the plant's time zone

function showDriver(data) {
  const d = data.driver;
  if (!d) return;
  $("result-photo-box").hidden = false;
  $("result-name").textContent = d.name;
  $("result-company").textContent = d.company + (d.plate ? " · " + d.plate : "");
  $("result-initial").textContent = (d.name || "?").charAt(0);
  if (d.photo_url) {
    $("result-photo").src = d.photo_url;
    $("result-photo").hidden = false;
  } else {
    $("result-initial").hidden = false;
  }
  if (data.accepted && data.direction === "out" && d.time_inside) {
    $("result-extra").textContent = T.timeInside + ": " + d.time_inside;
  } else if (d.inside_since) {
    $("result-extra").textContent = T.insideSince + " " + hhmm(d.inside_since) +
      (d.time_inside ? " (" + d.time_inside + ")" : "");
  }
}

/** The server's verdict on `item` (the API's JSON). */
export function showResult(data, item) {
  lastItem = item;
  lastResult = data;
  let head = T[HEADS[data.level]] || T.refused;
  if (data.level === "warning") head = data.reason === "duplicate" ? T.duplicate : T.forced;
  showPanel(data.level, head);
  showDriver(data);
  $("result-message").textContent = data.message || "";
  if (data.forcible && cfg.canForce) {
    const label = { in: T.forceIn, out: T.forceOut, pass: T.forcePass }[data.direction] || T.forceIn;
    $("result-force").textContent = label;
    $("result-force").hidden = false;
  }
  if (data.accepted && data.annullable && data.movement_id && cfg.canAnnul) $("result-undo").hidden = false;
  beep(data.level);
  scheduleHide(data.level === "refused" ? cfg.resultSeconds + 3 : cfg.resultSeconds);
}

/** The scan is kept on this device: no answer from the server yet. */
export function showPending(item) {
  lastItem = item;
  showPanel("pending", T.pending);
  $("result-message").textContent = T.pendingHelp;
  $("result-extra").textContent = item.code.slice(0, 40);
  beep("warning");
  scheduleHide(cfg.resultSeconds);
}

export function showNotice(level, head, message) {
  showPanel(level, head);
  $("result-message").textContent = message;
  beep(level === "info" ? "entry" : level === "refused" ? "refused" : "warning");
  scheduleHide(level === "refused" ? cfg.resultSeconds + 3 : cfg.resultSeconds);
}

function openForm(label, submitLabel, value, action) {
  clearTimeout(hideTimer);  // the panel stays while the operator types
  formAction = action;
  $("result-form-label").textContent = label;
  $("result-form-submit").textContent = submitLabel;
  $("result-form-input").value = value || "";
  $("result-form").hidden = false;
  $("result-force").hidden = true;
  $("result-undo").hidden = true;
  $("result-form-input").focus();
}

/** `force(item, result, note)` and `undo(movementId, reason)` do the work; `focusScanner()`
 * gives the focus back to the scanner field. */
export function init(handlers) {
  actions = { ...actions, ...handlers };
  $("result-photo").addEventListener("error", () => {
    $("result-photo").hidden = true;  // a photo that cannot load: show the initial instead
    $("result-initial").hidden = false;
  });
  overlay.addEventListener("click", (e) => {
    if (!e.target.closest("button, form")) hide();
  });
  $("result-force").addEventListener("click", () => {
    const item = lastItem;
    const result = lastResult;
    openForm(T.forceReason, T.forceConfirm, "", (note) => {
      if (!note) { $("result-form-input").focus(); return; }
      actions.force(item, result, note);
    });
  });
  $("result-undo").addEventListener("click", () => {
    const movementId = lastResult.movement_id;
    openForm(T.undoReason, T.undoConfirm, T.undoDefault, (reason) => actions.undo(movementId, reason));
  });
  $("result-form").addEventListener("submit", (e) => {
    e.preventDefault();
    if (formAction) formAction($("result-form-input").value.trim());
  });
  $("result-form-cancel").addEventListener("click", hide);
}
