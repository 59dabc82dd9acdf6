/* The last scans of this station: an htmx fragment (templates/drivers/_scan_recent.html)
 * that polls itself and is answered "204, nothing new" while nothing changed. This module
 * points it at the device's station, asks for it again after each recorded scan, and tells
 * the page when the poll finds the session ended. */
import { cfg } from "./config.js";

const SCANNED_EVENT = "qrgate:scanned";  // the fragment's hx-trigger listens for it
let onSession = () => {};

function load(stationCode) {
  if (!window.htmx || !document.getElementById("scan-recent")) return;
  const url = cfg.recentUrl + "?station=" + encodeURIComponent(stationCode);
  // htmx.ajax reports a failed request through its events; its promise must not go unhandled.
  Promise.resolve(window.htmx.ajax("GET", url, { target: "#scan-recent", swap: "outerHTML" }))
    .catch(() => { /* offline: the list stays as it is, the poll tries again */ });
}

/** Show the list of `stationCode` (the device's station changed). */
export function show(stationCode) {
  const el = document.getElementById("scan-recent");
  if (stationCode && el && el.dataset.station !== stationCode) load(stationCode);
}

/** A scan was recorded: the list asks the server at once instead of at its next poll. */
export function refresh() {
  document.body.dispatchEvent(new CustomEvent(SCANNED_EVENT));
}

/** `session(ok)` hears whether the list's poll is still logged in. */
export function init({ session }) {
  onSession = session || onSession;
  document.body.addEventListener("htmx:afterRequest", (e) => {
    const xhr = e.detail && e.detail.xhr;
    if (!xhr || !String(e.detail.pathInfo && e.detail.pathInfo.requestPath).startsWith(cfg.recentUrl)) return;
    if (xhr.status === 401) onSession(false);
    else if (xhr.status === 200 || xhr.status === 204) onSession(true);
  });
}
