// Labels and formats shared by the proctor wall's parts.
// Kind labels and final states come from the server (openproctor/live/messages.py VOCABULARY,
// rendered into every page by base.html): the pages keep no copy of their own.
const VOCABULARY = JSON.parse(document.getElementById("live-vocabulary").textContent);

// "prohibited_object:cell phone" (an open violation with its label) reads "Prohibited object: cell phone".
export function kindLabel(kind) {
  const [base, label] = kind.split(/:(.*)/s);
  const name = VOCABULARY.kinds[base] ?? base.replaceAll("_", " ");
  return label ? `${name}: ${label}` : name;
}

export const violationLabel = (violation) =>
  violation.label ? `${kindLabel(violation.kind)}: ${violation.label}` : kindLabel(violation.kind);

export function riskLevel(score) {
  if (score >= 60) return "high";
  if (score >= 30) return "medium";
  return "low";
}

export const clock = (iso) =>
  new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });

export function duration(startIso, endIso) {
  const seconds = Math.max(Math.round((Date.parse(endIso) - Date.parse(startIso)) / 1000), 0);
  if (seconds < 60) return `${seconds} s`;
  return seconds % 60 ? `${Math.floor(seconds / 60)} min ${seconds % 60} s` : `${seconds / 60} min`;
}

export const FINAL_STATES = new Set(VOCABULARY.final_states);

// A small element helper: el("span", {className: "x", textContent: "y"}, child...).
export function el(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "dataset") Object.assign(element.dataset, value);
    else if (key in element) element[key] = value;
    else element.setAttribute(key, value);
  }
  element.append(...children.filter((child) => child !== null && child !== undefined));
  return element;
}
