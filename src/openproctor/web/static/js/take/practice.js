// The practice run (/practice/{token}): the exam's system check, then the reference photo's
// check (and the ID's, when the exam asks for one), as often as the candidate likes before
// the exam. It makes no attempt: only the
// photo's verdict comes back (POST /api/v1/take/{token}/practice), and the server notes when
// a photo passed.
import * as api from "./api.js";
import { checkStep } from "./checks.js";
import { showIdStep } from "./idcheck.js";
import * as media from "./media.js";

const page = document.getElementById("practice");
const stepRoot = document.getElementById("step");
const policy = {
  frame_width: Number(page.dataset.frameWidth),
  frame_height: Number(page.dataset.frameHeight),
};

function mount(name) {
  stepRoot.replaceChildren(document.getElementById(`step-${name}`).content.cloneNode(true));
  stepRoot.querySelector("h2[tabindex]")?.focus({ preventScroll: true });
  return stepRoot.firstElementChild;
}

function checks() {
  checkStep(mount("checks"), policy, { ready: "Everything is ready. Press Continue to try your photo.", onNext: photo });
}

function photo() {
  const root = mount("practice-photo");
  const next = root.querySelector("[data-testid=next]");
  const status = root.querySelector("[data-testid=practice-status]");
  media.attachPreview(root.querySelector("video.preview"));
  next.addEventListener("click", async () => {
    next.disabled = true;
    status.dataset.tone = "";
    status.textContent = "Hold still for a moment…";
    try {
      const jpeg = await media.captureJpeg({ width: policy.frame_width, height: policy.frame_height, quality: 0.9 });
      if (!jpeg) throw new Error("no camera picture yet");
      const result = await api.practice(jpeg);
      if (result.ok) return page.dataset.idCheck === "yes" ? idDocument() : mount("practice-done");
      status.dataset.tone = "guide";
      status.textContent = `Not yet: ${result.guidance}. Change that, then try again.`;
    } catch (error) {
      status.dataset.tone = "guide";
      status.textContent = `We could not check your photo (${error.message}). Please try again.`;
    }
    next.disabled = false;
  });
}

function idDocument() {
  showIdStep(mount("id"), { send: api.practiseId, onContinue: () => mount("practice-done") });
}

checks();
