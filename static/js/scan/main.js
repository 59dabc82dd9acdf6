/* The booth's scan screen: wires the modules together. One scanned text, from the
 * hardware scanner or the camera, goes through handleText():
 *   too long to be a badge       -> shown as an invalid read, nothing sent
 *   a station QR of this site    -> the guard confirms, then the device changes station
 *   anything else                -> queued and sent to /api/scan/, the verdict shown
 * A form that adds fields to a scan (seal, vehicle, route) belongs in its own module: it
 * hands them to newItem(code, station, fields) and sender.submit() sends them with the scan. */
import { $, T, cfg } from "./config.js";
import * as camera from "./camera.js";
import * as gate from "./gate.js";
import * as panel from "./panel.js";
import * as pending from "./pending.js";
import * as queue from "./queue.js";
import * as recent from "./recent.js";
import * as routeView from "./routeview.js";
import * as scanner from "./scanner.js";
import * as sender from "./sender.js";
import * as session from "./session.js";
import * as station from "./station.js";
import * as undo from "./undo.js";
import * as vehicle from "./vehicle.js";

const RETRY_MS = 3000;
const MAX_CODE_LENGTH = 512;  // a badge is 32 characters; a QR may hold 3 KB of anything

function showResult(data, item) {
  panel.showResult(data, item);
  routeView.show(data);
}

function showOutcome(outcome, item) {
  if (outcome.kind === "result") {
    showResult(outcome.data, item);
    vehicle.offer(outcome.data, item);
  }
  else if (outcome.kind === "offline") panel.showPending(item);
  else if (outcome.kind === "auth") panel.showNotice("refused", T.error, T.sessionEnded);
  else panel.showNotice("refused", T.error, outcome.message || T.error);
}

function submit(item) {
  return sender.submit(item).then((outcome) => showOutcome(outcome, item))
    .catch(() => panel.showPending(item));  // the scan is in the queue whatever failed here
}

export function handleText(text) {
  const raw = String(text == null ? "" : text).trim();
  if (!raw) return;
  if (raw.length > MAX_CODE_LENGTH) { panel.showNotice("refused", T.invalid, T.invalidHelp); return; }
  const stationCode = station.stationQrCode(raw);
  if (stationCode !== null) { station.askToBind(stationCode); return; }
  const here = station.code();
  if (!here) { panel.showNotice("refused", T.error, T.chooseStation); return; }
  if (queue.queuedAgain(raw, here, cfg.duplicateSeconds)) {
    panel.showNotice("pending", T.pending, T.alreadyQueued);
    return;
  }
  submit(queue.newItem(raw, here, gate.fieldsFor()));
}

function safeHandleText(text) {
  try {
    handleText(text);
  } catch (e) {
    panel.showNotice("refused", T.invalid, T.invalidHelp);
  }
}

const { focusScanner, refocusScanner } = scanner;

panel.init({
  focusScanner,
  force(item, result, note) {
    const forced = queue.newItem(item.code, item.station, item.fields);
    submit({ ...forced, force: true, note, direction: result.direction });
  },
  undo(movementId, reason) { undo.annul(movementId, reason).catch(() => {}); },
});
scanner.init({
  onCode: safeHandleText,
  onEscape() {
    if (!panel.isShown()) return false;
    panel.hide();
    return true;
  },
});
camera.init({
  onText: safeHandleText,
  onInvalid() { panel.showNotice("refused", T.invalid, T.invalidHelp); },
  onError() { panel.showNotice("refused", T.error, T.cameraError); },
});
undo.init({
  station: station.code,
  notice: panel.showNotice,
  done: recent.refresh,
  session: session.show,
  refocusScanner,
});
recent.init({ session: session.show });
pending.init({ retried() { sender.flush().catch(() => {}); } });
sender.init({
  apiUrl: cfg.apiScan,
  maxAgeHours: cfg.maxAgeHours,
  expiredMessage: T.expired,
  errorMessage: T.error,
  onChange: pending.render,
  onSession: session.show,
  onLateResult: showResult,
  onRecorded: recent.refresh,
});
gate.init({ focusScanner, refocusScanner });
vehicle.init({ notice: panel.showNotice, session: session.show, refocusScanner });
station.init({
  onChange(code) { recent.show(code); gate.show(code); },
  notice: panel.showNotice, focusScanner, refocusScanner,
});

pending.render();
focusScanner();
sender.keepFlushing(RETRY_MS);
