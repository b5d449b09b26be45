// One recorded stream (webcam + microphone, the screen, or the room scan): MediaRecorder cut
// into short chunks, each hashed and saved in IndexedDB before anything is sent.
//
// A recorder run has its own WebM header, so each run is one "part" of the recording; the
// server joins the parts in order. A run's part number is the index of its first chunk, which
// keeps part numbers increasing across reloads without remembering them anywhere else.
import * as store from "./chunkstore.js";

export const TIMESLICE_MS = 2000;
const BITRATES = {
  webcam: { videoBitsPerSecond: 450_000, audioBitsPerSecond: 32_000 },
  room_scan: { videoBitsPerSecond: 450_000, audioBitsPerSecond: 32_000 },
  screen: { videoBitsPerSecond: 700_000 },
};
const TYPES = {
  true: ["video/webm;codecs=vp8,opus", "video/webm;codecs=vp9,opus", "video/webm"],
  false: ["video/webm;codecs=vp8", "video/webm;codecs=vp9", "video/webm"],
};

export function pickMime(withAudio) {
  return TYPES[withAudio].find((type) => MediaRecorder.isTypeSupported(type)) ?? "";
}

export async function sha256Hex(buffer) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", buffer));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

export class StreamRecorder {
  // onChunk(chunk) after each chunk is safely stored; onStopped(recorder) when the run ends
  // without stop() being called (every track ended, or the recorder failed).
  constructor({ sessionId, kind, stream, serverNext = 0, onChunk = () => {}, onStopped = () => {} }) {
    this.sessionId = sessionId;
    this.kind = kind;
    this.stream = stream;
    this.serverNext = serverNext;
    this.onChunk = onChunk;
    this.onStopped = onStopped;
    this.recorder = null;
    this.part = null;
    this.writes = Promise.resolve(); // chunks are stored one after the other, in order
    this.stopping = null;
    this.startedAt = 0; // performance.now() at the run's start
    this.startedMs = 0; // epoch ms at the run's start
  }

  get recording() {
    return this.recorder?.state === "recording";
  }

  async start() {
    const state = await store.reserveFrom(this.sessionId, this.kind, this.serverNext);
    this.part = state.nextIndex;
    const withAudio = this.stream.getAudioTracks().length > 0;
    const mimeType = pickMime(withAudio);
    this.recorder = new MediaRecorder(this.stream, { mimeType, ...BITRATES[this.kind] });
    this.mime = this.recorder.mimeType || mimeType || "video/webm";
    this.recorder.addEventListener("dataavailable", (event) => this.save(event.data));
    this.recorder.addEventListener("stop", () => {
      if (!this.stopping) this.writes.then(() => this.onStopped(this));
    });
    this.recorder.addEventListener("error", () => {
      if (this.recorder.state !== "inactive") this.recorder.stop();
    });
    await new Promise((resolve, reject) => {
      this.recorder.addEventListener("start", resolve, { once: true });
      try {
        this.recorder.start(TIMESLICE_MS);
      } catch (error) {
        reject(error);
      }
    });
    this.startedAt = performance.now();
    // The wall clock, as the upload's X-Chunk-Sent-Ms: the server compares the two to place the
    // run on its own clock (timeOrigin + now() drifts from it on a page open for hours).
    this.startedMs = Date.now();
    return this;
  }

  save(blob) {
    if (!blob?.size) return; // nothing recorded in this slice: no index used
    const runMs = performance.now() - this.startedAt;
    this.writes = this.writes.then(async () => {
      try {
        const sha256 = await sha256Hex(await blob.arrayBuffer());
        const chunk = await store.saveChunk({
          sessionId: this.sessionId,
          kind: this.kind,
          part: this.part,
          sha256,
          blob,
          mime: this.mime,
          startedMs: this.startedMs,
        }, { runMs });
        this.onChunk(chunk);
      } catch (error) {
        // Storage full or broken: the chunk is lost. Say so in the console for support.
        console.error("could not store a recording chunk", error);
      }
    });
  }

  // Ends the run; resolves once its last chunk is stored.
  stop() {
    this.stopping ??= new Promise((resolve) => {
      if (!this.recorder || this.recorder.state === "inactive") return resolve();
      this.recorder.addEventListener("stop", resolve, { once: true });
      this.recorder.stop();
    }).then(() => this.writes);
    return this.stopping;
  }
}
