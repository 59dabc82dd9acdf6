/* The result of the last scan, big and in its colour under the marshal's header:
 *   green  "A SALVO"      the person is accounted for now
 *   amber  "YA CONTADO"   someone had already counted him: where, when and by whom first
 *   blue   "NO ESPERADO"  safe, but not on the list taken at the start (shown apart)
 *   red    invalid, unknown or revoked badge, or the roll call is closed: nothing counted
 *   grey   kept on this phone: no network, sent by itself later
 * It stays until the next scan (dimmed after a while), so the marshal can read it again. */
import { $, T, hhmm } from "./config.js";
import { play } from "../sounds.js";

const STALE_MS = 15000;
const LEVELS = { ok: "safe", duplicate: "duplicate", not_expected: "unexpected" };
const HEADS = {
  ok: "safe", duplicate: "duplicate", not_expected: "notExpected", invalid: "invalid",
  unknown: "unknown", revoked: "revoked", closed: "closed",
};
let staleTimer = null;

export function levelOf(data) {
  return LEVELS[data && data.reason] || "refused";
}

function beep(level) {
  const sound = level === "safe" ? "accepted" : level === "refused" ? "refused" : "warning";
  document.body.dataset.lastSound = sound;
  play(sound);
}

function show(level, head) {
  const panel = $("muster-result");
  clearTimeout(staleTimer);
  panel.className = "muster-result level-" + level;
  panel.hidden = false;
  $("muster-result-head").textContent = head;
  ["muster-result-name", "muster-result-company", "muster-result-message", "muster-result-extra"]
    .forEach((id) => { $(id).textContent = ""; });
  $("muster-result-photo-box").hidden = true;
  $("muster-idle").hidden = true;
  document.body.dataset.result = level;
  document.body.dataset.late = "";
  staleTimer = setTimeout(() => panel.classList.add("is-stale"), STALE_MS);
}

function showDriver(driver) {
  if (!driver) return;
  $("muster-result-name").textContent = driver.name || "";
  $("muster-result-company").textContent = driver.company || "";
  $("muster-result-photo-box").hidden = false;
  const photo = $("muster-result-photo");
  const initial = $("muster-result-initial");
  initial.textContent = (driver.name || "?").charAt(0);
  if (driver.photo_url) {
    photo.src = driver.photo_url;
    photo.hidden = false;
    initial.hidden = true;
  } else {
    photo.hidden = true;
    initial.hidden = false;
  }
}

/** "Contado primero a las 06:12 en Estacionamiento norte, por Ana López." */
export function firstText(first) {
  if (!first) return "";
  return T.firstAt.replace("%(time)s", hhmm(first.at)).replace("%(point)s", first.point || "—")
    .replace("%(by)s", first.by || "—");
}

/** The server's answer to one scan. `late` when it was kept offline and sent since. */
export function showResult(data, item, { late = false } = {}) {
  const level = levelOf(data);
  show(level, T[HEADS[data.reason]] || T.invalid);
  showDriver(data.driver);
  // "Safe: <name>" only repeats the head and the name; a repeat says who counted him first.
  let message = data.reason === "ok" ? "" : data.message || "";
  if (data.reason === "duplicate" && data.first) message = firstText(data.first);
  $("muster-result-message").textContent = message;
  const extra = [];
  if (late && item) extra.push(T.sentLate.replace("%(time)s", item.time || ""));
  $("muster-result-extra").textContent = extra.filter(Boolean).join(" ");
  document.body.dataset.late = late ? "1" : "";
  beep(level);
}

/** No answer: the scan waits on this phone and goes by itself when the network is back. */
export function showPending(item) {
  show("pending", T.pending);
  $("muster-result-message").textContent = T.pendingHelp;
  const code = item && item.code.length > 16 ? item.code.slice(0, 16) + "…" : (item ? item.code : "");
  $("muster-result-extra").textContent = item ? (item.time || "") + " · " + code : "";
  beep("pending");
}

export function showNotice(level, head, message) {
  show(level, head);
  $("muster-result-message").textContent = message;
  beep(level);
}

/** True while the panel says "kept on this phone" or shows a scan sent late: the answers
 * to the scans sent since replace it, the last one stays. */
export function showsWaiting() {
  return document.body.dataset.result === "pending" || document.body.dataset.late === "1";
}

export function init() {
  $("muster-result-photo").addEventListener("error", () => {
    $("muster-result-photo").hidden = true;  // a photo that cannot load: the initial instead
    $("muster-result-initial").hidden = false;
  });
}
