// Detection overlays on the detail view's live picture: a canvas over whichever media element
// the .live area shows (<video class="live-video"> of the live stream, or the analysed JPEGs'
// <img class="live-frame">), drawn from the watched candidate's "analysis" messages
// (openproctor/live/protocol.py): face boxes, where the face looks, objects and flags.
//
// Aligned by capture time: a JPEG is drawn with the result of exactly that frame; live video
// runs ahead of analysis, so it gets the newest result, fading once older than FADE_FROM_MS.
import { el } from "../lib/format.js";
import { kindLabel } from "../lib/vocabulary.js";

const KEEP = 40; // results kept (20 s at 2 analysed frames a second)
const FADE_FROM_MS = 1500;
const GONE_AT_MS = 3000;
const REDRAW_MS = 250; // live video: how often the fading is redrawn
const STORAGE_KEY = "openproctor.overlays"; // "on" | "off", remembered across visits
const MAIN_FACE = "#2fbf55";
const OTHER_FACE = "#ffb020";
const OBJECT = "#4da3ff";

export class Overlay {
  constructor(container, toggle) {
    this.container = container;
    this.toggle = toggle;
    this.results = []; // {result, arrivedAt}, oldest first
    this.shownTs = null; // capture time of the JPEG on screen
    this.canvas = el("canvas", {
      className: "detections", "aria-hidden": "true", dataset: { testid: "overlay", faces: "0", objects: "0" },
    });
    container.append(this.canvas);
    this.context = this.canvas.getContext("2d");
    toggle.checked = localStorage.getItem(STORAGE_KEY) !== "off";
    toggle.addEventListener("change", () => {
      localStorage.setItem(STORAGE_KEY, toggle.checked ? "on" : "off");
      this.draw();
    });
    container.addEventListener("load", () => this.draw(), true); // a JPEG was decoded
    new ResizeObserver(() => this.draw()).observe(container);
    setInterval(() => this.video() && this.results.length && this.draw(), REDRAW_MS);
  }

  clear() {
    this.results = [];
    this.shownTs = null;
    this.draw();
  }

  add(result) {
    this.results.push({ result, arrivedAt: performance.now() });
    if (this.results.length > KEEP) this.results.shift();
    if (this.video()) this.draw();
  }

  // The JPEG of the frame captured at tsMs is going on screen (drawn once it has loaded).
  shown(tsMs) {
    this.shownTs = tsMs;
  }

  video() {
    const video = this.container.querySelector("video.live-video");
    return video && !video.hidden && video.videoWidth > 0 ? video : null;
  }

  // The media on screen, its picture's size, and the result to draw on it with its opacity.
  pick() {
    const video = this.video();
    if (video) {
      const newest = this.results.at(-1);
      if (!newest) return null;
      const age = performance.now() - newest.arrivedAt;
      const alpha = age <= FADE_FROM_MS ? 1 : Math.max(0, 1 - (age - FADE_FROM_MS) / (GONE_AT_MS - FADE_FROM_MS));
      return alpha > 0 ? { media: video, width: video.videoWidth, height: video.videoHeight, result: newest.result, alpha } : null;
    }
    const image = this.container.querySelector("img.live-frame");
    if (!image?.naturalWidth || this.shownTs === null) return null;
    const match = this.results.find((entry) => entry.result.ts_ms === this.shownTs);
    return match ? { media: image, width: image.naturalWidth, height: image.naturalHeight, result: match.result, alpha: 1 } : null;
  }

  draw() {
    const { canvas, context } = this;
    const box = this.container.getBoundingClientRect();
    const scale = window.devicePixelRatio || 1;
    canvas.width = Math.round(box.width * scale);
    canvas.height = Math.round(box.height * scale);
    context.setTransform(scale, 0, 0, scale, 0, 0);
    context.clearRect(0, 0, box.width, box.height);
    canvas.hidden = !this.toggle.checked;
    const picked = this.toggle.checked ? this.pick() : null;
    canvas.dataset.faces = String(picked?.result.faces.length ?? 0);
    canvas.dataset.objects = String(picked?.result.objects.length ?? 0);
    canvas.dataset.tsMs = picked ? String(picked.result.ts_ms) : "";
    if (!picked) return;
    const { media, result } = picked;
    const area = contentBox(media, picked.width, picked.height, box);
    // Boxes are in the analysed frame's pixels: the same picture as the media, maybe smaller.
    const sx = area.width / result.width;
    const sy = area.height / result.height;
    const at = ([x1, y1, x2, y2]) => [area.x + x1 * sx, area.y + y1 * sy, (x2 - x1) * sx, (y2 - y1) * sy];
    context.font = "600 12px system-ui, sans-serif";
    context.lineWidth = 2;
    context.save();
    context.globalAlpha = picked.alpha;
    context.beginPath();
    context.rect(area.x, area.y, area.width, area.height); // object-fit: cover crops
    context.clip();
    // The object pass runs every few seconds: its boxes say how old they are.
    const objectsAge = Math.round((result.ts_ms - (result.objects_ts_ms ?? result.ts_ms)) / 1000);
    const age = objectsAge >= 1 ? ` · ${objectsAge} s ago` : "";
    for (const found of result.objects) {
      const [x, y, w, h] = at(found.box);
      context.setLineDash([6, 4]);
      context.strokeStyle = OBJECT;
      context.strokeRect(x, y, w, h);
      context.setLineDash([]);
      tag(context, `${found.label} ${Math.round(found.score * 100)}%${age}`, x, y, OBJECT);
    }
    result.faces.forEach((face, index) => {
      const [x, y, w, h] = at(face.box);
      const colour = index === 0 ? MAIN_FACE : OTHER_FACE;
      context.strokeStyle = colour;
      context.strokeRect(x, y, w, h);
      if (face.look) lookArrow(context, face.look, x + w / 2, y + h / 2, w, colour);
      if (face.look && !face.look.eyes_open) tag(context, "eyes closed", x, y + h + 16, colour);
    });
    context.restore();
    context.globalAlpha = picked.alpha;
    let line = 0;
    for (const flag of result.flags) tag(context, kindLabel(flag), 8, 20 + 18 * line++, "#d64545");
    context.globalAlpha = 1;
  }
}

// Where the media's picture shows inside the container, as object-fit places it (centred).
function contentBox(media, width, height, container) {
  const frame = media.getBoundingClientRect();
  const fit = getComputedStyle(media).objectFit;
  let sx = frame.width / width;
  let sy = frame.height / height;
  if (fit === "contain") sx = sy = Math.min(sx, sy);
  else if (fit === "scale-down") sx = sy = Math.min(sx, sy, 1);
  else if (fit === "cover") sx = sy = Math.max(sx, sy);
  else if (fit === "none") sx = sy = 1;
  return {
    x: frame.left - container.left + (frame.width - width * sx) / 2,
    y: frame.top - container.top + (frame.height - height * sy) / 2,
    width: width * sx,
    height: height * sy,
  };
}

// Where the head and eyes point: yaw and gaze to the sides, pitch up and down, against the
// enrolment baseline; a dot when the candidate looks ahead.
function lookArrow(context, look, cx, cy, size, colour) {
  const dx = look.yaw / 30 + look.gaze_x / 0.12;
  const dy = -look.pitch / 25;
  const strength = Math.min(Math.hypot(dx, dy), 1.5);
  context.strokeStyle = colour;
  context.fillStyle = colour;
  if (strength < 0.2) {
    context.beginPath();
    context.arc(cx, cy, 3, 0, 2 * Math.PI);
    context.fill();
    return;
  }
  const angle = Math.atan2(dy, dx);
  const length = (size / 2) * strength;
  const tipX = cx + Math.cos(angle) * length;
  const tipY = cy + Math.sin(angle) * length;
  context.beginPath();
  context.moveTo(cx, cy);
  context.lineTo(tipX, tipY);
  context.stroke();
  context.beginPath();
  context.moveTo(tipX, tipY);
  context.lineTo(tipX - 8 * Math.cos(angle - 0.5), tipY - 8 * Math.sin(angle - 0.5));
  context.lineTo(tipX - 8 * Math.cos(angle + 0.5), tipY - 8 * Math.sin(angle + 0.5));
  context.closePath();
  context.fill();
}

// A label on a dark backdrop, legible on any picture.
function tag(context, text, x, y, colour) {
  const width = context.measureText(text).width + 8;
  context.fillStyle = "rgba(0, 0, 0, 0.6)";
  context.fillRect(x, y - 14, width, 17);
  context.fillStyle = colour;
  context.fillText(text, x + 4, y - 1);
}
