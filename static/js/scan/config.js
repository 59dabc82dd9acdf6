/* The scan page's settings and translated strings, from its json_script blocks (no inline
 * script: the page runs under a strict Content-Security-Policy). */

function read(id) {
  try {
    return JSON.parse(document.getElementById(id).textContent) || {};
  } catch (e) {
    return {};
  }
}

export const cfg = read("scan-config");
export const T = read("scan-strings");

export function $(id) {
  return document.getElementById(id);
}

/** True while a modal dialog (undo, station change) owns the keyboard: no scan behind it. */
export function dialogOpen() {
  return Boolean(document.querySelector("dialog[open]"));
}
