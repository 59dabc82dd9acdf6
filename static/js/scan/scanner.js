/* The hardware scanner: a USB scanner is a keyboard that types the badge code and Enter.
 * Its field keeps the focus all day (a click anywhere, a closed dialog or panel gives it
 * back), except to another text field or select the operator is using. */
import { $, dialogOpen } from "./config.js";

let input = null;  // the scan screen's field unless init() is given another
let handlers = { onCode() {}, onEscape() { return false; } };

function holdsFocus(el) {
  // Another text field or a select keeps the focus (force reason, station choice); buttons
  // do not, or the scanner's Enter would press the last clicked button.
  return el && el !== input && el.matches && el.matches("input, select, textarea");
}

export function focusScanner() {
  if (!input) return;  // before init()
  if (dialogOpen()) return;  // a dialog has its own field; the scanner waits
  if (!holdsFocus(document.activeElement)) input.focus({ preventScroll: true });
}

/** After a modal dialog closed: Chromium then reports the scanner field as focused (the
 * dialog gives the focus back to it) but drops the keys typed into it until it is focused
 * anew, so a scanner would type into nothing after a tap on Cancel. */
export function refocusScanner() {
  if (!input || dialogOpen() || holdsFocus(document.activeElement)) return;
  input.blur();
  input.focus({ preventScroll: true });
}

/** `onCode(text)` gets each scanned code; `onEscape()` returns true when it used the key;
 * `input` is the field (the scan screen's #scan-input by default). */
export function init(options) {
  const { input: field, ...rest } = options;
  input = field || $("scan-input");
  handlers = { ...handlers, ...rest };
  document.addEventListener("click", () => setTimeout(focusScanner, 0));
  input.addEventListener("blur", () => setTimeout(focusScanner, 0));
  window.addEventListener("focus", focusScanner);
  setInterval(focusScanner, 1000);
  document.addEventListener("keydown", (e) => {
    if (dialogOpen()) return;  // Escape and typing belong to the dialog
    if (e.key === "Escape" && handlers.onEscape()) return;
    if (document.activeElement !== input && !holdsFocus(document.activeElement) && e.key.length === 1) {
      input.focus({ preventScroll: true });
    }
  }, true);
  input.addEventListener("keydown", (e) => {
    // Scanners end a code with Enter (some with Tab).
    if (e.key === "Enter" || (e.key === "Tab" && input.value)) {
      e.preventDefault();
      if (dialogOpen()) return;  // never a scan behind a dialog
      const text = input.value;
      input.value = "";
      handlers.onCode(text);
    }
  });
}
