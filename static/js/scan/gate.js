/* The gate's checks before a scan: at an entry gate the route of the truck (the station's
 * default route unless the guard picks another), at a gate that checks seals the seal
 * numbers seen on the truck. The guard types the seals and presses Enter: they are kept
 * for the next scan (shown above the scanner field) and the scanner field gets the focus
 * back, so the badge is scanned after them. fieldsFor() hands both to the next scan; after
 * it, the route goes back to the default and the seals are cleared. */
import { $, T, cfg } from "./config.js";

const box = $("scan-gate");
const routeBox = $("scan-gate-route");
const routeSelect = $("scan-route-select");
const sealsBox = $("scan-gate-seals");
const sealsInput = $("scan-seals-input");
const armedBox = $("scan-seals-armed");
let here = null;      // the station's settings, from cfg.stations
let armed = [];       // the seals kept for the next scan
let handlers = { focusScanner() {}, refocusScanner() {} };

function stationInfo(code) {
  return (cfg.stations || []).find((s) => s.code === code) || null;
}

/** "A-1, b 2; C3" -> ["A-1", "B 2", "C3"]: the server normalizes again and compares. */
export function splitList(text) {
  return String(text || "").split(/[,;\n]+/).map((s) => s.trim().toUpperCase()).filter(Boolean);
}

function renderArmed() {
  armedBox.hidden = armed.length === 0;
  $("scan-seals-armed-text").textContent = T.sealsArmed + " " + armed.join(", ");
  document.body.dataset.sealsArmed = armed.length ? "yes" : "";
}

function fillRoutes(defaultCode) {
  routeSelect.textContent = "";
  const first = document.createElement("option");
  first.value = "";
  const fallback = (cfg.routes || []).find((r) => r.code === defaultCode);
  first.textContent = fallback ? T.routeDefault + ": " + fallback.name : "—";
  routeSelect.appendChild(first);
  (cfg.routes || []).forEach((r) => {
    if (r.code === defaultCode) return;
    const option = document.createElement("option");
    option.value = r.code;
    option.textContent = r.name + " (" + r.code + ")";
    routeSelect.appendChild(option);
  });
}

/** Show the fields this station asks for. */
export function show(code) {
  here = stationInfo(code);
  const entry = Boolean(here && (here.kind === "entry" || here.kind === "gate"));
  const routes = entry && (cfg.routes || []).length > 0;
  const seals = Boolean(here && here.checksSeals);
  routeBox.hidden = !routes;
  sealsBox.hidden = !seals;
  box.hidden = !routes && !seals;
  if (routes) fillRoutes(here.defaultRoute);
  armed = [];
  sealsInput.value = "";
  renderArmed();
}

/** The extra API fields of the next scan at this station (or undefined), then reset. */
export function fieldsFor() {
  if (!here) return undefined;
  const fields = {};
  if (!routeBox.hidden && routeSelect.value) fields.route = routeSelect.value;
  if (here.checksSeals) {
    const typed = splitList(sealsInput.value);
    fields.seals = armed.length ? armed : typed;
  }
  routeSelect.value = "";
  armed = [];
  sealsInput.value = "";
  renderArmed();
  return Object.keys(fields).length ? fields : undefined;
}

export function init(options) {
  handlers = { ...handlers, ...options };
  sealsInput.addEventListener("keydown", (e) => {
    if (e.key !== "Enter") return;
    e.preventDefault();
    armed = splitList(sealsInput.value);
    sealsInput.value = "";
    renderArmed();
    sealsInput.blur();
    handlers.refocusScanner();  // the badge comes next
  });
  $("scan-seals-clear").addEventListener("click", () => {
    armed = [];
    renderArmed();
    sealsInput.focus();
  });
  routeSelect.addEventListener("change", () => {
    routeSelect.blur();
    handlers.refocusScanner();
  });
}
