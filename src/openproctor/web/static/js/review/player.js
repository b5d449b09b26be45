// The session's recordings (webcam, screen) played as one: one transport (play/pause, seek,
// speed) over a shared timeline that starts when the earliest recording started. Each video
// sits on that timeline at its own start; the first one is the clock the others follow.
import { el } from "../proctor/format.js";

const DRIFT_S = 0.25; // a follower further off than this is put back in step
const LABELS = { webcam: "Webcam and microphone", screen: "Screen" };

export function formatTime(seconds) {
  const total = Math.max(Math.floor(seconds), 0);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

export class SyncedPlayers {
  // recordings: [{kind, url, started_at, duration_s}] (ready ones); fallbackStart: ISO time used
  // when a recording does not know when it started.
  constructor(root, recordings, { fallbackStart, onTime = () => {} }) {
    this.onTime = onTime;
    const order = ["webcam", "screen"];
    recordings = [...recordings].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
    const starts = recordings.map((r) => Date.parse(r.started_at ?? fallbackStart ?? "") || 0);
    this.baseMs = Math.min(...starts);
    this.approximate = recordings.some((r) => !r.started_at);
    this.tracks = recordings.map((recording, i) => {
      const video = el("video", {
        preload: "auto", muted: recording.kind !== "webcam", playsInline: true, src: recording.url,
      });
      video.dataset.testid = `video-${recording.kind}`;
      const figure = el("figure", { className: "player", dataset: { kind: recording.kind } },
        video, el("figcaption", { className: "meta", textContent: LABELS[recording.kind] ?? recording.kind }));
      root.append(figure);
      return { recording, video, offset: (starts[i] - this.baseMs) / 1000, duration: recording.duration_s ?? 0 };
    });
    this.tracks.sort((a, b) => a.offset - b.offset);
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

  // Seconds from the start of the earliest recording.
  get time() {
    return this.clock.offset + this.clock.video.currentTime;
  }

  get duration() {
    return Math.max(...this.tracks.map((t) => t.offset + t.duration), 0);
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
    this.onTime(target);
  }

  setRate(rate) {
    this.rate = rate;
    for (const track of this.tracks) track.video.playbackRate = rate;
  }

  // Puts one video at timeline time t: playing when the transport plays and t is inside it.
  place(track, t, { force = false } = {}) {
    const local = t - track.offset;
    const inside = local >= 0 && local <= track.duration;
    const video = track.video;
    video.playbackRate = this.rate;
    const wanted = Math.min(Math.max(local, 0), Math.max(track.duration - 0.05, 0));
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

// The bar under the players: a marker per flag, the playhead, click or arrow keys to seek.
export class Timeline {
  constructor(root, { seek, select }) {
    this.root = root;
    this.markers = root.querySelector(".markers");
    this.playhead = root.querySelector(".playhead");
    this.duration = 0;
    this.seek = seek;
    this.select = select;
    root.addEventListener("click", (event) => {
      if (event.target.closest(".marker") || !this.duration) return;
      const box = root.getBoundingClientRect();
      this.seek(((event.clientX - box.left) / box.width) * this.duration);
    });
  }

  // flags: [{violation, start (s), end (s)}]
  draw(flags, duration) {
    this.duration = duration;
    this.root.setAttribute("aria-valuemax", String(Math.round(duration)));
    this.markers.replaceChildren(...flags.map((flag) => {
      const left = (Math.max(flag.start, 0) / duration) * 100;
      const width = Math.max(((flag.end - flag.start) / duration) * 100, 0);
      const marker = el("button", {
        type: "button",
        className: "marker",
        title: `${formatTime(flag.start)} ${flag.title}`,
        dataset: {
          violationId: flag.violation.id,
          severity: flag.violation.severity,
          status: flag.violation.review_status,
          testid: "marker",
        },
        tabIndex: -1,
      });
      marker.style.left = `${Math.min(left, 100)}%`;
      marker.style.width = `max(${width}%, 4px)`;
      marker.addEventListener("click", () => this.select(flag.violation.id, { seek: true }));
      return marker;
    }));
  }

  update(time) {
    if (!this.duration) return;
    this.playhead.style.left = `${Math.min((time / this.duration) * 100, 100)}%`;
    this.root.setAttribute("aria-valuenow", String(Math.round(time)));
    this.root.setAttribute("aria-valuetext", formatTime(time));
  }

  mark(violation) {
    const marker = this.markers.querySelector(`[data-violation-id="${CSS.escape(violation.id)}"]`);
    if (marker) marker.dataset.status = violation.review_status;
    for (const other of this.markers.children) other.classList.toggle("selected", other === marker);
  }
}
