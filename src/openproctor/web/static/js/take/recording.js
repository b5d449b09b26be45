// What the candidate's browser records for one session, and how far the sending is: the webcam
// with the microphone, the screen when the exam asks for it, the optional room scan. Every
// chunk goes to IndexedDB first (recorder.js), then to the server (uploader.js).
import * as api from "./api.js";
import * as store from "./chunkstore.js";
import * as media from "./media.js";
import { StreamRecorder } from "./recorder.js";
import { Uploader } from "./uploader.js";

export const ROOM_SCAN_SECONDS = 15;

// Only one tab records a session at a time: a second tab waits for the first to let go
// (the first stops when the server tells it a newer tab took over).
function holdLock(name) {
  if (!navigator.locks) return Promise.resolve(() => {});
  return new Promise((acquired) => {
    navigator.locks.request(name, () => new Promise((release) => acquired(release)));
  });
}

export class SessionRecording {
  constructor(sessionId) {
    this.sessionId = sessionId;
    this.recorders = {}; // kind -> StreamRecorder
    this.serverNext = {}; // kind -> the index after the highest the server has
    this.serverKinds = new Set();
    this.listeners = new Set();
    this.progress = { pending: 0, sent: 0, done: true, offline: !navigator.onLine };
    this.ready = null; // the server's status, read once
    this.locking = null; // resolves to the release of the recording lock
    this.over = false; // the exam ended: nothing more is recorded
    this.uploader = new Uploader(sessionId, {
      onProgress: (progress) => {
        this.progress = progress;
        for (const listener of this.listeners) listener(progress, this);
      },
    });
  }

  // Reads what the server already has, then sends whatever this browser still holds.
  // Recording waits for this (the numbering needs it); the page does not.
  prepare() {
    this.ready ??= this.readStatus();
    return this.ready;
  }

  async readStatus() {
    try {
      const status = await api.recordingStatus(this.sessionId);
      for (const stream of status.streams) {
        this.serverNext[stream.kind] = Math.max(-1, ...stream.received) + 1;
        if (stream.received.length) this.serverKinds.add(stream.kind);
      }
    } catch {
      // Offline: IndexedDB's own counters still keep the numbering right.
    }
    this.uploader.kick();
    return this;
  }

  onProgress(listener) {
    this.listeners.add(listener);
    listener(this.progress, this);
    return () => this.listeners.delete(listener);
  }

  get recordingKinds() {
    return Object.keys(this.recorders).filter((kind) => this.recorders[kind].recording);
  }

  async start(kind, stream, { onStopped } = {}) {
    await this.prepare();
    await this.recorders[kind]?.stop();
    this.locking ??= holdLock(`openproctor-recording:${this.sessionId}`);
    await this.locking;
    if (this.over) return null;
    const recorder = new StreamRecorder({
      sessionId: this.sessionId,
      kind,
      stream,
      serverNext: this.serverNext[kind] ?? 0,
      onChunk: () => this.uploader.added(),
      onStopped: () => {
        if (this.recorders[kind] === recorder) delete this.recorders[kind];
        onStopped?.();
      },
    });
    this.recorders[kind] = recorder;
    try {
      await recorder.start();
    } catch (error) {
      delete this.recorders[kind];
      throw error;
    }
    return recorder;
  }

  // The webcam's picture with the microphone's sound, as one recording.
  startWebcam() {
    const tracks = [
      ...(media.cameraStream()?.getVideoTracks() ?? []),
      ...(media.microphoneStream()?.getAudioTracks() ?? []),
    ].filter((track) => track.readyState === "live");
    if (!tracks.some((track) => track.kind === "video")) return Promise.resolve(null);
    return this.start("webcam", new MediaStream(tracks));
  }

  startScreen(onStopped) {
    const screen = media.screenStream();
    if (!screen) return Promise.resolve(null);
    return this.start("screen", screen, { onStopped });
  }

  // Records `seconds` of the camera for the room scan; onTick(secondsLeft) every second.
  async roomScan(seconds, onTick) {
    const tracks = [
      ...(media.cameraStream()?.getVideoTracks() ?? []),
      ...(media.microphoneStream()?.getAudioTracks() ?? []),
    ];
    const recorder = await this.start("room_scan", new MediaStream(tracks));
    for (let left = seconds; left > 0; left -= 1) {
      onTick(left);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    onTick(0);
    await this.stop("room_scan");
    await store.updateStream(this.sessionId, "room_scan", (stream) => (stream.finished = true));
    this.uploader.kick(); // sends the rest, then completes the room scan
    return recorder;
  }

  // True when this session's room scan was recorded already (in this browser or another).
  async hasRoomScan() {
    await this.prepare();
    const local = await store.getStream(this.sessionId, "room_scan");
    return local.finished || this.serverKinds.has("room_scan");
  }

  async stop(kind) {
    const recorder = this.recorders[kind];
    delete this.recorders[kind];
    await recorder?.stop();
  }

  // Stops every recorder; resolves once their last chunks are stored.
  async stopRecorders() {
    await Promise.all(Object.keys(this.recorders).map((kind) => this.stop(kind)));
    const locking = this.locking;
    this.locking = null;
    (await locking)?.();
  }

  // The exam ended: stop recording, send the rest, then tell the server the totals.
  async end() {
    this.over = true;
    await this.stopRecorders();
    this.uploader.finish();
  }

  drained() {
    return this.uploader.drained();
  }
}

export const SERVER_FULL_TEXT =
  "The server is out of space right now. Your recording is kept on this computer and will be sent later";

// "Sending your recording: 3 of 12 parts left" and a bar, for any element holding a
// <progress> and a .upload-text.
export function describeProgress(progress, total) {
  const left = progress.pending;
  if (progress.closed) {
    return "The server no longer accepts this recording. Please contact the person who sent you the exam link.";
  }
  if (!left) return "Your recording has been sent. Thank you.";
  const parts = `${left} of ${total} part${total === 1 ? "" : "s"} left`;
  if (progress.offline) return `You are offline. Sending continues when your connection is back (${parts}).`;
  if (progress.serverFull) return `${SERVER_FULL_TEXT} (${parts}, next try in ${progress.retryInS} s).`;
  if (progress.retryInS) return `The connection is slow or interrupted; we keep trying (${parts}, next try in ${progress.retryInS} s).`;
  return `Sending your recording… ${parts}.`;
}

export function showProgress(element, recording) {
  let total = 0;
  const bar = element.querySelector("progress");
  const text = element.querySelector(".upload-text");
  return recording.onProgress((progress) => {
    total = Math.max(total, progress.pending); // the most that was waiting at once
    element.dataset.pending = String(progress.pending);
    element.dataset.state = progress.closed ? "closed" : progress.pending ? "sending" : "done";
    if (bar) {
      bar.max = Math.max(total, 1);
      bar.value = total ? total - progress.pending : 1;
    }
    if (text) text.textContent = describeProgress(progress, total);
  });
}
