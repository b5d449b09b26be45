// The running exam: questions (or the external exam in a frame), answers saved on every
// change with retries, the countdown, and submission (by the candidate or when time is up).
import * as api from "./api.js";
import { isAnswered, renderQuestions } from "./questions.js";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Saves the whole answer sheet after each change; keeps retrying while offline.
class AnswerSaver {
  constructor(sessionId, answers, status, onConflict) {
    this.sessionId = sessionId;
    this.answers = answers;
    this.status = status;
    this.onConflict = onConflict;
    this.version = 0;
    this.savedVersion = 0;
    this.saving = false;
    this.wake = null;
    addEventListener("online", () => this.wake?.());
  }

  set(question, choice) {
    this.answers[question] = choice;
    this.version += 1;
    this.run();
  }

  show(state, text) {
    this.status.dataset.state = state;
    this.status.textContent = text;
  }

  async run() {
    if (this.saving) return;
    this.saving = true;
    let retryMs = 1000;
    while (this.savedVersion < this.version) {
      const version = this.version;
      this.show("saving", "Saving…");
      try {
        await api.saveAnswers(this.sessionId, { ...this.answers });
        this.savedVersion = version;
        retryMs = 1000;
      } catch (error) {
        if (error.status === 409) {
          // The session is not running any more (paused or ended): let the page catch up.
          this.show("offline", "Your answers are kept on this page and will be saved when the exam continues.");
          this.saving = false;
          this.onConflict();
          return;
        }
        this.show("offline", !navigator.onLine
          ? "You are offline. Keep working: your answers are kept on this page and saved when you are back."
          : error.status === 0
            ? "We cannot reach the exam server right now. Keep working: your answers are kept on this page and saved as soon as it is back."
            : "Saving did not work yet; trying again. Your answers are kept on this page.");
        await Promise.race([sleep(retryMs), new Promise((resolve) => (this.wake = resolve))]);
        retryMs = Math.min(retryMs * 2, 15000);
      }
    }
    this.show("saved", "All answers saved.");
    this.saving = false;
  }

  get pending() {
    return this.savedVersion < this.version;
  }
}

function formatLeft(ms) {
  const total = Math.max(Math.round(ms / 1000), 0);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

// Asks before a submission the candidate started: names the questions still unanswered
// (jumping back to the first one on "Keep working"). Resolves true to submit.
function confirmSubmit(dialog, { questions, answers, external }) {
  const open = questions
    .map((question, position) => ({ question, position }))
    .filter(({ question }) => !isAnswered(answers[String(question.index)]));
  const list = dialog.querySelector(".unanswered");
  list.replaceChildren(...open.map(({ question, position }) => {
    const item = document.createElement("li");
    item.textContent = `Question ${position + 1}: ${question.prompt}`;
    return item;
  }));
  list.hidden = !open.length;
  dialog.querySelector("h2").textContent = open.length
    ? `${open.length} of ${questions.length} question${questions.length > 1 ? "s" : ""} ${open.length > 1 ? "are" : "is"} not answered`
    : external ? "Have you finished the exam?" : "Submit your answers?";
  dialog.querySelector(".confirm-text").textContent = open.length
    ? `If you submit now, ${open.length > 1 ? "these questions count" : "this question counts"} as unanswered:`
    : external
      ? "Submit only once you have finished the exam in the frame: you cannot go back to it afterwards."
      : `All ${questions.length} questions are answered. You cannot change your answers after submitting.`;
  dialog.querySelector("[data-testid=submit-confirm]").textContent = open.length ? "Submit anyway" : "Submit";
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      const submit = dialog.returnValue === "submit";
      if (!submit && open.length) {
        document.querySelector(`input[name=q${open[0].question.index}]`)?.focus();
      }
      resolve(submit);
    }, { once: true });
  });
}

// Runs the exam in `root` (a mounted #step-exam). `onEnded(session)` is called with the
// session once it is submitted; `refresh()` asks the page to reload the state from the server.
// `beforeSubmit({automatic, signal})` runs before submitting (the recording is sent first);
// `signal` aborts when time runs out meanwhile. `submitAborted()` runs when the exam carries
// on after all (the submission was refused).
export function runExam(root, {
  view, onEnded, refresh, beforeSubmit = async () => {}, submitAborted = () => {},
}) {
  const exam = view.exam;
  const sessionId = view.session.id;
  const answers = { ...(view.answers ?? {}) };
  const questions = exam.questions ?? [];
  const status = root.querySelector(".save-status");
  const progress = root.querySelector(".progress");
  const submitButton = root.querySelector("[data-testid=submit]");
  const submitError = root.querySelector(".submit-error");
  const timer = root.querySelector(".timer");
  const clockNote = root.querySelector(".clock-note");
  const confirmDialog = root.querySelector("[data-testid=submit-confirm-dialog]");
  const saver = new AnswerSaver(sessionId, answers, status, refresh);

  const showProgress = () => {
    if (!questions.length) return;
    const answered = questions.filter((q) => isAnswered(answers[String(q.index)])).length;
    const left = questions.length - answered;
    progress.textContent = left
      ? `${answered} of ${questions.length} answered; ${left} still open.`
      : `All ${questions.length} questions answered.`;
  };

  // The exam is elsewhere: on the course site that proctors it through us (LTI), or at its URL.
  const outside = Boolean(view.lti_assessment_url || exam.external_url);
  if (view.lti_assessment_url) {
    const handBack = root.querySelector(".lti-assessment");
    handBack.hidden = false;
    handBack.querySelector(".lti-assessment-link").href = view.lti_assessment_url;
    submitButton.textContent = "I have finished";
    status.hidden = true; // answers live on the course site
    progress.textContent = "Press this when you have finished the exam on your course site.";
  } else if (exam.external_url) {
    const external = root.querySelector(".external");
    external.hidden = false;
    external.querySelector(".external-frame").src = exam.external_url;
    external.querySelector(".external-link").href = exam.external_url;
    submitButton.textContent = "I have finished";
    status.hidden = true; // answers live in the external exam
    progress.textContent = "Press this when you have finished the exam in the frame.";
  } else {
    renderQuestions(root.querySelector(".questions"), questions, answers, (question, choice) => {
      saver.set(question, choice);
      showProgress();
    });
    showProgress();
  }

  let submitting = false;
  let waiting = null; // aborts beforeSubmit's wait when time runs out
  async function send({ automatic = false } = {}) {
    if (submitting) {
      if (automatic) waiting?.abort();
      return;
    }
    submitting = true;
    submitButton.disabled = true;
    submitButton.textContent = automatic ? "Time is up: submitting…" : "Submitting…";
    submitError.hidden = true;
    waiting = new AbortController();
    try {
      await beforeSubmit({ automatic, signal: waiting.signal });
    } catch (error) {
      console.error(error); // never keep the candidate from submitting
    }
    waiting = null;
    for (;;) {
      try {
        const session = await api.submit(sessionId, { ...answers });
        stop();
        onEnded(session);
        return;
      } catch (error) {
        if (error.status === 409) {
          submitting = false;
          submitButton.disabled = false;
          submitButton.textContent = outside ? "I have finished" : "Submit my answers";
          submitAborted();
          refresh(); // ended or paused meanwhile: the page shows what happened
          return;
        }
        submitError.hidden = false;
        submitError.textContent = error.status === 0
          ? "We could not reach the server. Your answers are safe on this page; we keep trying."
          : `Submitting did not work (${error.message}). We keep trying.`;
        if (!automatic && error.status !== 0 && error.status < 500) {
          submitting = false;
          submitButton.disabled = false;
          submitButton.textContent = outside ? "I have finished" : "Submit my answers";
          submitError.textContent = `Submitting did not work (${error.message}). Please try again.`;
          submitAborted();
          return;
        }
        await sleep(3000);
      }
    }
  }
  submitButton.addEventListener("click", async () => {
    if (submitting || confirmDialog.open) return;
    const confirmed = await confirmSubmit(confirmDialog, {
      questions, answers, external: outside,
    });
    if (confirmed) send();
  });

  // The countdown comes from the server's clock (CLOCK, live/protocol.py), from the view and
  // then from the socket: while it runs, the time left is its deadline minus the server's now;
  // while paused, it stands where the server says. Submits when it reaches zero.
  let clock = view.clock;
  let announced = 0;
  const timeLeft = () => (clock.paused ? clock.left_s * 1000 : Date.parse(clock.ends_at) - api.serverNow());
  const tick = () => {
    if (!clock?.ends_at) return;
    const left = timeLeft();
    timer.textContent = formatLeft(left);
    timer.dataset.paused = clock.paused ? "yes" : "no";
    if (clock.paused && confirmDialog.open) confirmDialog.close(); // nothing to submit while paused
    timer.dataset.level = left <= 60000 ? "critical" : left <= 300000 ? "low" : "";
    const minutes = left <= 60000 ? 1 : left <= 300000 ? 5 : 0;
    if (minutes && announced !== minutes) {
      announced = minutes;
      timer.setAttribute("aria-label", `${minutes} minute${minutes > 1 ? "s" : ""} left`);
    }
    if (left <= 0 && !clock.paused) {
      if (confirmDialog.open) confirmDialog.close();
      send({ automatic: true });
    }
  };
  tick();
  const ticking = setInterval(tick, 500);

  function stop() {
    clearInterval(ticking);
  }

  return {
    setClock(value) {
      if (!value) return;
      const added = value.extra_s - (clock?.extra_s ?? value.extra_s);
      if (added > 0) {
        const minutes = Math.round(added / 60);
        clockNote.textContent = `Your proctor gave you ${minutes} more minute${minutes === 1 ? "" : "s"}.`;
      }
      clock = value;
      tick();
    },
    retrySaving() {
      if (saver.pending) saver.run();
    },
    stop,
  };
}
