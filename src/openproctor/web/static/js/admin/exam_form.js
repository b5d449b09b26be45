// The exam form: the question editor (no JSON: it keeps the hidden `questions` field in the
// stored format, {prompt, kind, choices, answer, points}), its preview through the server's own
// candidate view of the questions, and the admin's browser time zone offered for a new exam.
import { client } from "../lib/http.js";
import { el } from "../lib/format.js";
import { renderQuestions } from "../take/questions.js";

const request = client({ base: "/admin" });
const form = document.getElementById("exam-form");
const data = form.querySelector("input[name=questions]");
const editor = form.querySelector(".question-editor");
const MIN_CHOICES = 2;
const MAX_CHOICES = 10;

// A stored question as the editor holds it: the correct choices always as a list.
function fromStored(question) {
  const multiple = question.kind === "multiple";
  return {
    prompt: question.prompt ?? "",
    multiple,
    choices: [...(question.choices ?? ["", ""])],
    correct: multiple ? [...question.answer] : [question.answer ?? 0],
    points: question.points ?? 1,
  };
}

function toStored(question) {
  return {
    prompt: question.prompt,
    kind: question.multiple ? "multiple" : "single",
    choices: question.choices,
    answer: question.multiple ? [...question.correct].sort((a, b) => a - b) : (question.correct[0] ?? 0),
    points: Number(question.points),
  };
}

let questions;
try {
  questions = JSON.parse(data.value || "[]").map(fromStored);
} catch {
  questions = [];
}

function save() {
  data.value = JSON.stringify(questions.map(toStored));
}

// Re-renders the editor and puts the focus on the first enabled control of `focusIds` (after a
// move, an added or a removed item), so keyboard users keep their place.
function render(...focusIds) {
  save();
  editor.replaceChildren(...questions.map(questionCard));
  if (!questions.length) {
    editor.append(el("p", { className: "hint", textContent: "No questions yet: add one, or give an external exam URL." }));
  }
  const target = focusIds.map((id) => document.getElementById(id)).find((found) => found && !found.disabled);
  target?.focus();
}

function button(text, label, onClick, id) {
  return el("button", { type: "button", className: "secondary small", textContent: text, ariaLabel: label, id, onclick: onClick });
}

function questionCard(question, index) {
  const number = index + 1;
  const id = `question-${index}`;
  const prompt = el("textarea", { id: `${id}-prompt`, rows: 2, value: question.prompt, required: true, oninput: (event) => { question.prompt = event.target.value; save(); } });
  const kind = el("select", { id: `${id}-kind`, onchange: (event) => {
    question.multiple = event.target.value === "multiple";
    question.correct = question.multiple ? question.correct : question.correct.slice(0, 1);
    render(`${id}-kind`);
  } },
  el("option", { value: "single", textContent: "One correct answer", selected: !question.multiple }),
  el("option", { value: "multiple", textContent: "Several correct answers (all or nothing)", selected: question.multiple }));
  const points = el("input", { id: `${id}-points`, type: "number", min: "0.5", max: "100", step: "0.5", value: String(question.points), required: true, oninput: (event) => { question.points = event.target.value; save(); } });

  const choices = el("ol", { className: "choice-list" }, ...question.choices.map((text, choice) => {
    const choiceId = `${id}-choice-${choice}`;
    const correct = el("input", {
      type: question.multiple ? "checkbox" : "radio",
      name: `${id}-correct`,
      ariaLabel: `Choice ${choice + 1} of question ${number} is correct`,
      id: `${choiceId}-correct`,
      checked: question.correct.includes(choice),
      onchange: (event) => {
        if (!question.multiple) question.correct = [choice];
        else if (event.target.checked) question.correct = [...question.correct, choice];
        else question.correct = question.correct.filter((c) => c !== choice);
        save();
      },
    });
    return el("li", { className: "choice-row" },
      el("input", { id: choiceId, value: text, ariaLabel: `Question ${number}, choice ${choice + 1}`, required: true, oninput: (event) => { question.choices[choice] = event.target.value; save(); } }),
      el("label", { className: "inline" }, correct, "Correct"),
      button("Remove", `Remove choice ${choice + 1} of question ${number}`, () => {
        question.choices.splice(choice, 1);
        question.correct = question.correct.filter((c) => c !== choice).map((c) => (c > choice ? c - 1 : c));
        if (!question.multiple && !question.correct.length) question.correct = [0];
        render(`${id}-add-choice`);
      }, `${choiceId}-remove`));
  }));
  for (const remove of choices.querySelectorAll("button")) remove.disabled = question.choices.length <= MIN_CHOICES;

  const move = (to) => () => {
    const [moved] = questions.splice(index, 1);
    questions.splice(to, 0, moved);
    const [same, other] = to < index ? ["up", "down"] : ["down", "up"];
    render(`question-${to}-${same}`, `question-${to}-${other}`);
  };
  const up = button("Move up", `Move up question ${number}`, move(index - 1), `${id}-up`);
  up.disabled = index === 0;
  const down = button("Move down", `Move down question ${number}`, move(index + 1), `${id}-down`);
  down.disabled = index === questions.length - 1;
  const addChoice = button("Add a choice", `Add a choice to question ${number}`, () => {
    question.choices.push("");
    render(`${id}-choice-${question.choices.length - 1}`);
  }, `${id}-add-choice`);
  addChoice.disabled = question.choices.length >= MAX_CHOICES;

  return el("fieldset", { className: "question-card", dataset: { testid: "question-card" } },
    el("legend", { textContent: `Question ${number}` }),
    el("label", { htmlFor: prompt.id, textContent: "Question" }), prompt,
    el("div", { className: "cols" },
      el("label", {}, "Answer type", kind),
      el("label", {}, "Points", points)),
    el("p", { className: "hint", textContent: question.multiple
      ? "Tick every correct choice: the candidate gets the points only when they tick exactly these."
      : "Mark the one correct choice." }),
    choices,
    el("div", { className: "row-actions" }, addChoice, up, down,
      button("Remove question", `Remove question ${number}`, () => {
        questions.splice(index, 1);
        render(questions.length ? `question-${Math.min(index, questions.length - 1)}-prompt` : "add-question");
      }, `${id}-remove`)));
}

const addQuestion = form.querySelector("[data-testid=add-question]");
addQuestion.id = "add-question";
addQuestion.addEventListener("click", () => {
  questions.push({ prompt: "", multiple: false, choices: ["", ""], correct: [0], points: 1 });
  render(`question-${questions.length - 1}-prompt`);
});

// The preview asks the server for the candidate's view of the questions as they stand (the
// same shuffling a candidate gets), and renders it with the candidate page's own code.
const previewButton = form.querySelector("[data-testid=preview-questions]");
const previewError = form.querySelector("[data-testid=preview-error]");
const preview = form.querySelector("[data-testid=question-preview]");
previewButton.addEventListener("click", async () => {
  previewError.hidden = true;
  try {
    const shown = await request("POST", "/exams/preview-questions", { json: {
      questions: questions.map(toStored),
      shuffle_questions: form.elements.shuffle_questions.checked,
      shuffle_choices: form.elements.shuffle_choices.checked,
    } });
    const answers = {};
    renderQuestions(preview.querySelector(".questions"), shown, answers, (key, value) => { answers[key] = value; });
    preview.hidden = false;
    preview.querySelector("h2").tabIndex = -1;
    preview.querySelector("h2").focus();
  } catch (error) {
    preview.hidden = true;
    previewError.textContent = `The questions cannot be shown yet: ${error.message}`;
    previewError.hidden = false;
  }
});

// A new exam starts in the admin's own time zone, when the server knows it.
const zone = form.elements.timezone;
const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
if (zone.hasAttribute("data-offer-browser-zone") && [...zone.options].some((o) => o.value === browserZone)) {
  zone.value = browserZone;
  // The server proposed "from now for a day" in UTC: the same instants on this zone's clock.
  const wallClock = (date) => new Date(date.getTime() - date.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  for (const name of ["opens_at", "closes_at"]) {
    const field = form.elements[name];
    field.value = wallClock(new Date(`${field.value}:00Z`));
  }
}
if (browserZone && browserZone !== zone.value) {
  form.querySelector(".browser-zone").textContent = ` Your browser's time zone is ${browserZone}.`;
}

render();
