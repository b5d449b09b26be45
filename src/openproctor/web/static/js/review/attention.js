// The attention lane of the review page: the session's attention samples
// (GET /api/v1/sessions/{id}/attention, one every few seconds while it ran) as bars under the
// recording's timeline, as tall as the score and coloured by label, and a one-line summary.
// The score describes where the candidate looked; it is not a verdict.
import { el } from "../lib/format.js";
import { bothClocks } from "./times.js";

const SAMPLE_S = 5; // a sample stands for the seconds until the next (openproctor/live/attention.py)
const LABELS = ["focused", "distracted", "away"];

export class AttentionLane {
  constructor(root, { seek }) {
    this.root = root;
    this.lane = root.querySelector(".attention-lane");
    this.summary = root.querySelector(".attention-summary");
    this.samples = [];
    this.axis = null;
    this.lane.addEventListener("click", (event) => {
      if (!this.axis?.recording) return;
      const box = this.lane.getBoundingClientRect();
      seek(((event.clientX - box.left) / box.width) * this.axis.duration);
    });
  }

  // axis: {at(iso) -> seconds, duration, recording} of the recording's timeline, or null to
  // span the samples themselves (no recording).
  draw(samples, axis = null) {
    this.samples = samples;
    this.root.hidden = !samples.length;
    if (!samples.length) return;
    const first = Date.parse(samples[0].at);
    this.axis = axis ?? {
      at: (iso) => (Date.parse(iso) - first) / 1000,
      duration: (Date.parse(samples.at(-1).at) - first) / 1000 + SAMPLE_S,
      recording: false,
    };
    const { at, duration } = this.axis;
    this.lane.replaceChildren(...samples.map((sample, index) => {
      const start = at(sample.at);
      const next = samples[index + 1];
      const end = Math.min(next ? at(next.at) : start + SAMPLE_S, start + 2 * SAMPLE_S);
      const bar = el("span", {
        className: "attention-sample",
        title: `${bothClocks(sample.at)} ${sample.label}, attention ${sample.score}`,
        dataset: { label: sample.label, score: String(sample.score), testid: "attention-sample" },
      });
      bar.style.left = `${Math.min(Math.max(start / duration, 0), 1) * 100}%`;
      bar.style.width = `${Math.max((end - start) / duration, 0) * 100}%`;
      bar.style.height = `${Math.max(sample.score, 4)}%`;
      return bar;
    }));
    const shares = LABELS.map((label) => [label, samples.filter((s) => s.label === label).length / samples.length]);
    const mean = Math.round(samples.reduce((sum, s) => sum + s.score, 0) / samples.length);
    const text = `${shares.map(([label, share]) => `${label} ${Math.round(share * 100)}%`).join(" · ")} of the time; average attention ${mean}`;
    this.summary.textContent = text.charAt(0).toUpperCase() + text.slice(1);
    this.lane.setAttribute("aria-label", `Attention over the attempt: ${text}`);
  }
}
