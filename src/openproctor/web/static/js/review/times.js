// Times on the review page: in the exam's zone (the page's data-zone, the zone the PDF and the
// CSV use), with the reviewer's own zone beside it where the clocks differ.
import { clockIn } from "../lib/format.js";

const page = document.getElementById("review");
export const examZone = page.dataset.zone || "UTC";
export const ownZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
// Zones with other names ("UTC", "Etc/UTC") but the same clock today count as one.
const now = new Date().toISOString();
export const sameClock = clockIn(now, examZone) === clockIn(now, ownZone);

// "14:03:07", in the exam's zone (the page says which once, at the top).
export const examClock = (iso) => clockIn(iso, examZone);

// "14:03:07 UTC · 15:03:07 your time" for a tooltip or caption.
export function bothClocks(iso) {
  const exam = `${examClock(iso)} ${examZone}`;
  return sameClock ? exam : `${exam} · ${clockIn(iso, ownZone)} your time (${ownZone})`;
}

// The note at the top names the reviewer's own zone where it differs.
export function showOwnZone(node) {
  if (sameClock) return;
  node.textContent = `; your own time zone is ${ownZone} (shown when you point at a time)`;
  node.hidden = false;
}
