/* Registration photo from the booth's webcam: getUserMedia -> <video> -> canvas -> a JPEG
   data URL in the hidden "photo_data" field, posted with the form. No library, no CDN.
   Messages come translated from the page (json_script "webcam-messages"). */
(function () {
  "use strict";
  var form = document.getElementById("driver-form");
  if (!form) return;
  var msgs = JSON.parse(document.getElementById("webcam-messages").textContent || "{}");
  var video = document.getElementById("cam-video");
  var guide = document.getElementById("cam-guide");
  var canvas = document.getElementById("cam-canvas");
  var preview = document.getElementById("photo-preview");
  var placeholder = document.getElementById("photo-placeholder");
  var hidden = document.getElementById("id_photo_data");
  var fileInput = document.getElementById("id_photo");
  var startBtn = document.getElementById("cam-start");
  var shootBtn = document.getElementById("cam-shoot");
  var cancelBtn = document.getElementById("cam-cancel");
  var status = document.getElementById("cam-status");
  var stream = null;
  var previousPreview = null;

  function say(text, isError) {
    status.textContent = text || "";
    status.classList.toggle("is-error", !!isError);
  }

  function show(el, visible) { if (el) el.hidden = !visible; }

  function stop() {
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }
    stream = null;
    video.srcObject = null;
    show(video, false); show(guide, false); show(shootBtn, false); show(cancelBtn, false); show(startBtn, true);
  }

  function showPreview(src) {
    preview.src = src;
    show(preview, true); show(placeholder, false);
  }

  function start() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      say(msgs.unsupported, true);
      return;
    }
    say(msgs.starting);
    previousPreview = preview.hidden ? null : preview.src;
    navigator.mediaDevices.getUserMedia({
      video: { facingMode: "user", width: { ideal: 1280 }, height: { ideal: 960 } },
      audio: false
    }).then(function (s) {
      stream = s;
      video.srcObject = s;
      show(preview, false); show(placeholder, false);
      show(video, true); show(guide, true); show(shootBtn, true); show(cancelBtn, true); show(startBtn, false);
      say(msgs.ready);
      shootBtn.focus();
    }).catch(function (err) {
      var name = err && err.name;
      say(name === "NotAllowedError" || name === "SecurityError" ? msgs.denied
        : name === "NotFoundError" || name === "OverconstrainedError" ? msgs.notFound
        : name === "NotReadableError" ? msgs.busy : msgs.unsupported, true);
      stop();
    });
  }

  function shoot() {
    var w = video.videoWidth, h = video.videoHeight;
    if (!w || !h) return;
    // Crop the middle of the frame to the badge's 3:4 portrait, as the server would.
    var cropW = Math.min(w, Math.round(h * 3 / 4));
    var cropH = Math.min(h, Math.round(cropW * 4 / 3));
    var sx = Math.round((w - cropW) / 2), sy = Math.round((h - cropH) * 0.4);
    canvas.width = 600; canvas.height = 800;
    var ctx = canvas.getContext("2d");
    // The preview is mirrored for the person in front of it; the stored photo is not.
    ctx.drawImage(video, sx, sy, cropW, cropH, 0, 0, canvas.width, canvas.height);
    var dataUrl = canvas.toDataURL("image/jpeg", 0.9);
    hidden.value = dataUrl;
    fileInput.value = "";  // the camera photo replaces a chosen file
    stop();
    showPreview(dataUrl);
    startBtn.textContent = msgs.retake || startBtn.textContent;
    say(msgs.taken);
  }

  function cancel() {
    stop();
    if (previousPreview) { showPreview(previousPreview); } else { show(placeholder, true); }
    say("");
  }

  startBtn.addEventListener("click", start);
  shootBtn.addEventListener("click", shoot);
  cancelBtn.addEventListener("click", cancel);
  fileInput.addEventListener("change", function () {
    var file = fileInput.files && fileInput.files[0];
    if (!file) return;
    hidden.value = "";  // a chosen file replaces the camera photo
    stop();
    if (window.URL && URL.createObjectURL) { showPreview(URL.createObjectURL(file)); }
    say(msgs.fileChosen);
  });
  window.addEventListener("pagehide", stop);
})();
