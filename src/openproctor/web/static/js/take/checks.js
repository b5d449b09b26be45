// The system check: browser, camera, microphone, upload speed and screens, each with a fix-it
// message. Resolves once every check passes (warnings do not block); "Check again" reruns them.
import * as api from "./api.js";
import * as media from "./media.js";

const BANDWIDTH_BYTES = 256 * 1024;
const SLOW_KBPS = 250;

// Each check returns {status: "ok" | "warn" | "fail", text}.
const CHECKS = {
  async browser() {
    const missing = [];
    if (!navigator.mediaDevices?.getUserMedia) missing.push("camera access");
    if (!("MediaRecorder" in window)) missing.push("recording");
    if (!("WebSocket" in window)) missing.push("live connection");
    if (!("AudioWorkletNode" in window)) missing.push("audio processing");
    if (!missing.length) return { status: "ok", text: "Your browser has everything the exam needs." };
    const secure = window.isSecureContext ? "" : " This page must be opened over https.";
    return {
      status: "fail",
      text: `This browser cannot do ${missing.join(", ")}.${secure} Please open this same link in a current version of Chrome, Edge or Firefox.`,
    };
  },

  async camera(policy) {
    await media.openCamera({ width: policy.frame_width, height: policy.frame_height });
    const { width, height } = media.cameraSize();
    if (width < policy.frame_width * 0.5) {
      return { status: "warn", text: `Your camera works, at a low resolution (${width}×${height}). That is fine, as long as your face is clearly visible.` };
    }
    return { status: "ok", text: `Your camera works (${width}×${height}).` };
  },

  async microphone() {
    const stream = await media.openMicrophone();
    const track = stream.getAudioTracks()[0];
    return { status: "ok", text: `Your microphone works${track?.label ? ` (${track.label})` : ""}.` };
  },

  async bandwidth() {
    const blob = new Blob([new Uint8Array(BANDWIDTH_BYTES)], { type: "application/octet-stream" });
    const started = performance.now();
    try {
      await api.bandwidth(blob, 30000);
    } catch (error) {
      if (error.status === 0 && !navigator.onLine) {
        return { status: "fail", text: "You seem to be offline. Check your Wi-Fi or network cable, then press \"Check again\"." };
      }
      return { status: "warn", text: "We could not measure your upload speed. You can continue; if the exam feels slow, move closer to your Wi-Fi router." };
    }
    const seconds = Math.max((performance.now() - started) / 1000, 0.001);
    const kbps = Math.round((BANDWIDTH_BYTES * 8) / 1000 / seconds);
    const shown = kbps >= 1000 ? `${(kbps / 1000).toFixed(1)} Mbit/s` : `${kbps} kbit/s`;
    if (kbps < SLOW_KBPS) {
      return { status: "warn", text: `Your upload speed is low (${shown}). You can continue, but the video may lag. If you can, close other downloads or video calls, or move closer to your Wi-Fi router.` };
    }
    return { status: "ok", text: `Your connection is fast enough (${shown} upload).` };
  },

  async screens() {
    const count = await countScreens();
    if (count <= 1) return { status: "ok", text: "One screen is connected." };
    return {
      status: "fail",
      text: `We can see ${count} screens. Please disconnect or switch off the extra monitor (mirroring is fine), then press "Check again".`,
    };
  },
};

// Number of screens: screen.isExtended (Window Management API) where the browser has it;
// unknown counts as one.
export async function countScreens() {
  if (window.screen.isExtended !== true) return 1;
  if ("getScreenDetails" in window) {
    try {
      const details = await Promise.race([
        window.getScreenDetails(),
        new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), 3000)),
      ]);
      return Math.max(details.screens.length, 1);
    } catch {
      // permission refused or not answered: isExtended alone says there are at least two
    }
  }
  return 2;
}

const ICONS = { pending: "…", ok: "✓", warn: "!", fail: "✕" };

function show(row, status, text) {
  row.dataset.status = status;
  row.querySelector(".check-icon").textContent = ICONS[status];
  row.querySelector(".check-text").textContent = text;
}

// Runs every check in the step's <li data-check> rows; returns true when none failed.
async function runChecks(root, policy) {
  const rows = [...root.querySelectorAll("[data-check]")];
  for (const row of rows) show(row, "pending", "Checking…");
  let passed = true;
  // Camera before microphone: browsers ask for permission one device at a time.
  for (const row of rows) {
    let result;
    try {
      result = await CHECKS[row.dataset.check](policy);
    } catch (error) {
      result = { status: "fail", text: error.message };
    }
    show(row, result.status, result.text);
    if (result.status === "fail") passed = false;
    if (row.dataset.check === "microphone" && result.status !== "fail") {
      const meter = root.querySelector(".mic-meter");
      if (meter) showLevel(media.microphoneStream(), meter);
    }
    if (row.dataset.check === "camera" && result.status !== "fail") {
      const preview = root.querySelector("video.preview");
      if (preview) media.attachPreview(preview);
    }
  }
  return passed;
}

// A live level bar, so the candidate sees that the microphone hears them. Stops by itself
// once the bar leaves the page.
function showLevel(stream, meter) {
  if (meter.dataset.running) return;
  meter.dataset.running = "yes";
  meter.hidden = false;
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  analyser.fftSize = 512;
  context.createMediaStreamSource(stream).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const bar = meter.querySelector("span");
  const draw = () => {
    if (!meter.isConnected) {
      context.close().catch(() => {});
      return;
    }
    analyser.getFloatTimeDomainData(samples);
    const rms = Math.sqrt(samples.reduce((sum, x) => sum + x * x, 0) / samples.length);
    bar.style.width = `${Math.min(100, Math.round(rms * 400))}%`;
    requestAnimationFrame(draw);
  };
  draw();
}

// The system-check step's controls: runs the checks, offers "Check again" while something needs
// attention and enables Continue once everything passed (`ready` then says what comes next).
export function checkStep(root, policy, { ready, onNext }) {
  const next = root.querySelector("[data-testid=next]");
  const retry = root.querySelector("[data-action=retry]");
  const summary = root.querySelector(".check-summary");
  const run = async () => {
    next.disabled = true;
    retry.hidden = true;
    summary.textContent = "Checking… your browser may ask to use your camera and microphone: please allow it.";
    const passed = await runChecks(root, policy);
    next.disabled = !passed;
    retry.hidden = passed;
    summary.textContent = passed
      ? ready
      : "Some things need attention. Follow the advice above, then press \"Check again\".";
  };
  retry.addEventListener("click", run);
  next.addEventListener("click", onNext);
  run();
}
