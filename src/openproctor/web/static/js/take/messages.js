// The proctor's messages and warnings: a toast at once, and the history in the side panel.
const TOAST_MS = 12000;
const seen = new Set();

const time = (iso) =>
  new Date(iso ?? Date.now()).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

function item(tag, message) {
  const element = document.createElement(tag);
  element.className = `msg msg-${message.kind === "warning" ? "warning" : "message"}`;
  element.dataset.kind = message.kind;
  const label = document.createElement("strong");
  label.textContent = message.kind === "warning" ? "Warning from your proctor" : "Message from your proctor";
  const when = document.createElement("time");
  when.textContent = time(message.at);
  const body = document.createElement("p");
  body.textContent = message.body;
  element.append(label, " ", when, body);
  return element;
}

// Shows one message; `quiet` adds it to the history only (the history sent on connect).
export function showMessage(message, { quiet = false } = {}) {
  if (message.id && seen.has(message.id)) return;
  if (message.id) seen.add(message.id);
  const history = document.querySelector("[data-testid=messages]");
  if (history) {
    history.querySelector(".empty")?.remove();
    history.prepend(item("li", message));
  }
  if (quiet) return;
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
