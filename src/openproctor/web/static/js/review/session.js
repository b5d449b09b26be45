// The reviewer's page for one attempt: the recordings in sync with the flags on a timeline,
// the evidence, a verdict per flag and the decision on the attempt. Everything is read from
// and written to the REST API (verdicts and decisions are audited there). Built for the
// keyboard: j/k walk the flags, c/d decide them, space plays. Times are in the exam's zone.
import { duration, el } from "../lib/format.js";
import { getAllJson, getJson, sendJson } from "../lib/http.js";
import { violationLabel } from "../lib/vocabulary.js";
import { AttentionLane } from "./attention.js";
import { showEvents } from "./events.js";
import { wireDecision } from "./decision.js";
import { SyncedPlayers, Timeline, formatTime } from "./player.js";
import { bothClocks, examClock, showOwnZone } from "./times.js";

const page = document.getElementById("review");
const sessionId = page.dataset.sessionId;
const $ = (selector) => page.querySelector(selector);
const SPEEDS = [0.5, 1, 1.5, 2, 3, 4];
const LEAD_S = 3; // a flag is played from a little before it starts
const STATUS_TEXT = { pending: "pending", confirmed: "confirmed", dismissed: "dismissed" };

let violations = [];
let evidence = [];
let events = [];
let players = null;
let selectedId = null;
const timeline = new Timeline($(".timeline"), {
  seek: (seconds) => players?.seek(seconds),
  select: (id, options) => select(id, options),
  showEvent: (item) => showEvent(item.index),
});
const attentionLane = new AttentionLane($("[data-testid=attention]"), { seek: (seconds) => players?.seek(seconds) });
let attention = [];

async function load() {
  let recordings;
  try {
    [violations, recordings, evidence] = await Promise.all([
      getAllJson(`/api/v1/sessions/${sessionId}/violations`),
      getJson(`/api/v1/sessions/${sessionId}/recordings`),
      getAllJson(`/api/v1/sessions/${sessionId}/evidence`),
    ]);
    // The attempt can be reviewed without it: a failure leaves the lane out.
    attention = await getAllJson(`/api/v1/sessions/${sessionId}/attention`).catch(() => []);
    events = await getJson(`/api/v1/sessions/${sessionId}/events`).catch((error) => {
      $("[data-testid=conversation]").replaceChildren(
        el("li", { className: "error", textContent: `Could not load the interventions and messages: ${error.message}` }));
      return null;
    });
  } catch (error) {
    $(".players").replaceChildren(el("p", { className: "error", textContent: `Could not load this attempt (${error.message}). Reload the page to try again.` }));
    return;
  }
  showPlayers(recordings);
  if (!players) attentionLane.draw(attention);
  renderFlags();
  renderGallery();
  if (events) {
    showEvents($("[data-testid=conversation]"), events,
      players ? (iso) => players.seek(Math.max(players.at(iso) - LEAD_S, 0)) : null);
  }
  const first = violations.find((v) => v.review_status === "pending") ?? violations[0];
  if (first) select(first.id, { seek: false, scroll: false });
}

// --- recordings ----------------------------------------------------------------------------

function showPlayers(recordings) {
  const root = $(".players");
  const ready = recordings.filter((r) => r.ready && r.url && r.kind !== "room_scan");
  const notes = recordings.filter((r) => !r.ready).map((r) =>
    `The ${r.kind.replace("_", " ")} recording is not ready yet (${r.chunks} part${r.chunks === 1 ? "" : "s"} received${r.missing_chunks.length ? `, ${r.missing_chunks.length} missing` : ""}).`);
  root.replaceChildren();
  if (!ready.length) {
    root.append(el("p", { className: "meta players-empty", textContent: recordings.length ? notes.join(" ") : "No recording for this attempt." }));
  } else {
    players = new SyncedPlayers(root, ready, {
      fallbackStart: page.dataset.startedAt,
      onTime: (t) => showTime(t),
    });
    $("[data-testid=transport]").hidden = false;
    $("[data-testid=timeline-lanes]").hidden = false;
    const note = $(".sync-note");
    const gaps = ready.filter((r) => r.missing_chunks.length);
    const remarks = [
      ...notes,
      ...gaps.map((r) => `${r.missing_chunks.length} part(s) of the ${r.kind} recording never arrived; the video skips there.`),
      ...Object.entries(players.breaks).filter(([, count]) => count > 0).map(([kind, count]) =>
        `The ${kind} recording stopped and resumed ${count === 1 ? "once" : `${count} times`} (a reload or a camera restart); a flag from when it was stopped plays from where it resumed.`),
      players.approximate ? "Flag positions are approximate (when the recording started is not known exactly)." : "",
    ].filter(Boolean);
    note.hidden = !remarks.length;
    note.textContent = remarks.join(" ");
    for (const track of players.tracks) track.video.addEventListener("loadedmetadata", drawTimeline);
    drawTimeline();
  }
  const scan = recordings.find((r) => r.kind === "room_scan" && r.ready && r.url);
  if (scan) {
    root.append(el("figure", { className: "player room-scan" },
      el("video", { src: scan.url, controls: true, preload: "metadata", dataset: { testid: "video-room_scan" } }),
      el("figcaption", { className: "meta", textContent: "Room scan (before the exam; plays on its own)" })));
  }
}

function flagSpan(violation) {
  const start = players.at(violation.started_at);
  const end = violation.ended_at ? players.at(violation.ended_at) : start + 1;
  return { violation, start, end: Math.max(end, start), title: violationLabel(violation) };
}

// The times identity was not checked (listed by the page from the audit log), shaded on the
// timeline under the flags; one still going on reaches the end.
function drawIdentityGaps() {
  const duration = players.duration || 1;
  const bands = [...page.querySelectorAll("[data-testid=identity-gaps] li")].map((item) => {
    const start = Math.max(players.at(item.dataset.startedAt), 0);
    const end = item.dataset.endedAt ? players.at(item.dataset.endedAt) : duration;
    const band = el("span", { className: "identity-gap", title: `Identity not checked: ${item.textContent.trim()}`, dataset: { testid: "identity-gap" } });
    band.style.left = `${Math.min((start / duration) * 100, 100)}%`;
    band.style.width = `${Math.max(((Math.min(end, duration) - start) / duration) * 100, 0)}%`;
    return band;
  });
  $(".identity-gap-bands").replaceChildren(...bands);
}

function drawTimeline() {
  if (!players) return;
  const moments = (events ?? []).map((event, index) => ({
    start: players.at(event.at),
    title: event.text ? `${event.label}: ${event.text}` : event.label,
    kind: event.kind,
    intervention: event.intervention,
    index,
  }));
  timeline.draw(violations.map(flagSpan), moments, players.duration || 1);
  timeline.drawPrompts([...page.querySelectorAll("[data-testid=review-prompts] [data-shown-at]")].map((item) => ({
    start: players.at(item.dataset.shownAt),
    end: item.dataset.clearedAt ? players.at(item.dataset.clearedAt) : players.at(item.dataset.shownAt) + 1,
    text: item.textContent.trim().replace(/\s+/g, " "),
  })));
  drawIdentityGaps();
  attentionLane.draw(attention, { at: (iso) => players.at(iso), duration: players.duration || 1, recording: true });
  const selected = violations.find((v) => v.id === selectedId);
  if (selected) timeline.mark(selected);
  showTime(players.time);
}

// An intervention or message picked on the timeline: played from a little before, and shown
// in the list.
function showEvent(index) {
  const event = events?.[index];
  if (!event) return;
  players?.seek(Math.max(players.at(event.at) - LEAD_S, 0));
  const item = $(`[data-testid=event][data-index="${index}"]`);
  for (const other of page.querySelectorAll("[data-testid=event].selected")) other.classList.remove("selected");
  item?.classList.add("selected");
  item?.scrollIntoView({ block: "nearest" });
  item?.focus({ preventScroll: true });
}

function showTime(t) {
  $("[data-testid=clock]").textContent = `${formatTime(t)} / ${formatTime(players.duration)}`;
  const play = $("[data-testid=play]");
  play.textContent = players.playing ? "❚❚ Pause" : "▶ Play";
  play.dataset.playing = players.playing ? "yes" : "no";
  timeline.update(t);
}

$("[data-testid=play]").addEventListener("click", () => players?.toggle());
$("[data-testid=speed]").addEventListener("change", (event) => players?.setRate(Number(event.target.value)));
$("[data-testid=timeline]").addEventListener("keydown", (event) => {
  if (!players || !["ArrowLeft", "ArrowRight", "Home", "End"].includes(event.key)) return;
  event.preventDefault();
  event.stopPropagation();
  const step = { ArrowLeft: -5, ArrowRight: 5 }[event.key];
  players.seek(step ? players.time + step : event.key === "Home" ? 0 : players.duration);
});

function changeSpeed(direction) {
  const select = $("[data-testid=speed]");
  const index = SPEEDS.indexOf(Number(select.value));
  const next = SPEEDS[Math.min(Math.max(index + direction, 0), SPEEDS.length - 1)];
  select.value = String(next);
  players?.setRate(next);
}

// --- flags ---------------------------------------------------------------------------------

function renderFlags() {
  const list = $("[data-testid=flags]");
  if (!violations.length) {
    list.replaceChildren(el("li", { className: "meta", textContent: "No flags for this attempt." }));
  } else {
    list.replaceChildren(...violations.map(flagItem));
  }
  countFlags();
}

function countFlags() {
  const counts = { pending: 0, confirmed: 0, dismissed: 0 };
  for (const v of violations) counts[v.review_status] += 1;
  $("[data-testid=flag-counts]").textContent = violations.length
    ? `${counts.pending} pending · ${counts.confirmed} confirmed · ${counts.dismissed} dismissed`
    : "";
}

function offsetText(violation) {
  if (!players) return examClock(violation.started_at);
  return formatTime(Math.max(players.at(violation.started_at), 0));
}

function flagItem(violation) {
  const item = el("li", {
    className: "flag",
    tabIndex: -1,
    dataset: { testid: "flag", violationId: violation.id, status: violation.review_status, severity: violation.severity },
  });
  const time = el("button", {
    type: "button", className: "link flag-time", textContent: offsetText(violation),
    title: `${bothClocks(violation.started_at)}: play from ${LEAD_S} s before`,
  });
  time.addEventListener("click", () => select(violation.id, { seek: true }));
  const lasted = violation.ended_at ? duration(violation.started_at, violation.ended_at) : "still open";
  const head = el("div", { className: "flag-head" },
    time,
    el("strong", { textContent: violationLabel(violation) }),
    el("span", { className: "severity", textContent: violation.severity }),
    el("span", { className: "meta", textContent: lasted }),
    el("span", { className: "status-chip", dataset: { status: violation.review_status }, textContent: STATUS_TEXT[violation.review_status] }));
  const thumb = violation.evidence_url
    ? el("img", { className: "flag-evidence", src: violation.evidence_url, alt: `Evidence: ${violationLabel(violation)}`, loading: "lazy" })
    : el("span", { className: "flag-evidence none", textContent: violation.evidence_error ? "image not stored" : "no image" });
  if (violation.evidence_url) thumb.addEventListener("click", () => enlarge(violation.evidence_url, `${violationLabel(violation)} · ${bothClocks(violation.started_at)}`));
  const note = el("textarea", {
    className: "flag-note", rows: 2, maxLength: 5000, placeholder: "Note (optional): what you saw",
    value: violation.review_note ?? "", dataset: { testid: "flag-note" },
  });
  const button = (text, status, className, testid) => {
    const b = el("button", { type: "button", className: `small ${className}`, textContent: text, dataset: { testid } });
    b.addEventListener("click", (event) => {
      event.stopPropagation();
      verdict(violation.id, status);
    });
    return b;
  };
  const actions = el("div", { className: "action-row verdict" },
    button("Confirm (c)", "confirmed", "danger", "confirm"),
    button("Dismiss (d)", "dismissed", "secondary", "dismiss"),
    button("Pending (u)", "pending", "link", "reset"),
    el("span", { className: "action-status", role: "status" }));
  const noteLine = el("p", { className: "note-line meta", textContent: violation.review_note ?? "" });
  const evidenceError = violation.evidence_error
    ? [el("p", { className: "meta", dataset: { testid: "evidence-error" }, textContent: `Evidence could not be stored: ${violation.evidence_error}` })]
    : [];
  item.append(head, noteLine, ...evidenceError, el("div", { className: "flag-body" }, thumb, el("div", { className: "flag-review" }, note, actions)));
  item.addEventListener("click", (event) => {
    if (event.target.closest("button, textarea, img")) return;
    select(violation.id, { seek: true });
  });
  return item;
}

function itemOf(id) {
  return $(`[data-testid=flag][data-violation-id="${CSS.escape(id)}"]`);
}

function select(id, { seek = true, scroll = true } = {}) {
  const violation = violations.find((v) => v.id === id);
  if (!violation) return;
  selectedId = id;
  for (const item of page.querySelectorAll("[data-testid=flag]")) {
    const on = item.dataset.violationId === id;
    item.classList.toggle("selected", on);
    item.setAttribute("aria-current", on ? "true" : "false");
  }
  const item = itemOf(id);
  if (scroll) item.scrollIntoView({ block: "nearest" });
  if (players) {
    timeline.mark(violation);
    if (seek) players.seek(players.at(violation.started_at) - LEAD_S);
  }
}

function move(direction) {
  if (!violations.length) return;
  const index = violations.findIndex((v) => v.id === selectedId);
  const next = index < 0 ? 0 : Math.min(Math.max(index + direction, 0), violations.length - 1);
  select(violations[next].id, { seek: true });
}

async function verdict(id, status, { advance = false } = {}) {
  const item = itemOf(id);
  const note = item.querySelector(".flag-note").value.trim();
  const feedback = item.querySelector(".action-status");
  feedback.textContent = "Saving…";
  feedback.dataset.tone = "";
  try {
    const saved = await sendJson("PUT", `/api/v1/violations/${id}/review`, { status, note: note || null });
    violations = violations.map((v) => (v.id === id ? { ...v, ...saved } : v));
    const fresh = flagItem(violations.find((v) => v.id === id));
    item.replaceWith(fresh);
    select(id, { seek: false, scroll: false });
    fresh.querySelector(".action-status").textContent = `Saved: ${STATUS_TEXT[saved.review_status]}.`;
    fresh.querySelector(".action-status").dataset.tone = "ok";
    timeline.mark(saved);
    countFlags();
    if (advance) {
      const index = violations.findIndex((v) => v.id === id);
      const next = violations.slice(index + 1).find((v) => v.review_status === "pending");
      if (next) select(next.id, { seek: true });
    }
  } catch (error) {
    feedback.textContent = `Not saved: ${error.message}`;
    feedback.dataset.tone = "error";
  }
}

// --- decision ------------------------------------------------------------------------------

wireDecision({
  pending: () => violations.filter((v) => v.review_status === "pending"),
  showFlag: (id) => {
    select(id, { seek: true });
    itemOf(id)?.focus();
  },
});

// --- evidence ------------------------------------------------------------------------------

function renderGallery() {
  const gallery = $("[data-testid=gallery]");
  const byViolation = new Map(violations.map((v) => [v.id, v]));
  const shown = evidence.filter((item) => item.purpose !== "evidence_raw");
  if (!shown.length) {
    gallery.replaceChildren(el("li", { className: "meta", textContent: "No evidence images." }));
    return;
  }
  gallery.replaceChildren(...shown.map((item) => {
    const violation = byViolation.get(item.violation_id);
    const caption = item.purpose === "enrolment"
      ? "Reference photo"
      : violation
        // The flag's start, as the flag list and the PDF give it (the image is stored later).
        ? `${violationLabel(violation)} · ${examClock(violation.started_at)}`
        : `Evidence · ${examClock(item.created_at)}`;
    const original = evidence.find((other) => other.purpose === "evidence_raw" && other.violation_id === item.violation_id && item.violation_id);
    const button = el("button", { type: "button", className: "thumb", title: caption, dataset: { testid: "evidence-thumb" } },
      el("img", { src: item.url, alt: caption, loading: "lazy" }),
      el("span", { className: "meta", textContent: caption }));
    button.addEventListener("click", () => {
      enlarge(item.url, caption, original?.url);
      if (violation) select(violation.id, { seek: true });
    });
    return el("li", {}, button);
  }));
}

function enlarge(url, caption, originalUrl = null) {
  const dialog = $("[data-testid=enlarge]");
  dialog.querySelector("img").src = url;
  dialog.querySelector("img").alt = caption;
  const text = dialog.querySelector(".caption");
  text.replaceChildren(caption);
  if (originalUrl) {
    text.append(" · ", el("a", { href: originalUrl, target: "_blank", textContent: "original image (without boxes)" }));
  }
  dialog.showModal();
}

// --- keyboard ------------------------------------------------------------------------------

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const typing = event.target.closest?.("input, textarea, select");
  if (typing) {
    if (event.key === "Escape") event.target.blur();
    return;
  }
  if (page.querySelector("dialog[open]")) return;
  const actions = {
    j: () => move(1),
    k: () => move(-1),
    c: () => selectedId && verdict(selectedId, "confirmed", { advance: true }),
    d: () => selectedId && verdict(selectedId, "dismissed", { advance: true }),
    u: () => selectedId && verdict(selectedId, "pending"),
    n: () => selectedId && itemOf(selectedId)?.querySelector(".flag-note").focus(),
    " ": () => players?.toggle(),
    ArrowLeft: () => players?.seek(players.time - 5),
    ArrowRight: () => players?.seek(players.time + 5),
    "[": () => changeSpeed(-1),
    "]": () => changeSpeed(1),
  };
  const action = actions[event.key];
  if (!action || event.target.closest?.("button") && event.key === " ") return;
  event.preventDefault();
  action();
});

showOwnZone($("[data-testid=own-zone]"));
load();
