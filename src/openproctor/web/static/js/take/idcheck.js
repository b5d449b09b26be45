// The ID step, after the reference photo when the exam asks for an ID (and in the practice
// run): the candidate holds a photo ID next to their face (or uploads a photo of it) and the
// server reads it: in the exam POST …/sessions/{id}/id-document, which decides the admission
// with the photo's verdict; in practice POST …/practice/id-document, which keeps nothing.
// Passed: Continue. Not passed: the server's advice and another try; in the exam, a proctor
// may decide instead (another face, or the exam's number of tries): the caller's onChecked
// sees the session waiting and shows the lobby.
import * as media from "./media.js";

const MAX_BYTES = 4 * 1024 * 1024; // the server's limit (domains/iddoc/flows.py)
const MAX_SIDE = 1920; // an uploaded photo larger than this is scaled down before sending
const TYPES = new Set(["image/jpeg", "image/png"]);
const READY = 'When your ID is in the picture, press "Check my ID".';

// A problem the candidate can fix, said in their words.
class Problem extends Error {}

// send(image) resolves to the server's answer ({passed, guidance}); onChecked() is awaited
// after every answer and resolves to true when the caller left the step (to the lobby);
// onContinue() is called when the candidate goes on after a pass.
export function showIdStep(root, { send, onChecked = async () => false, onContinue }) {
  const next = root.querySelector("[data-testid=next]");
  const status = root.querySelector(".id-status");
  const progress = root.querySelector(".id-progress");
  const error = root.querySelector(".error");
  const file = root.querySelector("input[type=file]");
  media.attachPreview(root.querySelector("video.preview"));
  let passed = false;

  const say = (text, tone = "") => {
    status.textContent = text;
    status.dataset.tone = tone;
  };
  const showError = (message) => {
    error.hidden = !message;
    error.textContent = message ?? "";
  };
  const busy = (on) => {
    const hadFocus = document.activeElement === next || document.activeElement === document.body;
    next.disabled = file.disabled = on;
    progress.hidden = !on;
    root.setAttribute("aria-busy", String(on));
    next.textContent = on ? "Reading your ID…" : passed ? "Continue" : "Check my ID";
    if (on) say("Reading your ID… this takes a few seconds.");
    // A disabled button loses the focus: give it back, so Enter works again at once.
    else if (hadFocus) next.focus({ preventScroll: true });
  };

  // takeImage() resolves to the image to send (a Problem says what is wrong with it): the
  // progress shows from the press, also while a large upload is made smaller.
  async function check(takeImage) {
    showError(null);
    busy(true);
    let result = null;
    try {
      result = await send(await takeImage());
    } catch (failure) {
      if (failure.status === 409 && (await onChecked())) return; // a proctor decides now
      busy(false);
      say(READY);
      showError(failure instanceof Problem ? failure.message : problemText(failure));
      return;
    }
    if (await onChecked()) return;
    passed = result.passed;
    busy(false);
    if (passed) say(`${result.guidance} Press Continue.`, "ok");
    else say(`${result.guidance} Then press "Check my ID" again.`, "guide");
  }

  next.addEventListener("click", async () => {
    if (passed) return onContinue();
    await check(async () => {
      const jpeg = await media.captureJpeg({ width: 1920, height: 1080, quality: 0.92 });
      if (!jpeg) throw new Problem("There is no camera picture yet. Wait a moment, or upload a photo of your ID below.");
      return jpeg;
    });
  });
  file.addEventListener("change", async () => {
    const chosen = file.files[0];
    if (!chosen) return;
    file.value = ""; // choosing the same file again sends it again
    await check(() => prepared(chosen));
  });
}

// The chosen file as the server takes it: a JPEG or PNG, scaled down when it is larger than
// MAX_SIDE or MAX_BYTES (a phone photo often is).
async function prepared(chosen) {
  if (!TYPES.has(chosen.type)) {
    throw new Problem(`"${chosen.name}" is not a JPEG or PNG photo. Please choose a photo of your ID in one of these formats.`);
  }
  let bitmap;
  try {
    bitmap = await createImageBitmap(chosen);
  } catch {
    throw new Problem(`We could not open "${chosen.name}". Please choose another photo of your ID (JPEG or PNG).`);
  }
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  if (scale === 1 && chosen.size <= MAX_BYTES) {
    bitmap.close();
    return chosen;
  }
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  const smaller = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.9));
  if (!smaller || smaller.size > MAX_BYTES) {
    throw new Problem("This photo is too large, even made smaller. Please choose a photo of at most 4 MB.");
  }
  return smaller;
}

function problemText(failure) {
  if (failure.status === 413) return "This photo is too large. Please choose a photo of at most 4 MB.";
  if (failure.status === 422) return `We could not use this photo: ${failure.message}.`;
  if (failure.status === 503) {
    return "Our ID check is busy or not available right now. Please try again in a minute; if this lasts, contact the person who sent you the link.";
  }
  if (failure.status === 0) return "We could not reach the exam server. Check your connection, then try again.";
  return `Something went wrong on our side (${failure.message}). Please try again.`;
}
