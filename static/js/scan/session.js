/* "Log in again": when the server answers 401 (the session ended, e.g. overnight), a big
 * banner covers the top of the scan screen with a link to the login page that comes back
 * here. Queued scans are kept and sent by themselves once the guard is logged in again. */
import { $ } from "./config.js";

export function show(loggedIn) {
  const banner = $("scan-login");
  if (!banner) return;
  banner.hidden = loggedIn;
  document.body.dataset.session = loggedIn ? "ok" : "ended";
}
