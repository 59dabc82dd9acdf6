/* QRGate dashboard: the alert when a banned driver tries to pass.
 * htmx swaps #dashboard-live every time the server has something new; this module only
 * watches the newest banned attempt's id in it and sounds the alarm when it grows.
 * Browsers play sound only after a click on the page, hence the "sound on" button. */
import { close, play } from "./sounds.js";

const messagesEl = document.getElementById("dashboard-messages");
let messages = {};
try { messages = JSON.parse(messagesEl ? messagesEl.textContent : "{}"); } catch (e) { /* keep the page's labels */ }
const button = document.getElementById("sound-toggle");
let soundOn = false;
let lastAlert = null;
let alerts = 0;

function check() {
  const el = document.getElementById("dashboard-live");
  if (!el) return;
  const id = parseInt(el.getAttribute("data-alert-id") || "0", 10);
  if (lastAlert === null) { lastAlert = id; return; }  // old attempts at page load: no alarm
  if (id > lastAlert) {
    lastAlert = id;
    alerts += 1;
    document.body.setAttribute("data-alerts", String(alerts));
    document.body.classList.add("alarm");
    setTimeout(() => document.body.classList.remove("alarm"), 6000);
    if (soundOn) play("alarm");
  }
}

if (button) {
  button.addEventListener("click", () => {
    soundOn = !soundOn;
    button.setAttribute("aria-pressed", String(soundOn));
    if (soundOn) {
      button.textContent = messages.soundOn || button.textContent;
      play("alarm");  // inside the click: the browser lets the page sound from now on
    } else {
      close();
      button.textContent = messages.soundOff || button.textContent;
    }
  });
}
document.body.addEventListener("htmx:afterSettle", check);
check();
