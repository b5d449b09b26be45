// The lobby at the top of the wall: candidates waiting for a proctor, each with their reference
// photo, their live enrolment face, the distance between them and why they wait (and, when
// the exam asks for an ID, the ID shown: its image, its portrait's distance to the live face
// and the name read from it), and admit /
// reject (with a reason) / ask to retry. The list is fetched from /api/v1/exams/{id}/lobby
// when the page loads and whenever the wall socket says the lobby changed ("lobby" messages).
import { getJson, sendJson } from "../lib/http.js";

const ACTIONS = [
  { action: "admit", label: "Admit", tone: "" },
  { action: "retry", label: "Ask to retry", tone: "secondary" },
  { action: "reject", label: "Reject", tone: "danger" },
];

export class Lobby {
  constructor(root, examId) {
    this.root = root;
    this.examId = examId;
    this.list = root.querySelector("[data-testid=lobby-list]");
    this.alert = root.querySelector("[data-testid=lobby-alert]");
    this.seen = null; // session ids shown so far (null before the first load)
    this.loading = null;
  }

  // Fetches the list again; `news` (a "lobby" message) is said aloud when someone starts to wait.
  async refresh(news = null) {
    if (news?.admission === "waiting") {
      this.alert.textContent = `${news.candidate_name} is waiting in the lobby: ${news.reason ?? ""}`;
    }
    const entries = await getJson(`/api/v1/exams/${this.examId}/lobby`).catch(() => null);
    if (entries) this.render(entries);
  }

  render(entries) {
    const fresh = new Set(entries.map((entry) => entry.session_id));
    this.list.replaceChildren(...entries.map((entry) => this.entry(entry, this.seen && !this.seen.has(entry.session_id))));
    this.seen = fresh;
    this.root.hidden = entries.length === 0;
    this.root.querySelector(".lobby-count").textContent = `${entries.length} waiting`;
  }

  entry(entry, isNew) {
    const item = element("li", "lobby-entry");
    item.dataset.sessionId = entry.session_id;
    item.dataset.testid = "lobby-entry";
    if (isNew) item.classList.add("fresh");
    const head = element("div", "lobby-head");
    head.append(element("strong", "", entry.candidate_name), element("span", "meta", entry.candidate_email));
    const faces = element("div", "lobby-faces");
    faces.append(
      figure(entry.reference_url, "Reference photo", "No reference photo", "lobby-reference"),
      figure(entry.live_url, "Live face at enrolment", "No enrolment photo", "lobby-live"),
    );
    const checkin = entry.checkin;
    const id = checkin.id_document;
    if (id) faces.append(figure(id.image_url, "ID shown", "No ID image", "lobby-id"));
    const facts = element("dl", "lobby-facts");
    const fact = (term, value, testid) => {
      if (value === null || value === undefined || value === "") return;
      const dd = element("dd", "", String(value));
      if (testid) dd.dataset.testid = testid;
      facts.append(element("dt", "", term), dd);
    };
    fact("Distance", checkin.reference_distance !== null
      ? `${checkin.reference_distance.toFixed(2)} (same person at ≤ ${checkin.threshold?.toFixed(2)})` : null, "lobby-distance");
    fact("Why waiting", checkin.reason, "lobby-reason");
    fact("Refused photos", checkin.failed_attempts || null);
    if (id) {
      fact("ID photo to live face", id.distance !== null
        ? `${id.distance.toFixed(2)} (same person at ≤ ${id.max_distance.toFixed(2)}): ${id.face_matched ? "matches" : "does not match"}`
        : id.face_found ? "nothing to compare with" : "no photo found on the ID", "lobby-id-distance");
      fact("Name on the ID", id.name_matched
        ? `found: ${id.name_lines.join(" / ")}`
        : `not found; read: ${id.lines.join(" / ") || "no text"}`, "lobby-id-name");
    }
    const reason = element("input", "lobby-note");
    reason.type = "text";
    reason.maxLength = 500;
    reason.placeholder = "Reason or note for the candidate (needed to reject)";
    reason.setAttribute("aria-label", `Reason for ${entry.candidate_name}`);
    reason.dataset.testid = "lobby-note";
    const status = element("p", "meta lobby-status");
    status.setAttribute("role", "status");
    const actions = element("div", "action-row");
    for (const { action, label, tone } of ACTIONS) {
      const button = element("button", tone ? `small ${tone}` : "small", label);
      button.type = "button";
      button.dataset.testid = `lobby-${action}`;
      button.addEventListener("click", () => this.decide(entry, action, reason, status, actions));
      actions.append(button);
    }
    item.append(head, faces, facts, reason, actions, status);
    return item;
  }

  async decide(entry, action, reason, status, actions) {
    const note = reason.value.trim();
    if (action === "reject" && !note) {
      status.textContent = "Write the reason first: the candidate sees it.";
      reason.focus();
      return;
    }
    for (const button of actions.children) button.disabled = true;
    try {
      await sendJson("POST", `/api/v1/sessions/${entry.session_id}/${action}`, { reason: note });
      await this.refresh();
    } catch (error) {
      status.textContent = `Not done: ${error.message}`;
      for (const button of actions.children) button.disabled = false;
    }
  }
}

function element(tag, className = "", text = null) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== null) node.textContent = text;
  return node;
}

function figure(url, caption, missing, className) {
  const node = element("figure", className);
  if (url) {
    const image = element("img");
    image.src = url;
    image.alt = caption;
    node.append(image);
  } else {
    node.append(element("div", "lobby-missing", missing));
  }
  node.append(element("figcaption", "meta", caption));
  return node;
}
