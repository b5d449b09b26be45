// Formats and the element helper shared by the staff pages (the wall and the review pages).
export const clock = (iso) =>
  new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });

// A time of day ("14:03:07") in an IANA zone: the review pages write every time with this,
// in the exam's zone (as the PDF and the CSV do) and the staff member's own.
export const clockIn = (iso, zone) =>
  new Date(iso).toLocaleTimeString("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });

export function duration(startIso, endIso) {
  const seconds = Math.max(Math.round((Date.parse(endIso) - Date.parse(startIso)) / 1000), 0);
  if (seconds < 60) return `${seconds} s`;
  return seconds % 60 ? `${Math.floor(seconds / 60)} min ${seconds % 60} s` : `${seconds / 60} min`;
}

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

// A message between a candidate and the proctors (MESSAGE of GET .../messages), as staff read
// it: who, and what kind when it is not a plain message.
const SENDERS = { proctor: "Proctor", candidate: "Candidate", system: "System" };

export function messageHeading(message) {
  const who = SENDERS[message.sender] ?? message.sender;
  if (message.kind === "hand_raised") return `${who} raised their hand`;
  if (message.kind === "hand_lowered") {
    return message.sender === "candidate" ? "Candidate lowered their hand" : "Hand lowered: answered";
  }
  if (message.kind === "warning") return `${who} · warning`;
  if (message.kind === "broadcast") return `${who} · to everyone`;
  return who;
}
