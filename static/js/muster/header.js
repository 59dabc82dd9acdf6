/* The marshal's header: evacuation or drill, the time since the start (ticking on this
 * phone from the server's figure when the page was made), accounted / expected from the
 * server's last answer, whether the phone reaches the server, and the "log in again"
 * banner when the session has ended. */
import { $, T, cfg } from "./config.js";

const loadedAt = Date.now();

function elapsedText(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const pad = (n) => String(n).padStart(2, "0");
  return h ? h + " h " + pad(m) + " min" : m + " min " + pad(sec) + " s";
}

function tick() {
  const el = $("muster-elapsed");
  if (el) el.textContent = elapsedText((cfg.elapsedSeconds || 0) + (Date.now() - loadedAt) / 1000);
}

/** accounted / expected / missing from an answer of the mark API. */
export function counts(data) {
  if (!data || typeof data.expected !== "number") return;
  $("muster-accounted").textContent = data.accounted;
  $("muster-expected").textContent = data.expected;
  $("muster-missing").textContent = data.missing;
  $("muster-counts").classList.toggle("is-complete", data.missing === 0);
  document.body.dataset.missing = data.missing;
}

/** The phone reached the server (true) or did not (false). */
export function network(online) {
  $("muster-net").textContent = online ? T.online : T.offline;
  $("muster-net").classList.toggle("is-offline", !online);
  document.body.dataset.net = online ? "on" : "off";
}

/** false: the server answered 401, the marshal must log in again (the scans are kept). */
export function session(loggedIn) {
  $("muster-login").hidden = loggedIn;
  document.body.dataset.session = loggedIn ? "ok" : "ended";
  network(true);  // the server answered, whatever it said
}

export function init() {
  if (cfg.counts) counts(cfg.counts);
  network(navigator.onLine !== false);
  window.addEventListener("offline", () => network(false));
  tick();
  setInterval(tick, 1000);
}
