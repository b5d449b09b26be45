// The violation vocabulary of every page: kind labels and final states come from the server
// (openproctor/live/messages.py VOCABULARY, rendered into each page by base.html), never copied.
const VOCABULARY = JSON.parse(document.getElementById("live-vocabulary").textContent);

// "prohibited_object:cell phone" (an open violation with its label) reads "Prohibited object: cell phone".
export function kindLabel(kind) {
  const [base, label] = kind.split(/:(.*)/s);
  const name = VOCABULARY.kinds[base] ?? base.replaceAll("_", " ");
  return label ? `${name}: ${label}` : name;
}

export const violationLabel = (violation) =>
  violation.label ? `${kindLabel(violation.kind)}: ${violation.label}` : kindLabel(violation.kind);

export const FINAL_STATES = new Set(VOCABULARY.final_states);

// The wall tile's words (openproctor/live/tile.py): where a candidate is, and whether their
// camera is analysed now.
export const STAGES = VOCABULARY.stages;
export const stageLabel = (stage) => VOCABULARY.stages[stage] ?? stage;
export const analysisLabel = (status) => VOCABULARY.analysis[status] ?? "";
