// The built-in questions as the candidate sees them (GET /api/v1/take/{token}: exam.questions,
// already in the candidate's order): one radio group per single-choice question, checkboxes for
// a multiple-choice one. Answers are keyed by the question's index in the exam and give the
// choices' indices, whatever order they are shown in. The admin's preview renders the same.

// Whether `answer` (a choice index, or a list of them) answers the question.
export const isAnswered = (answer) =>
  answer !== undefined && !(Array.isArray(answer) && answer.length === 0);

export function renderQuestions(form, questions, answers, onChange) {
  form.hidden = false;
  form.replaceChildren();
  questions.forEach((question, position) => {
    const key = String(question.index);
    const fieldset = document.createElement("fieldset");
    fieldset.className = "question";
    const legend = document.createElement("legend");
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = `Question ${position + 1} of ${questions.length}`
      + (question.multiple ? " · tick every correct answer" : "");
    const prompt = document.createElement("p");
    prompt.className = "prompt";
    prompt.textContent = question.prompt;
    legend.append(meta, prompt);
    fieldset.append(legend);
    const given = answers[key];
    const ticked = () => [...fieldset.querySelectorAll("input:checked")]
      .map((input) => Number(input.value)).sort((a, b) => a - b);
    question.choices.forEach((choice) => {
      const label = document.createElement("label");
      label.className = "choice";
      const input = document.createElement("input");
      input.type = question.multiple ? "checkbox" : "radio";
      input.name = `q${question.index}`;
      input.value = String(choice.index);
      input.dataset.testid = `choice-${question.index}-${choice.index}`;
      input.checked = question.multiple
        ? Array.isArray(given) && given.includes(choice.index)
        : given === choice.index;
      input.addEventListener("change", () =>
        onChange(key, question.multiple ? ticked() : choice.index));
      const text = document.createElement("span");
      text.textContent = choice.text;
      label.append(input, text);
      fieldset.append(label);
    });
    form.append(fieldset);
  });
}
