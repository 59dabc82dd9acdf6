/* The marshal's phone at a muster point: wires the modules together. A scanned badge, from
 * a Bluetooth/USB scanner (types the code and Enter) or the camera, goes through
 * handleText(): it gets a nonce and its time, is kept on this phone (static/js/scan/queue.js,
 * under its own keys) and sent to the roll call's mark API; without network it waits,
 * shown as pending, and is sent by itself later. The same nonce always gets the same answer
 * from the server, so a resend never counts anyone twice. */
import { $, T, cfg, clock } from "./config.js";
import { sendMark } from "./api.js";
import * as header from "./header.js";
import * as lists from "./lists.js";
import * as panel from "./panel.js";
import * as point from "./point.js";
import * as camera from "../scan/camera.js";
import { createQueue, newUuid, stamp } from "../scan/queue.js";
import * as scanner from "../scan/scanner.js";
import { createSender } from "../scan/sender.js";

const RETRY_MS = 3000;
const MAX_CODE_LENGTH = 512;  // a badge is 32 characters; a QR may hold anything

const queue = createQueue({ queueKey: "qrgate.muster.queue", notSentKey: "qrgate.muster.notSent", makeNonce: newUuid });

function answered(data, item) {
  if (item.rollCall === cfg.rollCall) header.counts(data);
  lists.remember(data, item);
  lists.render();
}

const sender = createSender({
  queue,
  send: sendMark,
  apiUrl: cfg.markUrl,
  errorMessage: T.error,
  onChange: lists.render,
  onSession: header.session,
  onSent(data, item) {  // a scan kept offline reached the server
    answered(data, item);
    if (panel.showsWaiting() || !data.accepted) panel.showResult(data, item, { late: true });
  },
});

function showOutcome(outcome, item) {
  if (outcome.kind === "result") {
    answered(outcome.data, item);
    panel.showResult(outcome.data, item);
  } else if (outcome.kind === "offline") {
    header.network(false);
    panel.showPending(item);
  } else if (outcome.kind === "auth") {
    panel.showNotice("refused", T.sessionHead, T.sessionEnded);
  } else {
    panel.showNotice("refused", T.notSentHead, outcome.message || T.error);
  }
  lists.render();
}

export function handleText(text) {
  const raw = String(text == null ? "" : text).trim();
  if (!raw) return;
  if (raw.length > MAX_CODE_LENGTH) { panel.showNotice("refused", T.invalid, T.invalidHelp); return; }
  const here = point.current();
  if (!here) { panel.showNotice("refused", T.noPoint, T.choosePoint); point.openPicker(); return; }
  const stamped = stamp(newUuid());
  const item = { code: raw, point: here, url: cfg.markUrl, rollCall: cfg.rollCall, ...stamped, time: clock(stamped.clientTime) };
  sender.submit(item).then((outcome) => showOutcome(outcome, item))
    .catch(() => panel.showPending(item));  // the scan is in the queue whatever failed here
}

function safeHandleText(text) {
  try {
    handleText(text);
  } catch (e) {
    panel.showNotice("refused", T.invalid, T.invalidHelp);
  }
}

/* The scanner field takes a Bluetooth scanner's typing without opening the phone's
 * keyboard (inputmode none); the keyboard button opens it to type a code by hand. */
function keyboardToggle() {
  const input = $("muster-input");
  $("muster-keyboard").addEventListener("click", () => {
    const typing = input.getAttribute("inputmode") !== "none";
    input.setAttribute("inputmode", typing ? "none" : "text");
    $("muster-keyboard").setAttribute("aria-pressed", typing ? "false" : "true");
    input.blur();
    input.focus();
  });
}

panel.init();
header.init();
lists.init({ queue, retried() { sender.flush().catch(() => {}); } });
scanner.init({ input: $("muster-input"), onCode: safeHandleText });
camera.init({
  video: $("muster-video"), select: $("muster-camera-select"), button: $("muster-camera-toggle"),
  strings: T,
  onText: safeHandleText,
  onInvalid() { panel.showNotice("refused", T.invalid, T.invalidHelp); },
  onError() { panel.showNotice("refused", T.cameraHead, T.cameraError); },
});
point.init({ focusScanner: scanner.focusScanner });
keyboardToggle();
lists.render();
scanner.focusScanner();
sender.keepFlushing(RETRY_MS);
