// The candidate's page: rules and consent → system check → reference photo → start → exam →
// submitted or ended. One step at a time goes into #step; a reload resumes at the step that
// matches the session's state on the server.
import * as api from "./api.js";
import { runChecks } from "./checks.js";
import { captureUntilEnrolled } from "./enrol.js";
import { runExam } from "./exam.js";
import * as media from "./media.js";
import { requestFullscreen, startProctoring } from "./proctoring.js";

const stepRoot = document.getElementById("step");
const ENDED = new Set(["submitted", "terminated", "expired"]);
const STEP_OF_STATE = {
  invited: "consent", checking: "checks", enrolled: "intro", running: "exam", paused: "exam",
};
let view = null;
let running = null; // {exam, proctoring} while the exam step is on screen

function mount(name, indicator = name) {
  const template = document.getElementById(`step-${name}`);
  stepRoot.replaceChildren(template.content.cloneNode(true));
  const order = ["consent", "checks", "enrol", "exam"];
  const current = order.indexOf(indicator === "intro" ? "exam" : indicator);
  for (const item of document.querySelectorAll(".steps [data-step]")) {
    const index = order.indexOf(item.dataset.step);
    const finished = indicator === "done" || index < current;
    item.dataset.status = finished ? "done" : index === current ? "current" : "";
  }
  document.querySelector(".take").dataset.currentStep = name;
  stepRoot.querySelector("h2[tabindex]")?.focus({ preventScroll: true });
  return stepRoot.firstElementChild;
}

function showError(root, message) {
  const error = root.querySelector(".error");
  error.hidden = !message;
  error.textContent = message ?? "";
}

const policy = () => view.exam?.policy ?? { frame_width: 640, frame_height: 480, require_fullscreen: false };

async function load() {
  try {
    view = await api.getView();
  } catch (error) {
    problem(error.message);
    return;
  }
  route(view.session.state, { resumed: true });
}

function route(state, { resumed = false, reason = null } = {}) {
  if (ENDED.has(state)) return ended(state, reason ?? view?.session.end_reason);
  if (resumed && (state === "enrolled" || state === "checking") && !media.cameraStream()) {
    return checks(); // after a reload the camera must be opened (and checked) again
  }
  ({ consent, checks, intro, exam }[STEP_OF_STATE[state]] ?? problem)();
}

function consent() {
  const root = mount("consent");
  const box = root.querySelector("[data-testid=consent]");
  const next = root.querySelector("[data-testid=next]");
  box.addEventListener("change", () => (next.disabled = !box.checked));
  next.addEventListener("click", async () => {
    next.disabled = true;
    showError(root, null);
    try {
      if (view.session.state === "invited") {
        view.session = await api.setState(view.session.id, "checking");
      }
      checks();
    } catch (error) {
      next.disabled = false;
      showError(root, `We could not record your consent: ${error.message}. Please try again.`);
    }
  });
}

function checks() {
  const root = mount("checks");
  const next = root.querySelector("[data-testid=next]");
  const retry = root.querySelector("[data-action=retry]");
  const summary = root.querySelector(".check-summary");
  const run = async () => {
    next.disabled = true;
    retry.hidden = true;
    summary.textContent = "Checking… your browser may ask to use your camera and microphone: please allow it.";
    const passed = await runChecks(root, policy());
    next.disabled = !passed;
    retry.hidden = passed;
    summary.textContent = passed
      ? "Everything is ready. Press Continue."
      : "Some things need attention. Follow the advice above, then press \"Check again\".";
  };
  retry.addEventListener("click", run);
  next.addEventListener("click", () => (view.session.state === "checking" ? enrol() : intro()));
  run();
}

function enrol() {
  const root = mount("enrol");
  const next = root.querySelector("[data-testid=next]");
  const status = root.querySelector(".enrol-status");
  media.attachPreview(root.querySelector("video.preview"));
  let enrolled = false;
  next.addEventListener("click", async () => {
    if (enrolled) return intro();
    next.disabled = true;
    next.textContent = "Taking your photo…";
    root.dataset.capturing = "true";
    await captureUntilEnrolled({ sessionId: view.session.id, policy: policy(), status });
    try {
      view = await api.getView(); // an accepted photo moves the session to "enrolled"
    } catch (error) {
      status.textContent = `Your photo is saved, but we could not continue: ${error.message}. Press Continue to try again.`;
    }
    enrolled = view.session.state !== "checking";
    root.dataset.capturing = "false";
    next.textContent = "Continue";
    next.disabled = false;
  });
}

function intro() {
  const root = mount("intro");
  const next = root.querySelector("[data-testid=next]");
  next.addEventListener("click", async () => {
    if (policy().require_fullscreen) requestFullscreen();
    next.disabled = true;
    showError(root, null);
    try {
      if (view.session.state === "enrolled") {
        view.session = await api.setState(view.session.id, "running");
      }
      view = await api.getView(); // now with ends_at
      if (ENDED.has(view.session.state)) return route(view.session.state);
      exam({ resumed: false });
    } catch (error) {
      next.disabled = false;
      showError(root, `The exam could not start: ${error.message}. Please try again.`);
    }
  });
}

async function exam({ resumed = true } = {}) {
  const root = mount("exam");
  if (resumed && !media.cameraStream()) {
    // Reloaded mid-exam: reopen the devices quietly; the camera banner offers a retry.
    await media.openCamera({ width: policy().frame_width, height: policy().frame_height }).catch(() => {});
    await media.openMicrophone().catch(() => {});
  }
  let paused = view.session.state === "paused";
  const refresh = async () => {
    try {
      view.session = (await api.getView()).session;
      applyState(view.session.state, view.session.end_reason);
    } catch {
      // offline: the socket's state messages will tell us when it is back
    }
  };
  const examRunner = runExam(root, {
    view,
    refresh,
    isPaused: () => paused,
    onEnded: (session) => finish(session.state, session.end_reason),
  });
  const proctoring = startProctoring({
    token: api.token,
    policy: policy(),
    root,
    resumed,
    handlers: {
      hello(message) {
        examRunner.setEndsAt(message.ends_at);
        applyState(message.state);
      },
      state: (message) => applyState(message.state, message.reason),
      ended: (code) => (code === 4408 ? null : refresh()),
    },
  });
  running = { examRunner, proctoring };

  function applyState(state, reason) {
    if (ENDED.has(state)) return finish(state, reason);
    const wasPaused = paused;
    paused = state === "paused";
    root.dataset.testid = paused ? "exam-paused" : "exam-running";
    root.inert = paused; // nothing to answer behind the pause notice, by mouse or keyboard
    proctoring.setPaused(paused);
    if (wasPaused && !paused) {
      // Resumed: the end time may have moved, and answers changed while paused need saving.
      api.getView().then((fresh) => examRunner.setEndsAt(fresh.ends_at)).catch(() => {});
      examRunner.retrySaving();
    }
  }
  applyState(view.session.state);
}

function finish(state, reason) {
  if (running) {
    running.examRunner.stop();
    running.proctoring.stop();
    running = null;
  }
  ended(state, reason);
}

function ended(state, reason) {
  media.stopAll();
  document.getElementById("toasts").replaceChildren();
  const root = mount(state, "done");
  const reasonLine = root.querySelector(".end-reason");
  if (reasonLine && reason) {
    reasonLine.hidden = false;
    reasonLine.querySelector("span").textContent = reason;
  }
}

function problem(message = "Something unexpected happened.") {
  const root = mount("problem", "none");
  root.querySelector(".problem-text").textContent = message;
  root.querySelector("[data-testid=next]").addEventListener("click", () => location.reload());
}

load();
