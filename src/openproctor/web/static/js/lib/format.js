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

// An exam's time as its reader's own clock says it, when their browser is in another zone than
// the exam ("10:00 your time, America/New_York"); "" when the zones agree. The exam's own time
// is formatted on the server (domains/exams/zones.py: format_time), once for every page.
export function readerTime(iso, examZone) {
  const mine = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const at = new Date(iso);
  const inZone = (timeZone) => at.toLocaleString("en-GB", { timeZone, dateStyle: "medium", timeStyle: "short" });
  if (!mine || mine === examZone || inZone(mine) === inZone(examZone)) return "";
  const sameDay = at.toLocaleDateString("en-GB", { timeZone: mine }) === at.toLocaleDateString("en-GB", { timeZone: examZone });
  const text = sameDay
    ? at.toLocaleTimeString("en-GB", { timeZone: mine, hour: "2-digit", minute: "2-digit" })
    : inZone(mine);
  return `${text} your time, ${mine}`;
}

// Adds the reader's own time after every exam time of the page (templates/_time.html).
export function showReaderTimes(root = document) {
  for (const time of root.querySelectorAll("time[data-exam-zone]")) {
    const text = readerTime(time.dateTime, time.dataset.examZone);
    if (text && !time.nextElementSibling?.classList.contains("reader-time")) {
      time.after(el("span", { className: "reader-time", textContent: ` (${text})` }));
    }
  }
}
