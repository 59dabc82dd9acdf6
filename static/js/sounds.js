/* The app's sounds, made with WebAudio so there is nothing to download: the scan screen's
 * three outcomes and the dashboard's banned-driver alarm.
 *
 * Browsers start audio only after a user gesture on the page; at a booth the scanner's
 * typing counts as one, on the dashboard the "sound on" button does.
 */

// [frequency Hz, start s, duration s, waveform, volume]
const PATTERNS = {
  accepted: [[880, 0, 0.12, "sine", 0.4], [1320, 0.13, 0.22, "sine", 0.4]],          // a short rising chime
  warning: [[660, 0, 0.16, "triangle", 0.4], [660, 0.24, 0.16, "triangle", 0.4]],    // two equal mid beeps
  refused: [[196, 0, 0.28, "square", 0.35], [165, 0.32, 0.28, "square", 0.35],       // three low, harsh buzzes
            [131, 0.64, 0.5, "square", 0.35]],
  alarm: [[880, 0, 0.3, "square", 0.25], [660, 0.35, 0.3, "square", 0.25],           // the dashboard's alert
          [880, 0.7, 0.3, "square", 0.25]],
};

let audio = null;

function context() {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return null;
  if (!audio) audio = new Ctx();
  if (audio.state === "suspended") audio.resume().catch(() => { /* no gesture yet: silent */ });
  return audio;
}

function tone(a, [freq, start, duration, type, volume], t0) {
  const osc = a.createOscillator();
  const gain = a.createGain();
  osc.type = type;
  osc.frequency.value = freq;
  gain.gain.setValueAtTime(volume, t0 + start);
  gain.gain.exponentialRampToValueAtTime(0.001, t0 + start + duration);
  osc.connect(gain).connect(a.destination);
  osc.start(t0 + start);
  osc.stop(t0 + start + duration + 0.02);
}

/** Play one of PATTERNS' sounds; never throws (a PC without an audio device stays silent). */
export function play(name) {
  try {
    const a = context();
    if (!a) return false;
    const t0 = a.currentTime + 0.01;
    (PATTERNS[name] || PATTERNS.warning).forEach((note) => tone(a, note, t0));
    return true;
  } catch (e) {
    return false;  // the colours on screen still say it
  }
}

/** Release the audio device (the dashboard's "sound off"). */
export function close() {
  if (!audio) return;
  const a = audio;
  audio = null;
  a.close().catch(() => { /* already closed */ });
}
