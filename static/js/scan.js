/* The booth's scan screen: hardware scanner, camera, offline queue, result panel.
 *
 * Every scan is first written to a queue in localStorage (with its nonce) and then sent
 * to /api/scan/; it leaves the queue only when the server has answered. A scan whose
 * request failed stays there, is shown as pending and is sent again until the server
 * answers. The nonce makes a resend that did reach the server a harmless replay, so a
 * scan is never lost and never recorded twice.
 */
(function () {
  "use strict";

  var cfg = JSON.parse(document.getElementById("scan-config").textContent);
  var T = JSON.parse(document.getElementById("scan-strings").textContent);
  var QUEUE_KEY = "qrgate.scan.queue";
  var STATION_KEY = "qrgate.scan.station";
  var CAMERA_KEY = "qrgate.scan.camera";
  var OFFSET_KEY = "qrgate.scan.clockOffset";
  var REQUEST_TIMEOUT_MS = 8000;
  var RETRY_MS = 3000;

  function $(id) { return document.getElementById(id); }
  var input = $("scan-input");
  var overlay = $("scan-result");
  var station = null;
  var lastItem = null;       // the scan whose result is on screen (for force)
  var lastResult = null;
  var hideTimer = null;
  var inFlight = {};
  var flushing = false;
  var undoDialog = $("undo-dialog");
  var undoReason = $("undo-dialog-reason");
  var undoMovementId = null;  // the movement the open undo dialog is about

  function dialogOpen() { return undoDialog.open || undoDialog.hasAttribute("open"); }

  /* ---------- helpers ---------- */

  function newNonce() {
    // crypto.randomUUID needs a secure context; a booth on plain http has only getRandomValues.
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function csrfToken() {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function storeGet(key, fallback) {
    try { var v = localStorage.getItem(key); return v === null ? fallback : JSON.parse(v); }
    catch (e) { return fallback; }
  }
  function storeSet(key, value) {
    try { localStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* private mode: memory only */ }
  }

  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  function hhmm(iso) { return iso ? iso.slice(11, 16) : ""; }  // already in the plant's time zone

  /* ---------- station ---------- */

  function stationInfo(code) {
    for (var i = 0; i < cfg.stations.length; i++) if (cfg.stations[i].code === code) return cfg.stations[i];
    return null;
  }

  function setStation(code, remember) {
    var info = stationInfo(code);
    if (!info) return false;
    station = info.code;
    if (remember) storeSet(STATION_KEY, station);
    $("scan-station-name").textContent = info.name + " (" + info.code + ")";
    document.body.dataset.station = station;
    $("scan-station-select").value = "";
    $("scan-picker").hidden = true;
    $("scan-ready").hidden = false;
    refreshRecent();
    return true;
  }

  function initStation() {
    var saved = storeGet(STATION_KEY, null);
    if (cfg.stationFromUrl && setStation(cfg.station, true)) return;
    if (saved && setStation(saved, false)) return;
    if (cfg.station && setStation(cfg.station, false)) return;
    if (cfg.stations.length === 1 && setStation(cfg.stations[0].code, true)) return;
    $("scan-picker").hidden = false;
    $("scan-ready").hidden = true;
  }

  $("scan-station-select").addEventListener("change", function (e) {
    if (e.target.value) setStation(e.target.value, true);
    focusInput();
  });
  Array.prototype.forEach.call(document.querySelectorAll("[data-station]"), function (btn) {
    if (btn.tagName !== "BUTTON") return;
    btn.addEventListener("click", function () { setStation(btn.dataset.station, true); });
  });

  /* ---------- keeping the scanner field focused ---------- */

  function holdsFocus(el) {
    // Another text field or a select keeps the focus (force reason, station choice); buttons
    // do not, or the scanner's Enter would press the last clicked button.
    return el && el !== input && el.matches && el.matches("input, select, textarea");
  }
  function focusInput() {
    if (dialogOpen()) return;  // the undo dialog has its own field; the scanner waits
    if (!holdsFocus(document.activeElement)) input.focus({ preventScroll: true });
  }
  document.addEventListener("click", function () { setTimeout(focusInput, 0); });
  input.addEventListener("blur", function () { setTimeout(focusInput, 0); });
  window.addEventListener("focus", focusInput);
  setInterval(focusInput, 1000);
  document.addEventListener("keydown", function (e) {
    if (dialogOpen()) return;  // Escape and typing belong to the undo dialog
    if (e.key === "Escape" && !overlay.hidden) { hideResult(); return; }
    if (document.activeElement !== input && !holdsFocus(document.activeElement) && e.key.length === 1) {
      input.focus({ preventScroll: true });
    }
  }, true);

  input.addEventListener("keydown", function (e) {
    // Scanners end a code with Enter (some with Tab).
    if (e.key === "Enter" || (e.key === "Tab" && input.value)) {
      e.preventDefault();
      if (dialogOpen()) return;  // never a scan behind the undo dialog
      var text = input.value;
      input.value = "";
      handleText(text);
    }
  });

  /* ---------- one scanned text ---------- */

  function handleText(text) {
    var raw = (text || "").trim();
    if (!raw) return;
    // A station's printed QR (…/scan/?station=CODE) binds this device to that station.
    var m = raw.match(/\/scan\/?\?(?:[^#]*&)?station=([^&#\s]+)/i);
    if (m) {
      var code = decodeURIComponent(m[1]).toUpperCase();
      if (setStation(code, true)) {
        showNotice("info", T.stationBound, $("scan-station-name").textContent);
      } else {
        showNotice("refused", T.error, T.unknownStation);
      }
      return;
    }
    if (!station) { showNotice("refused", T.error, T.chooseStation); return; }
    var now = Date.now();
    var queued = storeGet(QUEUE_KEY, []);
    for (var i = 0; i < queued.length; i++) {
      var q = queued[i];
      // A double read while offline: the server could not tell it from a real second scan.
      if (!q.force && q.station === station && q.code.toUpperCase() === raw.toUpperCase() &&
          now - q.clientTime < cfg.duplicateSeconds * 1000) {
        showNotice("pending", T.pending, T.alreadyQueued);
        return;
      }
    }
    submit({ code: raw, station: station, nonce: newNonce(), clientTime: now, tries: 0 });
  }

  /* ---------- the queue and the API ---------- */

  function queueAdd(item) {
    var q = storeGet(QUEUE_KEY, []);
    q.push(item);
    storeSet(QUEUE_KEY, q);
  }
  function queueRemove(nonce) {
    storeSet(QUEUE_KEY, storeGet(QUEUE_KEY, []).filter(function (i) { return i.nonce !== nonce; }));
  }
  function queueBump(nonce) {
    var q = storeGet(QUEUE_KEY, []);
    q.forEach(function (i) { if (i.nonce === nonce) i.tries = (i.tries || 0) + 1; });
    storeSet(QUEUE_KEY, q);
  }

  function scannedAt(item) {
    // The booth's clock may be wrong: shift it by the offset measured on the server's answers.
    var offset = storeGet(OFFSET_KEY, 0) || 0;
    return new Date(item.clientTime + offset).toISOString();
  }

  function send(item) {
    var body = { code: item.code, station: item.station, nonce: item.nonce };
    if (item.force) { body.force = true; body.note = item.note; if (item.direction) body.direction = item.direction; }
    // A first try is "now" on the server's clock; a retry carries the time of the scan.
    if (item.tries > 0) body.scanned_at = scannedAt(item);
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS);
    inFlight[item.nonce] = true;
    return fetch(cfg.apiScan, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body),
      signal: controller.signal,
    }).then(function (resp) {
      var date = resp.headers.get("Date");
      if (date && resp.ok) storeSet(OFFSET_KEY, Date.parse(date) - Date.now());
      if (resp.status >= 500) return { kind: "offline" };
      return resp.json().then(function (data) {
        if (resp.status === 200) return { kind: "result", data: data };
        if (resp.status === 401) return { kind: "auth", message: data.error || T.sessionEnded };
        if (resp.status === 400) return { kind: "error", message: data.error };
        return { kind: "denied", message: data.error || T.error };
      }, function () { return { kind: "offline" }; });
    }, function () {
      return { kind: "offline" };
    }).then(function (outcome) {
      clearTimeout(timer);
      delete inFlight[item.nonce];
      if (outcome.kind === "result" || outcome.kind === "error") queueRemove(item.nonce);
      else queueBump(item.nonce);
      return outcome;
    });
  }

  function submit(item) {
    queueAdd(item);  // first, so a crash or a reload during the request loses nothing
    renderPending();
    return send(item).then(function (outcome) {
      renderPending();
      if (outcome.kind === "result") {
        showResult(outcome.data, item);
        refreshRecent();
      } else if (outcome.kind === "offline") {
        showPending(item);
      } else if (outcome.kind === "auth") {
        showNotice("refused", T.error, T.sessionEnded);
      } else {
        showNotice("refused", T.error, outcome.message || T.error);
      }
    });
  }

  function flush() {
    if (flushing) return Promise.resolve();
    var queue = storeGet(QUEUE_KEY, []).filter(function (i) { return !inFlight[i.nonce]; });
    if (!queue.length) return Promise.resolve();
    flushing = true;
    var sent = 0;
    var chain = Promise.resolve(true);
    queue.forEach(function (item) {
      chain = chain.then(function (goOn) {
        if (!goOn) return false;
        return send(item).then(function (outcome) {
          if (outcome.kind === "result") {
            sent++;
            // A refusal sent late matters (a banned driver may have passed): show it.
            if (!outcome.data.accepted) showResult(outcome.data, item);
            return true;
          }
          if (outcome.kind === "error") { sent++; return true; }
          if (outcome.kind === "auth") showNotice("refused", T.error, T.sessionEnded);
          return false;
        });
      });
    });
    return chain.then(function () {
      flushing = false;
      renderPending();
      if (sent) refreshRecent();
    });
  }
  setInterval(flush, RETRY_MS);
  window.addEventListener("online", flush);

  function renderPending() {
    var q = storeGet(QUEUE_KEY, []);
    var box = $("scan-pending");
    box.hidden = q.length === 0;
    $("scan-pending-count").textContent = q.length;
    var list = $("scan-pending-list");
    list.textContent = "";
    q.forEach(function (item) {
      var li = document.createElement("li");
      li.className = "pending-item";
      var t = new Date(item.clientTime);
      li.textContent = ("0" + t.getHours()).slice(-2) + ":" + ("0" + t.getMinutes()).slice(-2) + ":" +
        ("0" + t.getSeconds()).slice(-2) + " · " + item.station + " · " + item.code.slice(0, 8) + "…";
      list.appendChild(li);
    });
    document.body.dataset.pending = q.length;
  }

  /* ---------- the recent scans of this station ---------- */

  function refreshRecent() {
    if (!station) return;
    fetch(cfg.recentUrl + "?station=" + encodeURIComponent(station), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) $("scan-recent").innerHTML = html; })
      .catch(function () { /* offline: keep the list as it is */ });
  }
  setInterval(refreshRecent, 15000);

  $("scan-recent").addEventListener("click", function (e) {
    var btn = e.target.closest("[data-undo]");
    if (!btn) return;
    openUndoDialog(parseInt(btn.dataset.undo, 10), btn.closest("tr"));
  });

  /* ---------- the undo dialog (a row of the recent list) ---------- */

  function rowSummary(row) {
    // "06:02:11 · Entry · José Ramírez": which scan is about to be undone.
    if (!row) return "";
    var cells = row.querySelectorAll("td");
    var name = row.querySelector("td strong");
    return [cells[0], cells[1], name].filter(Boolean).map(function (el) {
      return el.textContent.trim();
    }).filter(Boolean).join(" · ");
  }

  function openUndoDialog(movementId, row) {
    if (!movementId || dialogOpen()) return;
    undoMovementId = movementId;
    $("undo-dialog-what").textContent = rowSummary(row);
    $("undo-dialog-label").textContent = T.undoReason;
    $("undo-dialog-confirm").textContent = T.undoConfirm;
    $("undo-dialog-confirm").disabled = false;
    undoReason.value = T.undoDefault;
    if (typeof undoDialog.showModal === "function") undoDialog.showModal();
    else undoDialog.setAttribute("open", "");
    undoReason.focus();
    undoReason.select();  // typing replaces the default reason; a tap on Confirm keeps it
  }

  function closeUndoDialog() {
    if (typeof undoDialog.close === "function" && undoDialog.open) undoDialog.close();
    else { undoDialog.removeAttribute("open"); afterUndoDialog(); }
  }

  function afterUndoDialog() {
    undoMovementId = null;
    focusInput();
    setTimeout(focusInput, 0);  // after the browser gives the focus back to the clicked row button
  }
  undoDialog.addEventListener("close", afterUndoDialog);

  $("undo-dialog-confirm").addEventListener("click", function () {
    var movementId = undoMovementId;
    if (!movementId) return;
    $("undo-dialog-confirm").disabled = true;  // one tap, one request
    var reason = undoReason.value.trim() || T.undoDefault;
    closeUndoDialog();
    annul(movementId, reason);
  });
  $("undo-dialog-cancel").addEventListener("click", closeUndoDialog);
  undoDialog.addEventListener("click", function (e) {
    if (e.target === undoDialog) closeUndoDialog();  // a tap on the dimmed page around it
  });
  undoDialog.addEventListener("keydown", function (e) {
    // A scanner typing into the open dialog ends with Enter: it must neither confirm the
    // undo nor reach the scanner field. The guard taps Confirm.
    if (e.key === "Enter") { e.preventDefault(); e.stopPropagation(); }
    if (e.key === "Escape" && !undoDialog.open) closeUndoDialog();  // no native <dialog>
  });

  /* ---------- the result panel ---------- */

  var HEADS = { entry: "entry", exit: "exit", pass: "pass", refused: "refused" };

  function showPanel(level, head) {
    clearTimeout(hideTimer);
    overlay.className = "scan-result level-" + level;
    $("result-head").textContent = head;
    $("result-head").classList.toggle("is-long", head.length > 10);
    $("result-photo-box").hidden = true;
    $("result-photo").hidden = true;
    $("result-initial").hidden = true;
    ["result-name", "result-company", "result-message", "result-extra"].forEach(function (id) { $(id).textContent = ""; });
    $("result-force").hidden = true;
    $("result-undo").hidden = true;
    $("result-form").hidden = true;
    overlay.hidden = false;
    document.body.dataset.result = level;
    focusInput();
  }

  function scheduleHide(seconds) {
    clearTimeout(hideTimer);
    hideTimer = setTimeout(hideResult, seconds * 1000);
  }

  function hideResult() {
    clearTimeout(hideTimer);
    overlay.hidden = true;
    $("result-form").hidden = true;
    document.body.dataset.result = "";
    focusInput();
  }

  $("result-photo").addEventListener("error", function () {
    $("result-photo").hidden = true;  // a photo that cannot load: show the initial instead
    $("result-initial").hidden = false;
  });

  overlay.addEventListener("click", function (e) {
    if (!e.target.closest("button, form")) hideResult();
  });

  function showResult(data, item) {
    lastItem = item;
    lastResult = data;
    var head = T[HEADS[data.level]] || T.refused;
    if (data.level === "warning") head = data.reason === "duplicate" ? T.duplicate : T.forced;
    showPanel(data.level, head);
    var d = data.driver;
    if (d) {
      $("result-photo-box").hidden = false;
      $("result-name").textContent = d.name;
      $("result-company").textContent = d.company + (d.plate ? " · " + d.plate : "");
      $("result-initial").textContent = (d.name || "?").charAt(0);
      if (d.photo_url) {
        $("result-photo").src = d.photo_url;
        $("result-photo").hidden = false;
      } else {
        $("result-initial").hidden = false;
      }
      if (data.accepted && data.direction === "out" && d.time_inside) {
        $("result-extra").textContent = T.timeInside + ": " + d.time_inside;
      } else if (d.inside_since) {
        $("result-extra").textContent = T.insideSince + " " + hhmm(d.inside_since) +
          (d.time_inside ? " (" + d.time_inside + ")" : "");
      }
    }
    $("result-message").textContent = data.message;
    if (data.forcible && cfg.canForce) {
      var label = { "in": T.forceIn, out: T.forceOut, pass: T.forcePass }[data.direction] || T.forceIn;
      $("result-force").textContent = label;
      $("result-force").hidden = false;
    }
    if (data.accepted && data.annullable && data.movement_id && cfg.canAnnul) $("result-undo").hidden = false;
    beep(data.level);
    scheduleHide(data.level === "refused" ? cfg.resultSeconds + 3 : cfg.resultSeconds);
  }

  function showPending(item) {
    lastItem = item;
    showPanel("pending", T.pending);
    $("result-message").textContent = T.pendingHelp;
    $("result-extra").textContent = item.code.slice(0, 40);
    beep("warning");
    scheduleHide(cfg.resultSeconds);
  }

  function showNotice(level, head, message) {
    showPanel(level, head);
    $("result-message").textContent = message;
    beep(level === "info" ? "entry" : level === "refused" ? "refused" : "warning");
    scheduleHide(cfg.resultSeconds);
  }

  var formAction = null;
  function openForm(label, submitLabel, value, action) {
    clearTimeout(hideTimer);  // the panel stays while the operator types
    formAction = action;
    $("result-form-label").textContent = label;
    $("result-form-submit").textContent = submitLabel;
    $("result-form-input").value = value || "";
    $("result-form").hidden = false;
    $("result-force").hidden = true;
    $("result-undo").hidden = true;
    $("result-form-input").focus();
  }

  $("result-force").addEventListener("click", function () {
    openForm(T.forceReason, T.forceConfirm, "", function (note) {
      if (!note) { $("result-form-input").focus(); return; }
      submit({ code: lastItem.code, station: lastItem.station, nonce: newNonce(), clientTime: Date.now(),
               tries: 0, force: true, note: note, direction: lastResult.direction });
    });
  });

  $("result-undo").addEventListener("click", function () {
    var movementId = lastResult.movement_id;
    openForm(T.undoReason, T.undoConfirm, T.undoDefault, function (reason) { annul(movementId, reason); });
  });

  $("result-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var value = $("result-form-input").value.trim();
    if (formAction) formAction(value);
  });
  $("result-form-cancel").addEventListener("click", hideResult);

  function annul(movementId, reason) {
    fetch(cfg.apiAnnul, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({ movement_id: movementId, station: station, reason: reason }),
    }).then(function (r) {
      return r.json().then(function (data) { return { ok: r.ok, data: data }; });
    }).then(function (res) {
      if (res.ok) showNotice("undone", T.undone, res.data.message);
      else showNotice("refused", T.error, res.data.error || T.error);
      refreshRecent();
    }).catch(function () {
      showNotice("refused", T.error, T.pendingHelp);
    });
  }

  /* ---------- sounds (WebAudio: nothing to download) ---------- */

  var audio = null;
  function audioContext() {
    var C = window.AudioContext || window.webkitAudioContext;
    if (!C) return null;
    if (!audio) audio = new C();
    if (audio.state === "suspended") audio.resume();
    return audio;
  }
  function tone(a, freq, start, duration, type, volume) {
    var osc = a.createOscillator();
    var gain = a.createGain();
    osc.type = type;
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(volume, start);
    gain.gain.exponentialRampToValueAtTime(0.001, start + duration);
    osc.connect(gain).connect(a.destination);
    osc.start(start);
    osc.stop(start + duration + 0.02);
  }
  function beep(level) {
    var sound = level === "refused" ? "refused" : (level === "warning" || level === "pending") ? "warning" : "accepted";
    document.body.dataset.lastSound = sound;
    try {
      var a = audioContext();
      if (!a) return;
      var t = a.currentTime + 0.01;
      if (sound === "refused") {        // three low, harsh buzzes
        tone(a, 196, t, 0.28, "square", 0.35);
        tone(a, 165, t + 0.32, 0.28, "square", 0.35);
        tone(a, 131, t + 0.64, 0.5, "square", 0.35);
      } else if (sound === "warning") { // two equal mid beeps
        tone(a, 660, t, 0.16, "triangle", 0.4);
        tone(a, 660, t + 0.24, 0.16, "triangle", 0.4);
      } else {                          // a short rising chime
        tone(a, 880, t, 0.12, "sine", 0.4);
        tone(a, 1320, t + 0.13, 0.22, "sine", 0.4);
      }
    } catch (e) { /* no audio device: the colours still say it */ }
  }

  /* ---------- camera ---------- */

  var video = $("scan-video");
  var cameraSelect = $("scan-camera-select");
  var cameraButton = $("scan-camera-toggle");
  var stream = null;
  var scanning = false;
  var detector = null;
  var canvas = document.createElement("canvas");
  var ctx2d = canvas.getContext("2d", { willReadFrequently: true });
  var camLast = null;
  var camLastSeen = 0;
  var CAMERA_GONE_MS = 1500;  // the same code must leave the picture this long to count again

  function listCameras() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return Promise.resolve();
    return navigator.mediaDevices.enumerateDevices().then(function (devices) {
      var cams = devices.filter(function (d) { return d.kind === "videoinput"; });
      var current = stream && stream.getVideoTracks()[0] && stream.getVideoTracks()[0].getSettings().deviceId;
      cameraSelect.textContent = "";
      cams.forEach(function (cam, i) {
        var opt = document.createElement("option");
        opt.value = cam.deviceId;
        opt.textContent = cam.label || T.cameraDefault + " " + (i + 1);
        if (cam.deviceId === current) opt.selected = true;
        cameraSelect.appendChild(opt);
      });
      cameraSelect.hidden = cams.length < 2;
    });
  }

  function startCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      showNotice("refused", T.error, T.cameraError);
      return Promise.resolve();
    }
    var deviceId = cameraSelect.value || storeGet(CAMERA_KEY, null);
    var constraints = { audio: false, video: deviceId ? { deviceId: { exact: deviceId } } : { facingMode: "environment" } };
    return navigator.mediaDevices.getUserMedia(constraints).catch(function () {
      return navigator.mediaDevices.getUserMedia({ audio: false, video: true });  // saved camera gone
    }).then(function (s) {
      stream = s;
      video.srcObject = s;
      video.hidden = false;
      cameraButton.textContent = T.cameraStop;
      document.body.dataset.camera = "on";
      return video.play();
    }).then(function () {
      listCameras();
      return setUpDetector();
    }).then(function () {
      scanning = true;
      decodeLoop();
    }).catch(function () {
      stopCamera();
      showNotice("refused", T.error, T.cameraError);
    });
  }

  function setUpDetector() {
    if (!("BarcodeDetector" in window)) return Promise.resolve();
    return window.BarcodeDetector.getSupportedFormats().then(function (formats) {
      if (formats.indexOf("qr_code") >= 0) detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    }).catch(function () { detector = null; });
  }

  function stopCamera() {
    scanning = false;
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null;
    video.srcObject = null;
    video.hidden = true;
    cameraButton.textContent = T.cameraStart;
    document.body.dataset.camera = "off";
  }

  function decodeFrame() {
    if (video.readyState < 2 || !video.videoWidth) return Promise.resolve(null);
    if (detector) {
      return detector.detect(video).then(function (codes) {
        return codes.length ? codes[0].rawValue : null;
      }, function () { detector = null; return null; });
    }
    if (!window.jsQR) return Promise.resolve(null);
    var scale = Math.min(1, 800 / video.videoWidth);
    var w = Math.round(video.videoWidth * scale);
    var h = Math.round(video.videoHeight * scale);
    canvas.width = w;
    canvas.height = h;
    ctx2d.drawImage(video, 0, 0, w, h);
    var found = window.jsQR(ctx2d.getImageData(0, 0, w, h).data, w, h, { inversionAttempts: "attemptBoth" });
    return Promise.resolve(found ? found.data : null);
  }

  function onCameraText(text) {
    var now = Date.now();
    if (!text) {
      if (camLast && now - camLastSeen > CAMERA_GONE_MS) camLast = null;
      return;
    }
    if (text === camLast) { camLastSeen = now; return; }  // still in front of the camera
    camLast = text;
    camLastSeen = now;
    handleText(text);
  }

  function decodeLoop() {
    if (!scanning) return;
    decodeFrame().then(onCameraText, function () {}).then(function () { return sleep(120); }).then(decodeLoop);
  }

  cameraButton.addEventListener("click", function () {
    if (stream) stopCamera(); else startCamera();
  });
  cameraSelect.addEventListener("change", function () {
    storeSet(CAMERA_KEY, cameraSelect.value);
    if (stream) { stopCamera(); startCamera(); }
  });

  /* ---------- start ---------- */

  initStation();
  renderPending();
  focusInput();
  flush();
})();
