/* QRGate dashboard: the alert when a banned driver tries to pass.
 * htmx swaps #dashboard-live every time the server has something new; this script only
 * watches the newest banned attempt's id in it and sounds the alarm when it grows.
 * Browsers play sound only after a click on the page, hence the "sound on" button. */
(function () {
  "use strict";
  var messages = JSON.parse((document.getElementById("dashboard-messages") || {}).textContent || "{}");
  var button = document.getElementById("sound-toggle");
  var audio = null;
  var lastAlert = null;
  var alerts = 0;

  function live() { return document.getElementById("dashboard-live"); }

  function beep() {
    if (!audio) return;
    if (audio.state === "suspended") audio.resume();
    var t = audio.currentTime;
    [0, 0.35, 0.7].forEach(function (offset, i) {
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.type = "square";
      osc.frequency.value = i % 2 ? 660 : 880;
      gain.gain.setValueAtTime(0.25, t + offset);
      gain.gain.exponentialRampToValueAtTime(0.001, t + offset + 0.3);
      osc.connect(gain).connect(audio.destination);
      osc.start(t + offset);
      osc.stop(t + offset + 0.3);
    });
  }

  function check() {
    var el = live();
    if (!el) return;
    var id = parseInt(el.getAttribute("data-alert-id") || "0", 10);
    if (lastAlert === null) { lastAlert = id; return; }  // old attempts at page load: no alarm
    if (id > lastAlert) {
      lastAlert = id;
      alerts += 1;
      document.body.setAttribute("data-alerts", String(alerts));
      document.body.classList.add("alarm");
      setTimeout(function () { document.body.classList.remove("alarm"); }, 6000);
      beep();
    }
  }

  if (button) {
    button.addEventListener("click", function () {
      if (!audio) {
        var Ctx = window.AudioContext || window.webkitAudioContext;
        if (!Ctx) return;
        audio = new Ctx();
        button.setAttribute("aria-pressed", "true");
        button.textContent = messages.soundOn || button.textContent;
        beep();
      } else {
        audio.close();
        audio = null;
        button.setAttribute("aria-pressed", "false");
        button.textContent = messages.soundOff || button.textContent;
      }
    });
  }
  document.body.addEventListener("htmx:afterSettle", check);
  check();
})();
