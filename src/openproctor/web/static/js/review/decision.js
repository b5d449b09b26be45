// The decision on the attempt (clear, suspicious, cheating) with the reviewer's note, sent to
// PUT /api/v1/sessions/{id}/decision. While flags are still pending the reviewer is asked
// first, in a modal dialog (Escape or "Review the flags first" goes to the first of them).
import { el } from "../lib/format.js";
import { sendJson } from "../lib/http.js";
import { examClock } from "./times.js";

const page = document.getElementById("review");
const sessionId = page.dataset.sessionId;
const $ = (selector) => page.querySelector(selector);

// Resolves true when the reviewer chooses to decide although flags are still pending (asked in
// a dialog), false when they go back to the flags.
function confirmPending(pending) {
  const dialog = $("[data-testid=confirm-decision]");
  $("[data-testid=confirm-decision-text]").textContent =
    `${pending} flag${pending === 1 ? " is" : "s are"} not reviewed yet. Decide anyway?`;
  return new Promise((resolve) => {
    const done = (answer) => {
      dialog.removeEventListener("close", cancelled);
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    const cancelled = () => done(false);
    dialog.addEventListener("close", cancelled);
    $("[data-testid=decide-anyway]").onclick = () => done(true);
    $("[data-testid=decide-back]").onclick = () => done(false);
    dialog.showModal();
  });
}

async function decide(button, { pending, showFlag }) {
  const feedback = $("[data-testid=decision] .action-status");
  const waiting = pending();
  if (waiting.length && !(await confirmPending(waiting.length))) {
    feedback.textContent = "Not decided: review the pending flags first.";
    feedback.dataset.tone = "";
    showFlag(waiting[0].id);
    return;
  }
  const note = $("[data-testid=decision-note]").value.trim();
  feedback.textContent = "Saving…";
  feedback.dataset.tone = "";
  try {
    const session = await sendJson("PUT", `/api/v1/sessions/${sessionId}/decision`, {
      decision: button.dataset.decision, note: note || null,
    });
    for (const other of page.querySelectorAll("button.decide")) {
      other.setAttribute("aria-pressed", String(other.dataset.decision === session.decision));
    }
    const current = $("[data-testid=current-decision]");
    current.replaceChildren("Decided: ", el("strong", { textContent: session.decision }),
      session.decided_at ? ` just now (${examClock(session.decided_at)}) by you` : "");
    feedback.textContent = "Saved.";
    feedback.dataset.tone = "ok";
  } catch (error) {
    feedback.textContent = `Not saved: ${error.message}`;
    feedback.dataset.tone = "error";
  }
}

// pending() lists the flags not reviewed yet; showFlag(id) takes the reviewer to one.
export function wireDecision({ pending, showFlag }) {
  for (const button of page.querySelectorAll("button.decide")) {
    button.addEventListener("click", () => decide(button, { pending, showFlag }));
  }
}
