// The running exam: questions (or the external exam in a frame), answers saved on every
// change with retries, the countdown, and submission (by the candidate or when time is up).
import * as api from "./api.js";

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

function renderQuestions(form, questions, answers, onChange) {
  form.hidden = false;
  questions.forEach((question, index) => {
    const fieldset = document.createElement("fieldset");
    fieldset.className = "question";
    const legend = document.createElement("legend");
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = `Question ${index + 1} of ${questions.length}`;
    legend.append(meta);
    const prompt = document.createElement("p");
    prompt.className = "prompt";
    prompt.textContent = question.prompt;
    legend.append(prompt);
    fieldset.append(legend);
    question.choices.forEach((choice, choiceIndex) => {
      const label = document.createElement("label");
      label.className = "choice";
      const input = document.createElement("input");
      input.type = "radio";
      input.name = `q${index}`;
      input.value = String(choiceIndex);
      input.dataset.testid = `choice-${index}-${choiceIndex}`;
      input.checked = answers[String(index)] === choiceIndex;
      input.addEventListener("change", () => onChange(String(index), choiceIndex));
      const text = document.createElement("span");
      text.textContent = choice;
      label.append(input, text);
      fieldset.append(label);
    });
    form.append(fieldset);
  });
}

// An instant as milliseconds: ISO 8601 text, or epoch seconds (or milliseconds) as a number.
function instant(value) {
  if (typeof value === "number") return value < 1e12 ? value * 1000 : value;
  const parsed = Date.parse(value ?? "");
  return Number.isNaN(parsed) ? null : parsed;
}

function formatLeft(ms) {
  const total = Math.max(Math.round(ms / 1000), 0);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

// Runs the exam in `root` (a mounted #step-exam). `onEnded(session)` is called with the
// session once it is submitted; `refresh()` asks the page to reload the state from the server.
// `beforeSubmit({automatic, signal})` runs before submitting (the recording is sent first);
// `signal` aborts when time runs out meanwhile. `submitAborted()` runs when the exam carries
// on after all (the submission was refused).
export function runExam(root, {
  view, onEnded, refresh, isPaused, beforeSubmit = async () => {}, submitAborted = () => {},
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
  const saver = new AnswerSaver(sessionId, answers, status, refresh);

  const showProgress = () => {
    if (!questions.length) return;
    const answered = questions.filter((_, i) => answers[String(i)] !== undefined).length;
    const left = questions.length - answered;
    progress.textContent = left
      ? `${answered} of ${questions.length} answered; ${left} still open.`
      : `All ${questions.length} questions answered.`;
  };

  if (exam.external_url) {
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
          submitButton.textContent = exam.external_url ? "I have finished" : "Submit my answers";
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
          submitButton.textContent = exam.external_url ? "I have finished" : "Submit my answers";
          submitError.textContent = `Submitting did not work (${error.message}). Please try again.`;
          submitAborted();
          return;
        }
        await sleep(3000);
      }
    }
  }
  submitButton.addEventListener("click", () => send());

  // The countdown, against the server's clock; submits when it reaches zero.
  let endsAt = instant(view.ends_at);
  if (endsAt === null && view.session.started_at) {
    endsAt = instant(view.session.started_at) + exam.duration_minutes * 60000;
  }
  let announced = 0;
  const tick = () => {
    if (endsAt === null) return;
    const left = endsAt - api.serverNow();
    timer.textContent = formatLeft(left);
    timer.dataset.level = left <= 60000 ? "critical" : left <= 300000 ? "low" : "";
    const minutes = left <= 60000 ? 1 : left <= 300000 ? 5 : 0;
    if (minutes && announced !== minutes) {
      announced = minutes;
      timer.setAttribute("aria-label", `${minutes} minute${minutes > 1 ? "s" : ""} left`);
    }
    if (left <= 0 && !isPaused()) send({ automatic: true });
  };
  tick();
  const clock = setInterval(tick, 500);

  function stop() {
    clearInterval(clock);
  }

  return {
    setEndsAt(value) {
      endsAt = instant(value) ?? endsAt;
      tick();
    },
    retrySaving() {
      if (saver.pending) saver.run();
    },
    stop,
  };
}
