// The conversation with the proctor: their messages, warnings and messages to everyone as a
// toast at once, and everything (the candidate's own messages and hand too) in the history.
const TOAST_MS = 12000;
const seen = new Set();
let handListener = null;

const time = (iso) =>
  new Date(iso ?? Date.now()).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

const fromCandidate = (message) => message.sender === "candidate";
const isHand = (message) => message.kind === "hand_raised" || message.kind === "hand_lowered";

function heading(message) {
  if (message.kind === "hand_raised") return "You raised your hand";
  if (message.kind === "hand_lowered") {
    return fromCandidate(message) ? "You lowered your hand" : "Your proctor answered, so your hand is lowered";
  }
  if (fromCandidate(message)) return "You wrote";
  if (message.kind === "warning") return "Warning from your proctor";
  if (message.kind === "broadcast") return "Message to everyone from your proctor";
  return "Message from your proctor";
}

function item(tag, message) {
  const element = document.createElement(tag);
  const style = isHand(message) ? "note" : fromCandidate(message) ? "mine" : message.kind === "warning" ? "warning" : "message";
  element.className = `msg msg-${style}`;
  element.dataset.kind = message.kind;
  element.dataset.sender = message.sender ?? "proctor";
  const label = document.createElement("strong");
  label.textContent = heading(message);
  const when = document.createElement("time");
  when.textContent = time(message.at);
  element.append(label, " ", when);
  if (!isHand(message)) {
    const body = document.createElement("p");
    body.textContent = message.body;
    element.append(body);
  }
  return element;
}

// chat.js learns here whether the hand is up: from the history on connect, its own calls,
// and a proctor's answer.
export function watchHand(listener) {
  handListener = listener;
}

// Shows one message; `quiet` adds it to the history only (the history sent on connect, and
// what the candidate wrote).
export function showMessage(message, { quiet = false } = {}) {
  if (message.id && seen.has(message.id)) return;
  if (message.id) seen.add(message.id);
  if (isHand(message)) handListener?.(message.kind === "hand_raised");
  const history = document.querySelector("[data-testid=messages]");
  if (history) {
    history.querySelector(".empty")?.remove();
    history.prepend(item("li", message));
  }
  if (quiet || fromCandidate(message) || isHand(message)) return;
  const toasts = document.getElementById("toasts");
  const toast = item("div", message);
  toast.dataset.testid = "proctor-message";
  const close = document.createElement("button");
  close.type = "button";
  close.className = "small";
  close.textContent = message.kind === "warning" ? "I understand" : "OK";
  close.addEventListener("click", () => toast.remove());
  toast.append(close);
  toasts.append(toast);
  if (message.kind !== "warning") setTimeout(() => toast.remove(), TOAST_MS);
}

// The proctor withdrew their warnings: close the warning toasts and say so in the history.
export function warningsCleared() {
  for (const toast of document.querySelectorAll("#toasts .msg-warning")) toast.remove();
  const history = document.querySelector("[data-testid=messages]");
  for (const item of history?.querySelectorAll(".msg-warning") ?? []) item.classList.add("cleared");
  history?.prepend(Object.assign(document.createElement("li"), {
    className: "msg msg-note", textContent: "Your proctor has withdrawn the earlier warnings.",
  }));
}
