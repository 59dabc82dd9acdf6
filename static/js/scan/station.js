/* Which station this device records at: chosen from the picker, from ?station= in the page
 * address, or by scanning a station's printed QR code. The choice is kept on the device.
 *
 * A scanned QR rebinds the booth only when it is this site's own station address (the
 * page's origin, or the origin the app prints on station sheets) with nothing but
 * ?station=CODE, and only after the guard confirms it on screen. Any other text, a look-alike
 * address of another site included, is not a station QR: it is scanned as a badge (and
 * refused and logged by the server). */
import { $, T, cfg } from "./config.js";
import { load, save } from "./store.js";

const STATION_KEY = "qrgate.scan.station";
const dialog = $("station-dialog");
let current = null;
let proposed = null;
let handlers = { onChange() {}, notice() {}, focusScanner() {}, refocusScanner() {} };

export function code() {
  return current;
}

function info(stationCode) {
  return (cfg.stations || []).find((s) => s.code === stationCode) || null;
}

function label(s) {
  return s ? s.name + " (" + s.code + ")" : "—";
}

function set(stationCode, remember) {
  const s = info(stationCode);
  if (!s) return false;
  current = s.code;
  if (remember) save(STATION_KEY, current);
  $("scan-station-name").textContent = label(s);
  document.body.dataset.station = current;
  $("scan-station-select").value = "";
  $("scan-picker").hidden = true;
  $("scan-ready").hidden = false;
  handlers.onChange(current);
  return true;
}

function origins() {
  const list = [window.location.origin];
  (cfg.stationQrOrigins || []).forEach((o) => {
    try { list.push(new URL(o).origin); } catch (e) { /* a bad setting is no origin */ }
  });
  return list;
}

/** The station code of a station QR of this site, or null for any other text. Never throws. */
export function stationQrCode(text) {
  try {
    const url = new URL(text);
    if (url.origin === "null" || !origins().includes(url.origin)) return null;
    if (url.pathname !== cfg.scanPath || url.hash || url.username || url.password) return null;
    const keys = Array.from(url.searchParams.keys());
    if (keys.length !== 1 || keys[0] !== "station") return null;
    const stationCode = url.searchParams.get("station").trim().toUpperCase();
    return stationCode || null;
  } catch (e) {
    return null;  // not an address at all: a badge, or junk the server will refuse
  }
}

function closeDialog() {
  proposed = null;
  if (dialog.open) dialog.close();
}

/** A station QR was scanned: ask the guard before this device changes station. */
export function askToBind(stationCode) {
  const s = info(stationCode);
  if (!s) { handlers.notice("refused", T.error, T.unknownStation); return; }
  if (s.code === current) { handlers.notice("info", T.stationSame, label(s)); return; }
  if (dialog.open) return;
  proposed = s.code;
  $("station-dialog-from").textContent = label(info(current));
  $("station-dialog-to").textContent = label(s);
  dialog.showModal();
  $("station-dialog-confirm").focus();
}

export function init(options) {
  handlers = { ...handlers, ...options };
  $("scan-station-select").addEventListener("change", (e) => {
    if (e.target.value) set(e.target.value, true);
    handlers.focusScanner();
  });
  document.querySelectorAll("button[data-station]").forEach((btn) => {
    btn.addEventListener("click", () => set(btn.dataset.station, true));
  });
  $("station-dialog-confirm").addEventListener("click", () => {
    const chosen = proposed;
    closeDialog();
    if (chosen && set(chosen, true)) handlers.notice("info", T.stationBound, label(info(chosen)));
  });
  $("station-dialog-cancel").addEventListener("click", closeDialog);
  dialog.addEventListener("close", () => {
    proposed = null;
    setTimeout(handlers.refocusScanner, 0);  // after the browser gives the focus back
  });
  dialog.addEventListener("keydown", (e) => {
    // A scanner typing into the open dialog ends with Enter: it must not confirm the change.
    if (e.key === "Enter") { e.preventDefault(); e.stopPropagation(); }
  });

  const saved = load(STATION_KEY, null);
  if (cfg.stationFromUrl && set(cfg.station, true)) return;
  if (saved && set(saved, false)) return;
  if (cfg.station && set(cfg.station, false)) return;
  if ((cfg.stations || []).length === 1 && set(cfg.stations[0].code, true)) return;
  $("scan-picker").hidden = false;
  $("scan-ready").hidden = true;
}
