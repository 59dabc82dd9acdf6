/* The camera: a webcam or a tablet's back camera reads badges shown to it. Frames are
 * decoded by the browser's BarcodeDetector where it exists, else by the vendored jsQR
 * (static/vendor/jsqr, loaded by the page as window.jsQR).
 *
 * The decode loop never stops by itself: whatever a QR holds (bad percent codes, huge
 * text, binary, a QR inside a QR) and whatever fails while it is handled, the failure is
 * reported as an invalid read and the next frame is decoded. Only "Stop camera" ends it. */
import { $, T } from "./config.js";
import { load, save } from "./store.js";

const CAMERA_KEY = "qrgate.scan.camera";
const FRAME_PAUSE_MS = 120;
const CAMERA_GONE_MS = 1500;  // the same code must leave the picture this long to count again

// The scan screen's elements and strings unless init() is given others (the marshal's page).
let video = null;
let select = null;
let button = null;
let strings = T;
const canvas = document.createElement("canvas");
const ctx2d = canvas.getContext("2d", { willReadFrequently: true });
let stream = null;
let detector = null;
let run = 0;  // each start gets a number: a loop of a stopped camera ends by itself
let lastText = null;
let lastSeen = 0;
let handlers = { onText() {}, onInvalid() {}, onError() {} };

function listCameras() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return Promise.resolve();
  return navigator.mediaDevices.enumerateDevices().then((devices) => {
    const cams = devices.filter((d) => d.kind === "videoinput");
    const track = stream && stream.getVideoTracks()[0];
    const current = track && track.getSettings().deviceId;
    select.textContent = "";
    cams.forEach((cam, i) => {
      const opt = document.createElement("option");
      opt.value = cam.deviceId;
      opt.textContent = cam.label || strings.cameraDefault + " " + (i + 1);
      if (cam.deviceId === current) opt.selected = true;
      select.appendChild(opt);
    });
    select.hidden = cams.length < 2;
  });
}

function setUpDetector() {
  if (!("BarcodeDetector" in window)) return Promise.resolve();
  return window.BarcodeDetector.getSupportedFormats().then((formats) => {
    if (formats.includes("qr_code")) detector = new window.BarcodeDetector({ formats: ["qr_code"] });
  }).catch(() => { detector = null; });
}

function decodeFrame() {
  if (video.readyState < 2 || !video.videoWidth) return null;
  if (detector) {
    return detector.detect(video).then(
      (codes) => (codes.length ? codes[0].rawValue : null),
      () => { detector = null; return null; },  // jsQR from the next frame on
    );
  }
  if (!window.jsQR) return null;
  const scale = Math.min(1, 800 / video.videoWidth);
  const w = Math.round(video.videoWidth * scale);
  const h = Math.round(video.videoHeight * scale);
  canvas.width = w;
  canvas.height = h;
  ctx2d.drawImage(video, 0, 0, w, h);
  const found = window.jsQR(ctx2d.getImageData(0, 0, w, h).data, w, h, { inversionAttempts: "attemptBoth" });
  return found ? found.data : null;
}

function onFrameText(text) {
  const now = Date.now();
  if (typeof text !== "string" || !text) {
    if (lastText !== null && now - lastSeen > CAMERA_GONE_MS) lastText = null;
    return;
  }
  if (text === lastText) { lastSeen = now; return; }  // still in front of the camera
  lastText = text;
  lastSeen = now;
  handlers.onText(text);
}

function loop(myRun) {
  if (myRun !== run) return;
  const next = () => { if (myRun === run) setTimeout(() => loop(myRun), FRAME_PAUSE_MS); };
  new Promise((resolve) => resolve(decodeFrame()))  // a throw while decoding becomes a rejection
    .then(onFrameText)
    .catch((e) => { handlers.onInvalid(e); })
    .then(next)
    .catch(next);
}

export function isOn() {
  return stream !== null;
}

export function stop() {
  run += 1;
  if (stream) stream.getTracks().forEach((t) => t.stop());
  stream = null;
  video.srcObject = null;
  video.hidden = true;
  button.textContent = strings.cameraStart;
  document.body.dataset.camera = "off";
}

export function start() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    handlers.onError();
    return Promise.resolve();
  }
  const myRun = ++run;
  const deviceId = select.value || load(CAMERA_KEY, null);
  const constraints = { audio: false, video: deviceId ? { deviceId: { exact: deviceId } } : { facingMode: "environment" } };
  return navigator.mediaDevices.getUserMedia(constraints)
    .catch(() => navigator.mediaDevices.getUserMedia({ audio: false, video: true }))  // saved camera gone
    .then((s) => {
      if (myRun !== run) { s.getTracks().forEach((t) => t.stop()); return null; }  // stopped meanwhile
      stream = s;
      video.srcObject = s;
      video.hidden = false;
      button.textContent = strings.cameraStop;
      document.body.dataset.camera = "on";
      return video.play()
        .then(() => { listCameras().catch(() => {}); return setUpDetector(); })
        .then(() => { lastText = null; loop(myRun); });
    })
    .catch(() => {
      stop();
      handlers.onError();
    });
}

/** `onText(text)` for each new code in front of the camera; `onInvalid(error)` when a read
 * could not be handled; `onError()` when the camera cannot be opened. `video`, `select`,
 * `button` and `strings` (cameraStart, cameraStop, cameraDefault) default to the scan screen's. */
export function init(options) {
  const { video: v, select: s, button: b, strings: t, ...rest } = options;
  video = v || $("scan-video");
  select = s || $("scan-camera-select");
  button = b || $("scan-camera-toggle");
  strings = t || T;
  handlers = { ...handlers, ...rest };
  button.addEventListener("click", () => {
    if (stream) stop();
    else start().catch(() => {});
  });
  select.addEventListener("change", () => {
    save(CAMERA_KEY, select.value);
    if (stream) { stop(); start().catch(() => {}); }
  });
}
