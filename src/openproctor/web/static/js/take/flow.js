// The candidate's page: rules and consent → system check → reference photo → (photo ID) →
// (room scan) →
// (screen sharing) → start → exam → submitted or ended. One step at a time goes into #step; a
// reload resumes at the step that matches the session's state on the server. The recording
// (recording.js) runs from the start of the exam to its end; what is not sent by then is sent
// on the ended page, which says how far it is.
import { FINAL_STATES as ENDED } from "../lib/vocabulary.js";
import * as api from "./api.js";
import { checkStep } from "./checks.js";
import { captureUntilEnrolled } from "./enrol.js";
import { runExam } from "./exam.js";
import { showIdStep } from "./idcheck.js";
import { waitForAdmission } from "./lobby.js";
import * as media from "./media.js";
import { requestFullscreen, startProctoring } from "./proctoring.js";
import { SERVER_FULL_TEXT, SessionRecording, showProgress } from "./recording.js";

const stepRoot = document.getElementById("step");
const take = document.getElementById("take");
const $ = (id) => document.getElementById(id);
const STEP_OF_STATE = {
  invited: "consent", checking: "checks", enrolled: "intro", running: "exam", paused: "exam",
};
let view = null;
let running = null; // {exam, proctoring} while the exam step is on screen
let recording = null; // SessionRecording of view.session, from the page's load

function mount(name, indicator = name) {
  const template = document.getElementById(`step-${name}`);
  stepRoot.replaceChildren(template.content.cloneNode(true));
  const order = [...document.querySelectorAll(".steps [data-step]")].map((item) => item.dataset.step);
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
const wants = (flag) => take.dataset[flag] === "yes"; // recordWebcam, recordScreen, roomScan

async function load() {
  try {
    view = await api.getView();
  } catch (error) {
    problem(error.message);
    resumeLeftovers();
    return;
  }
  recording = new SessionRecording(view.session.id);
  recording.prepare(); // sends what an earlier visit left behind
  route(view.session.state, { resumed: true });
}

function route(state, { resumed = false, reason = null } = {}) {
  if (ENDED.has(state)) return ended(state, reason ?? view?.session.end_reason);
  if (state === "checking" && view.checkin.admission === "waiting") return lobby();
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
        // The text read is the one agreed to: the server refuses it if the rules changed.
        const sha256 = root.querySelector("[data-consent-sha256]").dataset.consentSha256;
        view.session = await api.setState(view.session.id, "checking", { consent_sha256: sha256 });
      }
      checks();
    } catch (error) {
      next.disabled = false;
      showError(root, `We could not record your consent: ${error.message}. Please try again.`);
    }
  });
}

function checks() {
  checkStep(mount("checks"), policy(), {
    ready: "Everything is ready. Press Continue.",
    onNext: () => (view.session.state !== "checking" ? afterEnrol() : view.checkin.id_step ? idCheck() : enrol()),
  });
}

function enrol() {
  const root = mount("enrol");
  const next = root.querySelector("[data-testid=next]");
  const status = root.querySelector(".enrol-status");
  const note = root.querySelector(".enrol-note");
  if (view.checkin.admission === "retry" && view.checkin.note) {
    // The proctor asked for a new photo, in their words.
    note.hidden = false;
    note.textContent = `Your proctor asks: ${view.checkin.note}`;
  }
  media.attachPreview(root.querySelector("video.preview"));
  let enrolled = false;
  next.addEventListener("click", async () => {
    if (enrolled) return view.checkin.id_step ? idCheck() : afterEnrol();
    next.disabled = true;
    next.textContent = "Taking your photo…";
    root.dataset.capturing = "true";
    await captureUntilEnrolled({ sessionId: view.session.id, policy: policy(), status });
    try {
      view = await api.getView(); // an accepted photo moves the session to "enrolled"
    } catch (error) {
      status.textContent = `Your photo is saved, but we could not continue: ${error.message}. Press Continue to try again.`;
    }
    if (view.session.state === "checking" && view.checkin.admission === "waiting") return lobby();
    enrolled = view.session.state !== "checking" || view.checkin.id_step; // or the ID is next
    root.dataset.capturing = "false";
    next.textContent = "Continue";
    next.disabled = false;
  });
}

// The photo ID, when the exam asks for one: its check decides the admission with the photo's.
function idCheck() {
  showIdStep(mount("id"), {
    send: (image) => api.idDocument(view.session.id, image),
    async onChecked() {
      try {
        view = await api.getView();
      } catch {
        return false; // the next answer tells
      }
      const waiting = view.session.state === "checking" && view.checkin.admission === "waiting";
      if (!waiting && !ENDED.has(view.session.state)) return false;
      route(view.session.state); // the lobby, or the ended page
      return true;
    },
    onContinue: afterEnrol, // passed: enrolled
  });
}

// Waiting for a proctor: the decision arrives on the lobby socket.
function lobby() {
  const root = mount("lobby", "enrol");
  root.querySelector(".lobby-help").hidden = !view.checkin.needs_help;
  waitForAdmission(api.token, async () => {
    try {
      view = await api.getView();
    } catch (error) {
      return problem(error.message);
    }
    // Admitted: on to the exam (the camera is opened again after a reload); asked to retry:
    // a new photo; rejected: the ended page with the proctor's reason.
    const camera = media.cameraStream();
    if (view.session.state === "checking") return camera ? enrol() : checks();
    if (view.session.state === "enrolled") return camera ? afterEnrol() : checks();
    route(view.session.state);
  });
}

// After the photo: the room scan and the screen sharing, when the exam asks for them.
async function afterEnrol() {
  if (wants("roomScan") && !(await recording.hasRoomScan())) return roomScan();
  if (wants("recordScreen") && !media.screenStream()) return shareScreen();
  intro();
}

function roomScan() {
  const root = mount("room");
  const next = root.querySelector("[data-testid=next]");
  const status = root.querySelector(".room-status");
  const seconds = Number(take.dataset.roomScanSeconds) || 15;
  media.attachPreview(root.querySelector("video.preview"));
  let recorded = false;
  next.addEventListener("click", async () => {
    if (recorded) return afterEnrol();
    next.disabled = true;
    showError(root, null);
    root.dataset.recording = "true";
    try {
      await recording.roomScan(seconds, (left) => {
        next.textContent = left ? `Recording… ${left} s` : "Saving…";
        status.textContent = left
          ? "Turn slowly around the room, then show your desk."
          : "Thank you. Saving the room scan…";
      });
      recorded = true;
      status.textContent = "Thank you, your room scan is recorded.";
      next.textContent = "Continue";
    } catch (error) {
      next.textContent = "Start the room scan";
      showError(root, `The room scan could not be recorded (${error.message}). Please try again.`);
    }
    root.dataset.recording = "false";
    next.disabled = false;
  });
}

function shareScreen() {
  const root = mount("screen");
  const next = root.querySelector("[data-testid=next]");
  next.addEventListener("click", async () => {
    showError(root, null);
    next.disabled = true;
    try {
      await media.openScreen();
      intro();
    } catch (error) {
      next.disabled = false;
      showError(root, error.message);
    }
  });
}

function intro() {
  const root = mount("intro");
  const next = root.querySelector("[data-testid=next]");
  next.addEventListener("click", async () => {
    if (wants("recordScreen") && !media.screenStream()) return shareScreen(); // stopped meanwhile
    if (policy().require_fullscreen) requestFullscreen();
    next.disabled = true;
    showError(root, null);
    try {
      if (view.session.state === "enrolled") {
        view.session = await api.setState(view.session.id, "running");
      }
      view = await api.getView(); // now with its clock running
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
      const fresh = await api.getView();
      view.session = fresh.session;
      examRunner.setClock(fresh.clock);
      applyState(view.session.state, view.session.end_reason);
    } catch {
      // offline: the socket's state messages will tell us when it is back
    }
  };
  const examRunner = runExam(root, {
    view,
    refresh,
    onEnded: (session) => finish(session.state, session.end_reason),
    beforeSubmit: (options) => waitForRecording(root, options),
    submitAborted: () => startRecording(proctoring),
  });
  const proctoring = startProctoring({
    token: api.token,
    sessionId: view.session.id,
    policy: policy(),
    root,
    recordsScreen: wants("recordScreen"),
    handlers: {
      hello(message) {
        examRunner.setClock(message.clock);
        applyState(message.state);
      },
      state(message) {
        examRunner.setClock(message.clock);
        applyState(message.state, message.reason);
      },
      // Another tab took over: it records from now on (it waits for this one to let go).
      ended: (code) => (code === 4408 ? recording.stopRecorders() : refresh()),
      cameraRestored: () => startRecording(proctoring),
    },
  });
  running = { examRunner, proctoring };
  showRecordingStatus(root.querySelector(".rec-status"));
  startRecording(proctoring);

  function applyState(state, reason) {
    if (ENDED.has(state)) return finish(state, reason);
    const wasPaused = paused;
    paused = state === "paused";
    root.dataset.testid = paused ? "exam-paused" : "exam-running";
    // Nothing to answer behind the pause notice, by mouse or keyboard; the proctor panel stays
    // usable above it, so a paused candidate can still ask why.
    root.querySelector(".exam-main").inert = paused;
    root.classList.toggle("paused", paused);
    proctoring.setPaused(paused);
    // Resumed: answers changed while paused need saving (the moved deadline came with it).
    if (wasPaused && !paused) examRunner.retrySaving();
  }
  applyState(view.session.state);
}

// Starts (or restarts, in a new part) the recorders the exam asks for. A screen that is not
// shared any more (stopped, or lost in a reload) raises the banner and tells the proctor.
const watchedScreens = new WeakSet();

async function startRecording(proctoring) {
  const screenBanner = $("banner-screen");
  const screenLost = () => {
    if (!running) return;
    screenBanner.hidden = false;
    proctoring.signal("screen_share_stopped");
  };
  const startScreen = async () => {
    const track = media.screenStream().getVideoTracks()[0];
    if (!watchedScreens.has(track)) track.addEventListener("ended", screenLost, { once: true });
    watchedScreens.add(track);
    if (!recording.recorders.screen?.recording) await recording.startScreen();
  };
  $("screen-restart").onclick = async () => {
    const text = screenBanner.querySelector(".banner-text");
    try {
      await media.openScreen();
      await startScreen();
      proctoring.mediaChanged();
      screenBanner.hidden = true;
      text.textContent = "Your screen is no longer shared. This exam needs your whole screen to be shared until you submit.";
      proctoring.signal("screen_share_started");
    } catch (error) {
      text.textContent = error.message;
    }
  };
  try {
    if (wants("recordWebcam")) await recording.startWebcam();
    if (wants("recordScreen")) {
      if (media.screenStream()) await startScreen();
      else screenLost(); // after a reload: sharing needs a click, so ask for it
    }
  } catch (error) {
    console.error("recording could not start", error);
  }
}

// "Recording · all sent" in the side panel while the exam runs.
function showRecordingStatus(element) {
  if (!wants("recordWebcam") && !wants("recordScreen")) return;
  element.hidden = false;
  const text = element.querySelector(".rec-text");
  const stop = recording.onProgress((progress) => {
    if (!element.isConnected) return stop();
    const live = recording.recordingKinds.length > 0;
    element.dataset.state = progress.serverFull ? "server-full" : !live ? "off" : progress.pending > 2 ? "behind" : "on";
    const what = !live ? "Not recording right now" : "Recording";
    text.textContent = progress.serverFull
      ? `${what} · ${SERVER_FULL_TEXT}.`
      : progress.pending > 2
        ? `${what} · ${progress.pending} parts waiting to be sent`
        : `${what} · sent as you go`;
  });
}

// Submitting waits until the recording is sent, so it is complete when the exam is reviewed;
// the candidate may submit anyway (then the ended page finishes the sending). When time is up
// it does not wait.
async function waitForRecording(root, { automatic, signal }) {
  await recording.stopRecorders();
  if (automatic || signal.aborted) return;
  const drained = recording.drained();
  const quick = await Promise.race([drained.then(() => true), sleep(400).then(() => false)]);
  if (quick) return;
  const dialog = root.querySelector(".submit-wait");
  const stop = showProgress(dialog, recording);
  const anyway = dialog.querySelector("[data-testid=submit-anyway]");
  const keep = (event) => event.preventDefault(); // Escape must not hide it
  dialog.addEventListener("cancel", keep);
  dialog.showModal();
  await Promise.race([
    drained,
    new Promise((resolve) => (anyway.onclick = resolve)),
    new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true })),
  ]);
  stop();
  dialog.removeEventListener("cancel", keep);
  dialog.close();
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function finish(state, reason) {
  if (running) {
    running.examRunner.stop();
    running.proctoring.stop();
    running = null;
  }
  ended(state, reason);
}

async function ended(state, reason) {
  document.getElementById("toasts").replaceChildren();
  $("banner-screen").hidden = true;
  const root = mount(state, "done");
  const reasonLine = root.querySelector(".end-reason");
  if (reasonLine && reason) {
    reasonLine.hidden = false;
    reasonLine.querySelector("span").textContent = reason;
  }
  // An exam run by another system (an LMS, a hiring platform) may want the candidate back.
  const back = root.querySelector("[data-testid=return-link]");
  if (back && view?.return_url) {
    back.href = view.return_url;
    back.hidden = false;
  }
  await recording?.end(); // the last chunks are stored before the devices go off
  media.stopAll();
  if (recording) followUploads(recording);
}

// On the ended page: the sending's progress, and a warning before closing the tab too early.
function followUploads(sessionRecording) {
  const card = $("uploads");
  showProgress(card, sessionRecording);
  const warn = (event) => event.preventDefault();
  sessionRecording.onProgress((progress) => {
    const sending = progress.pending > 0 && !progress.closed;
    if (sending) card.hidden = false;
    take.dataset.uploading = sending ? "yes" : "no";
    if (sending) addEventListener("beforeunload", warn);
    else removeEventListener("beforeunload", warn);
  });
}

// The exam could not be opened (closed, or offline): still send what this browser holds.
async function resumeLeftovers() {
  const sessionId = take.dataset.sessionId;
  if (!sessionId) return;
  recording = await new SessionRecording(sessionId).prepare().catch(() => null);
  if (recording) {
    recording.uploader.finish();
    followUploads(recording);
  }
}

function problem(message = "Something unexpected happened.") {
  const root = mount("problem", "none");
  root.querySelector(".problem-text").textContent = message;
  root.querySelector("[data-testid=next]").addEventListener("click", () => location.reload());
}

load();
