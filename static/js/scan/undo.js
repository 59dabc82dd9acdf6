/* Undo a scan from the recent list: the row's Undo button (shown only where the server's
 * drivers.services.can_annul says yes) opens a big dialog that asks why, then the API is
 * asked to annul it. The dialog blocks the scanner: a badge read meanwhile records nothing. */
import { $, T, cfg, dialogOpen } from "./config.js";
import { postJson } from "./api.js";

const dialog = $("undo-dialog");
const reasonField = $("undo-dialog-reason");
const confirmButton = $("undo-dialog-confirm");
let movementId = null;  // the movement the open dialog is about
let handlers = { station() { return null; }, notice() {}, done() {}, session() {}, refocusScanner() {} };

function rowSummary(row) {
  // "06:02:11 · Entry · José Ramírez": which scan is about to be undone.
  if (!row) return "";
  const cells = row.querySelectorAll("td");
  const name = row.querySelector("td strong");
  return [cells[0], cells[1], name].filter(Boolean).map((el) => el.textContent.trim())
    .filter(Boolean).join(" · ");
}

function open(id, row) {
  if (!id || dialogOpen()) return;
  movementId = id;
  $("undo-dialog-what").textContent = rowSummary(row);
  $("undo-dialog-label").textContent = T.undoReason;
  confirmButton.textContent = T.undoConfirm;
  confirmButton.disabled = false;
  reasonField.value = T.undoDefault;
  dialog.showModal();
  reasonField.focus();
  reasonField.select();  // typing replaces the default reason; a tap on Confirm keeps it
}

function close() {
  if (dialog.open) dialog.close();
}

/** Ask the server to annul `id`; the outcome is shown on the result panel. */
export function annul(id, reason) {
  return postJson(cfg.apiAnnul, { movement_id: id, station: handlers.station(), reason }).then((answer) => {
    const data = answer.data || {};
    if (answer.status === 200) handlers.notice("undone", T.undone, data.message || "");
    else if (answer.status === 0 || answer.status >= 500) handlers.notice("refused", T.error, T.pendingHelp);
    else handlers.notice("refused", T.error, data.error || T.error);
    if (answer.status === 401) handlers.session(false);
    handlers.done();
  }).catch(() => handlers.notice("refused", T.error, T.pendingHelp));
}

export function init(options) {
  handlers = { ...handlers, ...options };
  document.addEventListener("click", (e) => {
    const btn = e.target.closest && e.target.closest("#scan-recent [data-undo]");
    if (btn) open(parseInt(btn.dataset.undo, 10), btn.closest("tr"));
  });
  dialog.addEventListener("close", () => {
    movementId = null;
    setTimeout(handlers.refocusScanner, 0);  // after the browser gives the focus back to the row button
  });
  confirmButton.addEventListener("click", () => {
    const id = movementId;
    if (!id) return;
    confirmButton.disabled = true;  // one tap, one request
    const reason = reasonField.value.trim() || T.undoDefault;
    close();
    annul(id, reason).catch(() => {});
  });
  $("undo-dialog-cancel").addEventListener("click", close);
  dialog.addEventListener("click", (e) => {
    if (e.target === dialog) close();  // a tap on the dimmed page around it
  });
  dialog.addEventListener("keydown", (e) => {
    // A scanner typing into the open dialog ends with Enter: it must neither confirm the
    // undo nor reach the scanner field. The guard taps Confirm.
    if (e.key === "Enter") { e.preventDefault(); e.stopPropagation(); }
  });
}
