// The violation vocabulary of the wall and the review page: kind labels, risk levels, final states.
const KIND_LABELS = {
  no_face: "No face",
  multiple_faces: "Several faces",
  identity_mismatch: "Different person",
  prohibited_object: "Prohibited object",
  extra_person: "Extra person",
  looking_away: "Looking away",
  eyes_closed: "Eyes closed",
  speech: "Speech",
  tab_switch: "Left the tab",
  fullscreen_exit: "Left fullscreen",
  copy_paste: "Copy / paste",
  multiple_screens: "Several screens",
  camera_off: "Camera off",
  camera_covered: "Camera covered",
  frozen_video: "Frozen video",
  connection_lost: "Connection lost",
  screen_share_stopped: "Screen share stopped",
};

// "prohibited_object:cell phone" (an open violation with its label) reads "Prohibited object: cell phone".
export function kindLabel(kind) {
  const [base, label] = kind.split(/:(.*)/s);
  const name = KIND_LABELS[base] ?? base.replaceAll("_", " ");
  return label ? `${name}: ${label}` : name;
}

export const violationLabel = (violation) =>
  violation.label ? `${kindLabel(violation.kind)}: ${violation.label}` : kindLabel(violation.kind);

export function riskLevel(score) {
  if (score >= 60) return "high";
  if (score >= 30) return "medium";
  return "low";
}

export const FINAL_STATES = new Set(["submitted", "terminated", "expired"]);
