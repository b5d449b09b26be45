// The candidate's side of the chat: writing to the proctor and raising a hand (REST calls).
// What is written, either way, is shown by messages.js (the socket brings it to other tabs
// and brings the proctor's answers).
import * as api from "./api.js";
import { showMessage, watchHand } from "./messages.js";

export function startChat(panel, sessionId) {
  const form = panel.querySelector(".chat-form");
  const text = form.querySelector("textarea");
  const send = form.querySelector("[data-testid=chat-send]");
  const hand = form.querySelector("[data-testid=raise-hand]");
  const status = form.querySelector(".chat-status");
  let raised = false;

  const say = (words, kind = "ok") => {
    status.textContent = words;
    status.dataset.kind = kind;
  };
  const showHand = (value) => {
    raised = value;
    hand.setAttribute("aria-pressed", String(value));
    hand.textContent = value ? "Lower my hand" : "Raise my hand";
  };
  watchHand(showHand);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = text.value.trim();
    if (!body) return say("Write your message first.", "error");
    send.disabled = true;
    try {
      const message = await api.sendMessage(sessionId, body);
      showMessage({ ...message, at: message.created_at }, { quiet: true });
      text.value = "";
      say("Sent to your proctor.");
    } catch (error) {
      say(`Not sent: ${error.message}`, "error");
    } finally {
      send.disabled = false;
    }
  });
  text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  hand.addEventListener("click", async () => {
    try {
      const result = await api.setHand(sessionId, !raised);
      showHand(result.raised);
      say(result.raised ? "Your hand is raised: your proctor can see it." : "Your hand is lowered.");
    } catch (error) {
      say(`That did not work: ${error.message}`, "error");
    }
  });
}
