/* The marshal page's settings and translated strings, from its json_script blocks (the
 * page runs under a strict Content-Security-Policy: no inline script). */

function read(id) {
  try {
    return JSON.parse(document.getElementById(id).textContent) || {};
  } catch (e) {
    return {};
  }
}

export const cfg = read("muster-config");
export const T = read("muster-strings");

export function $(id) {
  return document.getElementById(id);
}

/** "06:12" from an ISO time the server wrote in the plant's time zone (its offset included). */
export function hhmm(iso) {
  return typeof iso === "string" && iso.length >= 16 ? iso.slice(11, 16) : "";
}

/** "06:12:05" of a time on this phone's clock (milliseconds). */
export function clock(ms) {
  const t = new Date(ms);
  return [t.getHours(), t.getMinutes(), t.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
}
