/* The vehicle of an entry: after an accepted entry at a gate that asks for it, a dialog
 * asks for the tractor plate (the visit's, i.e. the driver's usual one, pre-filled), the
 * trailer plates and the seals, and POSTs them to /api/scan/vehicle/. The dialog blocks
 * the scanner like the undo dialog; a scanner's Enter typed into it saves nothing. */
import { $, T, cfg, dialogOpen } from "./config.js";
import { postJson } from "./api.js";
import { splitList } from "./gate.js";

const dialog = $("vehicle-dialog");
const saveButton = $("vehicle-save");
let current = null;  // {movementId, station}
let handlers = { notice() {}, session() {}, refocusScanner() {} };

function stationAsks(code) {
  const s = (cfg.stations || []).find((x) => x.code === code);
  return Boolean(s && s.asksVehicle);
}

function showError(text) {
  $("vehicle-error").textContent = text || "";
  $("vehicle-error").hidden = !text;
}

/** After a scan's result: open the form for an accepted, new entry at a gate that asks. */
export function offer(data, item) {
  if (!data || !data.accepted || data.direction !== "in" || data.replayed || data.reason !== "ok") return;
  if (!data.movement_id || !data.visit || !item || !stationAsks(item.station) || dialogOpen()) return;
  current = { movementId: data.movement_id, station: item.station };
  $("vehicle-dialog-who").textContent = data.driver ? data.driver.name + " · " + data.driver.company : "";
  $("vehicle-plate").value = data.visit.plate || "";
  $("vehicle-trailers").value = (data.visit.trailers || []).join(", ");
  $("vehicle-seals").value = (data.visit.seals || []).join(", ");
  showError("");
  saveButton.disabled = false;
  dialog.showModal();
  $("vehicle-trailers").focus();
}

function close() {
  current = null;
  if (dialog.open) dialog.close();
}

function save() {
  if (!current) return;
  const target = current;
  saveButton.disabled = true;
  const vehicle = {
    plate: $("vehicle-plate").value.trim(),
    trailers: splitList($("vehicle-trailers").value),
    seals: splitList($("vehicle-seals").value),
  };
  postJson(cfg.apiVehicle, { movement_id: target.movementId, station: target.station, vehicle })
    .then((answer) => {
      const data = answer.data || {};
      if (answer.status === 200) {
        close();
        handlers.notice("info", T.vehicleTitle, T.vehicleSaved + " " + [vehicle.plate, ...vehicle.trailers].join(" + "));
        return;
      }
      if (answer.status === 401) handlers.session(false);
      saveButton.disabled = false;
      showError(data.error || T.error);
    })
    .catch(() => { saveButton.disabled = false; showError(T.pendingHelp); });
}

export function init(options) {
  handlers = { ...handlers, ...options };
  saveButton.addEventListener("click", save);
  $("vehicle-skip").addEventListener("click", close);
  dialog.addEventListener("close", () => {
    current = null;
    setTimeout(handlers.refocusScanner, 0);
  });
  dialog.addEventListener("keydown", (e) => {
    // A badge scanned into the open form ends with Enter: it must not save the vehicle.
    if (e.key === "Enter") { e.preventDefault(); e.stopPropagation(); }
  });
}
