// The alert feed: one item per violation, newest first, with its evidence picture.
import { clock, duration, el } from "../lib/format.js";
import { violationLabel } from "../lib/vocabulary.js";

const MAX_ALERTS = 150;

// The alert arrives the moment the violation is written; its picture follows in an update
// once it is stored (or with the reason it could not be).
function evidence(violation) {
  if (violation.evidence_url) {
    return el("img", { className: "evidence", src: violation.evidence_url, alt: "Evidence", dataset: { testid: "alert-evidence" } });
  }
  const text = violation.evidence_error ? "picture not stored" : "no picture";
  return el("span", {
    className: "evidence none", textContent: text,
    title: violation.evidence_error ? `Evidence could not be stored: ${violation.evidence_error}` : "",
    dataset: { testid: "alert-no-evidence" },
  });
}

export class AlertFeed {
  constructor(root, { nameOf, select }) {
    this.root = root;
    this.nameOf = nameOf; // session id -> candidate name
    this.select = select;
    this.items = new Map(); // violation id -> element
  }

  // Adds or updates one violation; `fresh` marks one that just opened (highlighted).
  show(violation, { fresh = false } = {}) {
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
    }
    while (this.items.size > MAX_ALERTS) {
      const oldest = this.root.lastElementChild;
      this.items.delete(oldest.dataset.violationId);
      oldest.remove();
    }
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
    item.append(evidence(violation));
    item.append(el("div", { className: "alert-body" },
      el("div", { className: "alert-line" },
        el("strong", { className: "alert-kind" }),
        el("span", { className: "severity" })),
      el("div", { className: "alert-who" }),
      el("div", { className: "alert-when meta" })));
    const open = () => this.select(violation.session_id);
    item.addEventListener("click", open);
    item.addEventListener("keydown", (event) => event.key === "Enter" && open());
    return item;
  }

  render(item, violation) {
    item.dataset.severity = violation.severity;
    item.dataset.open = violation.ended_at ? "no" : "yes";
    item.querySelector(".alert-kind").textContent = violationLabel(violation);
    item.querySelector(".severity").textContent = violation.severity;
    item.querySelector(".alert-who").textContent = this.nameOf(violation.session_id) ?? "Candidate";
    item.querySelector(".alert-when").textContent = violation.ended_at
      ? `${clock(violation.started_at)} · lasted ${duration(violation.started_at, violation.ended_at)}`
      : `${clock(violation.started_at)} · ongoing`;
    const placeholder = item.querySelector(".evidence.none");
    if (placeholder && (violation.evidence_url || violation.evidence_error)) placeholder.replaceWith(evidence(violation));
  }

  renameAll() {
    for (const item of this.items.values()) {
      item.querySelector(".alert-who").textContent = this.nameOf(item.dataset.sessionId) ?? "Candidate";
    }
  }
}
