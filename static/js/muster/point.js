/* The marshal's muster point: one of the active muster stations or a name he types (the
 * car park, "behind the warehouse"). Remembered on this phone, so a reload or the next
 * roll call starts at the same point; a station that is no longer active is forgotten. */
import { $, T, cfg } from "./config.js";
import { load, save } from "../scan/store.js";

const POINT_KEY = "qrgate.muster.point";
const MAX_NAME = 80;
let handlers = { onChange() {}, focusScanner() {} };

function valid(point) {
  if (!point || typeof point !== "object") return null;
  if (point.station) {
    const station = (cfg.points || []).find((p) => p.code === point.station);
    return station ? { station: station.code, name: station.name } : null;
  }
  const name = String(point.name || "").trim().slice(0, MAX_NAME);
  return name ? { station: null, name } : null;
}

/** The chosen point ({station, name}) or null. */
export function current() {
  return valid(load(POINT_KEY, null));
}

function render() {
  const point = current();
  $("muster-point-name").textContent = point ? point.name : T.noPoint;
  $("muster-point").classList.toggle("is-unset", !point);
  document.body.dataset.point = point ? (point.station || "free") : "";
  $("muster-picker").hidden = Boolean(point);
  $("muster-work").hidden = !point;
  document.querySelectorAll("[data-point-station]").forEach((b) => {
    b.classList.toggle("is-current", Boolean(point && point.station === b.dataset.pointStation));
  });
}

function choose(point) {
  const chosen = valid(point);
  if (!chosen) return;
  save(POINT_KEY, chosen);
  render();
  handlers.onChange(chosen);
  handlers.focusScanner();
}

/** Show the picker (the marshal moved to another point). */
export function openPicker() {
  $("muster-picker").hidden = false;
  $("muster-work").hidden = true;
  const first = document.querySelector("[data-point-station]") || $("muster-point-input");
  if (first) first.scrollIntoView({ block: "nearest" });
}

export function init(options) {
  handlers = { ...handlers, ...options };
  $("muster-picker").addEventListener("click", (e) => {
    const b = e.target.closest("[data-point-station]");
    if (b) choose({ station: b.dataset.pointStation });
  });
  $("muster-point-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = $("muster-point-input");
    const name = input.value.trim();
    if (!name) { input.focus(); return; }
    input.value = "";
    input.blur();
    choose({ station: null, name });
  });
  $("muster-point-change").addEventListener("click", openPicker);
  $("muster-picker-cancel").addEventListener("click", () => { if (current()) render(); });
  render();
}
