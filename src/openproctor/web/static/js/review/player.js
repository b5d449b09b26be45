// The session's recordings (webcam, screen) played as one: one transport (play/pause, seek,
// speed) over a shared timeline of the attempt's wall-clock time, from when the earliest
// recording started. A recording is made of parts (a reload or a camera restart starts a new
// one) with nothing recorded between them, so each part sits on the timeline at its own start;
// the first video is the clock the others follow.
import { el } from "../lib/format.js";

const DRIFT_S = 0.25; // a follower further off than this is put back in step
const LABELS = { webcam: "Webcam and microphone", screen: "Screen" };

export function formatTime(seconds) {
  const total = Math.max(Math.floor(seconds), 0);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

// A recording's parts as [{startMs, offset}]: the wall-clock start (epoch ms) and the position
// in the file (s) of each, in file order. recording: {started_at, parts: [{started_at, offset_s}]}
// as the API lists it; fallbackMs stands in when it does not know when it started. A part never
// starts before the previous one ended (if the clocks say so, it follows on from it).
export function partsOf(recording, fallbackMs = 0) {
  const listed = (recording.parts ?? [])
    .filter((part) => Number.isFinite(part.offset_s))
    .sort((a, b) => a.offset_s - b.offset_s);
  // Recordings from before parts were kept: one part, from the recording's start.
  if (!listed.length) listed.push({ started_at: recording.started_at, offset_s: 0 });
  const parts = [];
  for (const part of listed) {
    const previous = parts.at(-1);
    const followOn = previous ? previous.startMs + (part.offset_s - previous.offset) * 1000 : fallbackMs;
    const claimed = Date.parse(part.started_at ?? "");
    const startMs = Number.isNaN(claimed) ? followOn : previous ? Math.max(claimed, followOn) : claimed;
    parts.push({ startMs, offset: part.offset_s });
  }
  return parts;
}

// Where in the file (s) the wall-clock instant `ms` is, given the file's length (s; 0 when not
// known yet). inside is false before the first part, after the last and between parts: there
// the position is where recording resumed (the next part's start), or the end.
export function positionAt(parts, duration, ms) {
  for (let i = 0; i < parts.length; i += 1) {
    const part = parts[i];
    if (ms < part.startMs) return { position: part.offset, inside: false };
    const end = parts[i + 1]?.offset ?? (duration || Infinity);
    const position = part.offset + (ms - part.startMs) / 1000;
    if (position <= end) return { position, inside: true };
  }
  return { position: duration, inside: false };
}

// The wall-clock instant (epoch ms) shown at a position (s) in the file.
export function instantAt(parts, position) {
  let part = parts[0];
  // Offsets come rounded to the millisecond: a video put at a part's start is in that part.
  for (const next of parts) if (next.offset <= position + 0.001) part = next;
  return part.startMs + (position - part.offset) * 1000;
}

export class SyncedPlayers {
  // recordings: [{kind, url, started_at, parts, duration_s}] (ready ones); fallbackStart: ISO
  // time used when a recording does not know when it started.
  constructor(root, recordings, { fallbackStart, onTime = () => {} }) {
    this.onTime = onTime;
    const order = ["webcam", "screen"];
    recordings = [...recordings].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
    const fallbackMs = Date.parse(fallbackStart ?? "") || 0;
    const allParts = recordings.map((r) => partsOf(r, fallbackMs));
    this.baseMs = Math.min(...allParts.map((parts) => parts[0].startMs));
    // A start that is the server's guess (the browser's clock could not be used) or no start.
    this.approximate = recordings.some((r) =>
      !r.started_at || (r.parts ?? []).some((part) => part.start_clock !== "browser"));
    // Breaks between parts: a reload or a camera restart, nothing recorded meanwhile.
    this.breaks = Object.fromEntries(recordings.map((r, i) => [r.kind, allParts[i].length - 1]));
    this.tracks = recordings.map((recording, i) => {
      const video = el("video", {
        preload: "auto", muted: recording.kind !== "webcam", playsInline: true, src: recording.url,
      });
      video.dataset.testid = `video-${recording.kind}`;
      const figure = el("figure", { className: "player", dataset: { kind: recording.kind } },
        video, el("figcaption", { className: "meta", textContent: LABELS[recording.kind] ?? recording.kind }));
      root.append(figure);
      return { recording, video, parts: allParts[i], duration: recording.duration_s ?? 0 };
    });
    this.tracks.sort((a, b) => a.parts[0].startMs - b.parts[0].startMs);
    this.clock = this.tracks[0];
    this.rate = 1;
    this.playing = false;
    for (const track of this.tracks) {
      track.video.addEventListener("loadedmetadata", () => {
        if (Number.isFinite(track.video.duration)) track.duration = track.video.duration;
        this.onTime(this.time);
      });
    }
    this.clock.video.addEventListener("timeupdate", () => this.follow());
    this.clock.video.addEventListener("ended", () => this.pause());
    this.clock.video.addEventListener("seeked", () => this.onTime(this.time));
  }

  // Seconds of wall-clock time from the start of the earliest recording, at the clock video's
  // position.
  get time() {
    return (instantAt(this.clock.parts, this.clock.video.currentTime) - this.baseMs) / 1000;
  }

  get duration() {
    return Math.max(...this.tracks.map((t) => (instantAt(t.parts, t.duration) - this.baseMs) / 1000), 0);
  }

  // The timeline position of an instant (ISO text), in seconds.
  at(iso) {
    return (Date.parse(iso) - this.baseMs) / 1000;
  }

  play() {
    this.playing = true;
    for (const track of this.tracks) this.place(track, this.time);
    this.clock.video.play().catch(() => {});
    this.onTime(this.time);
  }

  pause() {
    this.playing = false;
    for (const track of this.tracks) track.video.pause();
    this.onTime(this.time);
  }

  toggle() {
    if (this.playing) this.pause();
    else this.play();
  }

  seek(seconds) {
    const target = Math.min(Math.max(seconds, 0), this.duration || 0);
    for (const track of this.tracks) this.place(track, target, { force: true });
    this.onTime(this.time); // a time between parts shows where recording resumed
  }

  setRate(rate) {
    this.rate = rate;
    for (const track of this.tracks) track.video.playbackRate = rate;
  }

  // Puts one video at timeline time t: playing when the transport plays and t is inside one of
  // its parts; between parts it waits where recording resumed.
  place(track, t, { force = false } = {}) {
    const { position, inside } = positionAt(track.parts, track.duration, this.baseMs + t * 1000);
    const video = track.video;
    video.playbackRate = this.rate;
    const wanted = Math.min(Math.max(position, 0), Math.max(track.duration - 0.05, 0));
    if (force || Math.abs(video.currentTime - wanted) > DRIFT_S) video.currentTime = wanted;
    video.closest("figure").dataset.inside = inside ? "yes" : "no";
    if (this.playing && inside && video.paused) video.play().catch(() => {});
    if ((!this.playing || !inside) && !video.paused) video.pause();
  }

  follow() {
    const t = this.time;
    for (const track of this.tracks) if (track !== this.clock) this.place(track, t);
    this.onTime(t);
  }
}

// Flags longer than this share of the recording get lanes of their own, under the short ones,
// so a long flag never covers a short one.
const LONG_SHARE = 0.03;
// Markers closer than this share of the recording would overlap: they become one group.
const GROUP_SHARE = 0.012;

// Splits [{start, end, ...}] into runs of items that start within GROUP_SHARE of the run's
// first (sorted by start).
export function groupByMoment(items, duration) {
  const groups = [];
  for (const item of [...items].sort((a, b) => a.start - b.start)) {
    const group = groups.at(-1);
    if (group && item.start - group[0].start < duration * GROUP_SHARE) group.push(item);
    else groups.push([item]);
  }
  return groups;
}

// Long flags packed into as few rows as keep them apart: each goes to the first row whose last
// flag ended before it starts.
export function packLanes(flags) {
  const rows = [];
  for (const flag of [...flags].sort((a, b) => a.start - b.start)) {
    const row = rows.find((r) => r.at(-1).end <= flag.start);
    if (row) row.push(flag);
    else rows.push([flag]);
  }
  return rows;
}

const SEVERITY_ORDER = ["high", "medium", "low"];

// The bar under the players (the playhead: click or arrow keys to seek) and the lanes under it:
// short flags, long flags in rows of their own, and interventions and messages; markers at the
// same moment are one button with their count, which lists them when pressed.
export class Timeline {
  constructor(root, { seek, select, showEvent }) {
    this.root = root; // .timeline
    this.bar = root.querySelector(".timeline-bar");
    this.playhead = root.querySelector(".playhead");
    this.prompts = root.querySelector(".prompt-marks");
    this.shortLane = root.querySelector("[data-lane=short]");
    this.longLanes = root.querySelector(".long-lanes");
    this.eventLane = root.querySelector("[data-lane=events]");
    this.groupList = root.querySelector(".group-list");
    this.duration = 0;
    this.seek = seek;
    this.select = select;
    this.showEvent = showEvent;
    this.bar.addEventListener("click", (event) => {
      if (!this.duration) return;
      const box = this.bar.getBoundingClientRect();
      this.seek(((event.clientX - box.left) / box.width) * this.duration);
    });
  }

  place(node, start, end) {
    const left = (Math.max(start, 0) / this.duration) * 100;
    node.style.left = `${Math.min(left, 100)}%`;
    node.style.width = `max(${Math.max(((end - Math.max(start, 0)) / this.duration) * 100, 0)}%, 6px)`;
  }

  flagMarker(flag) {
    const marker = el("button", {
      type: "button",
      className: "marker",
      title: `${formatTime(flag.start)} ${flag.title}`,
      ariaLabel: `Flag at ${formatTime(flag.start)}: ${flag.title}`,
      dataset: {
        violationId: flag.violation.id,
        severity: flag.violation.severity,
        status: flag.violation.review_status,
        testid: "marker",
      },
    });
    this.place(marker, flag.start, flag.end);
    marker.addEventListener("click", () => this.select(flag.violation.id, { seek: true }));
    return marker;
  }

  eventMarker(event) {
    const marker = el("button", {
      type: "button",
      className: "event-marker",
      title: `${formatTime(event.start)} ${event.title}`,
      ariaLabel: `${event.title} at ${formatTime(event.start)}`,
      dataset: { kind: event.kind, intervention: event.intervention ? "yes" : "no", testid: "event-marker" },
    });
    this.place(marker, event.start, event.start);
    marker.addEventListener("click", () => this.showEvent(event));
    return marker;
  }

  // A button standing for several markers at one moment; pressing it lists them.
  groupButton(items, kind, marker) {
    const first = items[0];
    const what = kind === "flags" ? "flags" : "interventions and messages";
    const button = el("button", {
      type: "button",
      className: kind === "flags" ? "marker group" : "event-marker group",
      textContent: String(items.length),
      title: `${items.length} ${what} at ${formatTime(first.start)}`,
      ariaExpanded: "false",
      dataset: { testid: kind === "flags" ? "marker-group" : "event-group" },
    });
    if (kind === "flags") {
      button.dataset.severity = SEVERITY_ORDER.find((s) => items.some((f) => f.violation.severity === s)) ?? "medium";
    }
    this.place(button, first.start, first.start);
    button.addEventListener("click", () => this.expand(button, items, marker, what));
    return button;
  }

  expand(button, items, marker, what) {
    const open = button.getAttribute("aria-expanded") === "true";
    for (const other of this.root.querySelectorAll("[aria-expanded=true]")) other.setAttribute("aria-expanded", "false");
    this.groupList.hidden = open;
    if (open) return;
    button.setAttribute("aria-expanded", "true");
    const close = el("button", { type: "button", className: "small secondary", textContent: "Close" });
    close.addEventListener("click", () => {
      this.groupList.hidden = true;
      button.setAttribute("aria-expanded", "false");
      button.focus();
    });
    this.groupList.replaceChildren(
      el("p", { className: "meta", textContent: `${items.length} ${what} at ${formatTime(items[0].start)}:` }),
      el("div", { className: "group-items" }, ...items.map((item) => {
        const entry = marker(item);
        entry.className = "group-entry"; // a labelled button in the list, not a bar
        entry.textContent = `${formatTime(item.start)} ${item.title}`;
        entry.style.left = entry.style.width = "";
        return entry;
      })),
      close);
    this.groupList.querySelector("button")?.focus();
  }

  lane(items, kind, marker) {
    return groupByMoment(items, this.duration).map((group) =>
      group.length === 1 ? marker(group[0]) : this.groupButton(group, kind, marker));
  }

  // flags: [{violation, start (s), end (s), title}]; events: [{start (s), title, kind,
  // intervention, event}]
  draw(flags, events, duration) {
    this.duration = duration;
    this.bar.setAttribute("aria-valuemax", String(Math.round(duration)));
    this.groupList.hidden = true;
    const long = flags.filter((f) => f.end - f.start > duration * LONG_SHARE);
    const short = flags.filter((f) => !long.includes(f));
    const flagMarker = (flag) => this.flagMarker(flag);
    this.shortLane.replaceChildren(...this.lane(short, "flags", flagMarker));
    this.longLanes.replaceChildren(...packLanes(long).map((row) =>
      el("div", { className: "lane", dataset: { lane: "long" } }, ...row.map(flagMarker))));
    this.longLanes.hidden = !long.length;
    this.eventLane.replaceChildren(...this.lane(events, "events", (event) => this.eventMarker(event)));
    this.eventLane.hidden = !events.length;
  }

  // prompts: [{start (s), end (s), text}], the self-correction prompts the candidate was
  // shown: thin marks on the bar, not buttons (they are not reviewed).
  drawPrompts(prompts) {
    this.prompts.replaceChildren(...prompts.map((prompt) => {
      const mark = el("span", { className: "prompt-mark", title: `${formatTime(prompt.start)} prompt: ${prompt.text}`, dataset: { testid: "prompt-marker" } });
      this.place(mark, prompt.start, prompt.end);
      return mark;
    }));
  }

  update(time) {
    if (!this.duration) return;
    this.playhead.style.left = `${Math.min((time / this.duration) * 100, 100)}%`;
    this.bar.setAttribute("aria-valuenow", String(Math.round(time)));
    this.bar.setAttribute("aria-valuetext", formatTime(time));
  }

  mark(violation) {
    const markers = this.root.querySelectorAll(`[data-testid=marker][data-violation-id="${CSS.escape(violation.id)}"]`);
    for (const marker of markers) marker.dataset.status = violation.review_status;
    for (const other of this.root.querySelectorAll("[data-testid=marker]")) {
      other.classList.toggle("selected", [...markers].includes(other));
    }
  }
}
