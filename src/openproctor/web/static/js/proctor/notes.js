// Proctors' notes on the open candidate's attempt: written here, pushed to every wall watching
// the exam (a "note" message), kept with the session for the review. The candidate never sees
// them.
import { clock, el } from "../lib/format.js";
import { getAllJson, sendJson } from "../lib/http.js";

// One note as the wall and the review page show it.
export function noteItem(note) {
  return el("li", { className: "note", dataset: { testid: "note", noteId: note.id } },
    el("div", { className: "meta", textContent: `${note.author_name ?? "A former staff member"} · ${clock(note.created_at)}` }),
    el("div", { className: "note-body", textContent: note.body }));
}

export class Notes {
  // root: the section with the form (textarea, submit, status) and the list.
  constructor(root) {
    this.root = root;
    this.sessionId = null;
    this.list = root.querySelector("[data-testid=notes]");
    this.form = root.querySelector("form");
    this.input = this.form.querySelector("textarea");
    this.status = this.form.querySelector("[role=status]");
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.write();
    });
  }

  // Shows this session's notes (again after a reconnect: some may have come meanwhile).
  async open(sessionId) {
    if (sessionId !== this.sessionId) {
      this.input.value = "";
      this.status.textContent = "";
    }
    this.sessionId = sessionId;
    this.list.replaceChildren(el("li", { className: "empty", textContent: "Loading…" }));
    try {
      const notes = await getAllJson(`/api/v1/sessions/${sessionId}/notes`);
      if (sessionId !== this.sessionId) return;
      this.list.replaceChildren();
      for (const note of notes) this.add(note);
      if (!notes.length) this.list.append(el("li", { className: "empty", textContent: "No notes yet." }));
    } catch (error) {
      this.list.replaceChildren(el("li", { className: "empty", textContent: `Notes could not be loaded: ${error.message}` }));
    }
  }

  // A note of the open candidate (pushed, or just written here), shown once, newest last.
  add(note) {
    if (note.session_id !== this.sessionId || this.list.querySelector(`[data-note-id="${CSS.escape(note.id)}"]`)) return;
    this.list.querySelector(".empty")?.remove();
    this.list.append(noteItem(note));
  }

  async write() {
    const body = this.input.value.trim();
    if (!body) {
      this.status.textContent = "Write the note first.";
      return;
    }
    const button = this.form.querySelector("button");
    button.disabled = true;
    try {
      this.add(await sendJson("POST", `/api/v1/sessions/${this.sessionId}/notes`, { body }));
      this.input.value = "";
      this.status.textContent = "Note kept.";
    } catch (error) {
      this.status.textContent = `Not kept: ${error.message}`; // the text stays in the box
    } finally {
      button.disabled = false;
    }
  }
}
