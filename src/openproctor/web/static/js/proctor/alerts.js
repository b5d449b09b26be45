// The alert feed: one item per violation, newest first, with its evidence picture, who handled
// it (or a button to mark it handled) and the count of alerts nobody handled yet.
import { clock, duration, el } from "../lib/format.js";
import { sendJson } from "../lib/http.js";
import { pictureWhenLoaded } from "../lib/picture.js";
import { violationLabel } from "../lib/vocabulary.js";

const MAX_ALERTS = 150;

// What the evidence element shows, so an update replaces it only when that changed.
const evidenceState = (violation) => violation.evidence_url ?? (violation.evidence_error ? "error" : "none");

// The alert arrives the moment the violation is written; its picture follows in an update
// once it is stored (or with the reason it could not be), and shows once the browser loaded it.
function evidence(violation) {
  const evidence = evidenceState(violation);
  if (violation.evidence_url) {
    return pictureWhenLoaded(
      violation.evidence_url,
      { className: "evidence", alt: `Evidence: ${violationLabel(violation)}`, dataset: { testid: "alert-evidence", evidence } },
      { className: "evidence none", dataset: { testid: "alert-no-evidence", evidence } },
    );
  }
  return el("span", {
    className: "evidence none", textContent: violation.evidence_error ? "picture not stored" : "no picture",
    title: violation.evidence_error ? `Evidence could not be stored: ${violation.evidence_error}` : "",
    dataset: { testid: "alert-no-evidence", evidence },
  });
}

export class AlertFeed {
  // hooks: {nameOf(sessionId) -> candidate name, select(sessionId), signals: AlertSignals};
  // `unhandled` is the element that says how many alerts nobody handled.
  constructor(root, unhandled, { nameOf, select, signals }) {
    this.root = root;
    this.unhandled = unhandled;
    this.nameOf = nameOf;
    this.select = select;
    this.signals = signals;
    this.items = new Map(); // violation id -> element
    this.violations = new Map(); // violation id -> the newest violation JSON, handled kept
  }

  // Adds or updates one violation; `fresh` marks one that just opened (highlighted, and a
  // HIGH one signalled).
  show(violation, { fresh = false } = {}) {
    const before = this.violations.get(violation.id);
    // The live events carry no handler: a handled alert stays handled.
    if (before?.handled_at && !violation.handled_at) {
      violation = { ...violation, handled_at: before.handled_at, handled_by_name: before.handled_by_name };
    }
    this.violations.set(violation.id, violation);
    let item = this.items.get(violation.id);
    if (!item) {
      item = this.build(violation);
      this.items.set(violation.id, item);
      this.insert(item, violation.started_at);
      this.root.querySelector(".empty")?.remove();
    }
    this.render(item, violation);
    if (fresh) {
      item.classList.add("fresh");
      setTimeout(() => item.classList.remove("fresh"), 8000);
      if (violation.severity === "high" && !violation.handled_at) {
        const who = this.nameOf(violation.session_id) ?? violation.candidate_name ?? "A candidate";
        this.signals.arrived(`High alert: ${violationLabel(violation)}`, who, violation.id);
      }
    }
    while (this.items.size > MAX_ALERTS) {
      const oldest = this.root.lastElementChild;
      this.items.delete(oldest.dataset.violationId);
      this.violations.delete(oldest.dataset.violationId);
      oldest.remove();
    }
    this.count();
  }

  insert(item, startedAt) {
    const at = Date.parse(startedAt);
    const later = [...this.root.children].find((other) => Number(other.dataset.at) < at);
    this.root.insertBefore(item, later ?? null);
    item.dataset.at = String(at);
  }

  build(violation) {
    const item = el("li", {
      className: "alert", tabIndex: 0,
      dataset: { testid: "alert", kind: violation.kind, violationId: violation.id, sessionId: violation.session_id },
    });
    const handle = el("button", { type: "button", className: "secondary small alert-handle", textContent: "Mark handled", dataset: { testid: "alert-handle" } });
    handle.addEventListener("click", (event) => {
      event.stopPropagation(); // handling is not opening the candidate
      this.handle(item, handle);
    });
    handle.addEventListener("keydown", (event) => event.stopPropagation());
    item.append(evidence(violation));
    item.append(el("div", { className: "alert-body" },
      el("div", { className: "alert-line" },
        el("strong", { className: "alert-kind" }),
        el("span", { className: "severity" })),
      el("div", { className: "alert-who" }),
      el("div", { className: "alert-when meta" }),
      el("div", { className: "alert-handling" },
        handle,
        el("span", { className: "alert-handled meta", dataset: { testid: "alert-handled" } }))));
    const open = () => this.select(violation.session_id);
    item.addEventListener("click", open);
    item.addEventListener("keydown", (event) => event.key === "Enter" && open());
    return item;
  }

  render(item, violation) {
    item.dataset.severity = violation.severity;
    item.dataset.open = violation.ended_at ? "no" : "yes";
    item.dataset.handled = violation.handled_at ? "yes" : "no";
    item.querySelector(".alert-kind").textContent = violationLabel(violation);
    item.querySelector(".severity").textContent = violation.severity;
    item.querySelector(".alert-who").textContent = this.nameOf(violation.session_id) ?? "Candidate";
    item.querySelector(".alert-when").textContent = violation.ended_at
      ? `${clock(violation.started_at)} · lasted ${duration(violation.started_at, violation.ended_at)}`
      : `${clock(violation.started_at)} · ongoing`;
    const handle = item.querySelector(".alert-handle");
    const handled = item.querySelector(".alert-handled");
    handle.hidden = Boolean(violation.handled_at);
    if (violation.handled_at) {
      handled.textContent = `Handled by ${violation.handled_by_name ?? "a former staff member"} at ${clock(violation.handled_at)}`;
    }
    handle.ariaLabel = `Mark handled: ${violationLabel(violation)}, ${this.nameOf(violation.session_id) ?? "candidate"}`;
    const shown = item.firstElementChild;
    const state = evidenceState(violation);
    if (shown.dataset.evidence !== state && state !== "none") shown.replaceWith(evidence(violation));
  }

  async handle(item, button) {
    button.disabled = true;
    const handled = item.querySelector(".alert-handled");
    try {
      this.show(await sendJson("POST", `/api/v1/violations/${item.dataset.violationId}/handled`));
      item.focus(); // the button went away: keep the keyboard where it was
    } catch (error) {
      handled.textContent = `Not marked: ${error.message}`;
    } finally {
      button.disabled = false;
    }
  }

  count() {
    const open = [...this.violations.values()].filter((violation) => !violation.handled_at);
    this.unhandled.textContent = open.length ? `${open.length} not handled` : this.violations.size ? "all handled" : "";
    this.unhandled.dataset.count = String(open.length);
    this.signals.count(open.filter((violation) => violation.severity === "high").length);
  }

  renameAll() {
    for (const item of this.items.values()) {
      item.querySelector(".alert-who").textContent = this.nameOf(item.dataset.sessionId) ?? "Candidate";
    }
  }
}
