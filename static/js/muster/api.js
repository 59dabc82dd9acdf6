/* The roll call's mark API (POST /api/muster/<id>/mark/). Each scan is posted to the mark
 * URL of the roll call it was made in (kept in the item), so a scan queued offline still
 * lands in its own roll call even if the page has moved on. Outcomes as the scan API's
 * (static/js/scan/api.js): result, auth (401), refused (other 4xx), offline. */
import { outcomeOf, postJson } from "../scan/api.js";
import { rememberServerDate } from "../scan/queue.js";

export function markBody(item) {
  const point = item.point || {};
  return {
    code: item.code,
    station: point.station || null,
    point_name: point.station ? null : (point.name || null),
    nonce: item.nonce,
    // A first try is "now" on the server's clock; a retry carries the time of the scan.
    scanned_at: item.tries > 0 ? item.scannedAt : null,
  };
}

/** For createSender(): send one queued mark. */
export function sendMark(item, opts) {
  return postJson(item.url || opts.apiUrl, markBody(item)).then((answer) => {
    if (answer.status === 200) rememberServerDate(answer.date);
    return outcomeOf(answer, opts.errorMessage);
  });
}
