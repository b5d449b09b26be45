// Sends the chunks IndexedDB holds, oldest first, and deletes each one only once the server
// has acknowledged it. Retries with exponential back-off (1 s → 30 s, with jitter), waits for
// the network to come back, and picks up after a reload or a browser restart. Once a stream is
// finished and fully sent, tells the server how many chunks it has ("complete").
import * as api from "./api.js";
import * as store from "./chunkstore.js";

const MIN_RETRY_MS = 1000;
const MAX_RETRY_MS = 30000;
const CHUNK_TIMEOUT_MS = 60000;
// Answers after which sending the same chunk again cannot help.
const REFUSED = new Set([409, 413, 422]);
// Answers after which no upload for this session can succeed (invite gone, uploads closed).
const CLOSED = new Set([401, 403, 404]);
// The server is out of space: the chunk stays here and is sent again later, like any retry.
const SERVER_FULL = 507;

const sleep = (ms, wake) =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    wake.push(() => {
      clearTimeout(timer);
      resolve();
    });
  });

export class Uploader {
  // onProgress({pending, sent, refused, offline, serverFull, retryInS, closed, done})
  constructor(sessionId, { onProgress = () => {} } = {}) {
    this.sessionId = sessionId;
    this.onProgress = onProgress;
    this.sent = 0;
    this.refused = 0;
    this.pending = 0;
    this.running = false;
    this.closed = false;
    this.serverFull = false; // the last answer was "out of space"
    this.retryMs = MIN_RETRY_MS;
    this.retryInS = 0;
    this.wakers = [];
    this.idle = [];
    this.dirty = false;
    this.ended = false; // the session ended: finished streams may be completed
    this.wake = () => this.wakers.splice(0).forEach((wake) => wake());
    addEventListener("online", () => {
      this.retryMs = MIN_RETRY_MS;
      this.wake();
      this.report();
    });
    addEventListener("offline", () => this.report());
  }

  report() {
    this.onProgress({
      pending: this.pending,
      sent: this.sent,
      refused: this.refused,
      offline: !navigator.onLine,
      serverFull: this.serverFull,
      retryInS: this.retryInS,
      closed: this.closed,
      done: this.pending === 0,
    });
  }

  // A chunk was stored: count it at once (the sending loop finds it on its next pass).
  added() {
    this.pending += 1;
    this.report();
    this.kick();
  }

  // Something new to send (or the session ended): start sending if not already.
  kick() {
    this.dirty = true;
    this.wake();
    if (!this.running) this.run();
  }

  // Resolves when nothing is left to send (or sending became impossible).
  drained() {
    if (!this.running && this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  async run() {
    this.running = true;
    try {
      do {
        this.dirty = false;
        for (;;) {
          const chunks = await store.pendingChunks(this.sessionId);
          this.pending = chunks.length;
          this.report();
          if (!chunks.length || this.closed) break;
          for (const chunk of chunks) {
            if (this.closed) break;
            await this.send(chunk);
          }
        }
        if (!this.closed) await this.completeFinished();
      } while (this.dirty && !this.closed);
    } catch (error) {
      console.error("recording upload stopped", error);
    } finally {
      this.running = false;
      this.report();
      this.idle.splice(0).forEach((resolve) => resolve());
    }
  }

  // Sends one chunk until the server answers for it.
  async send(chunk) {
    for (;;) {
      if (!navigator.onLine) await sleep(MAX_RETRY_MS, this.wakers); // "online" wakes it early
      const status = await this.put(chunk);
      this.serverFull = status === SERVER_FULL;
      if (status >= 200 && status < 300 || REFUSED.has(status)) {
        if (REFUSED.has(status)) {
          this.refused += 1;
          console.error(`recording chunk ${chunk.kind} #${chunk.index} refused (${status})`);
        } else {
          this.sent += 1;
        }
        await store.deleteChunk(chunk);
        this.pending = Math.max(this.pending - 1, 0);
        this.retryMs = MIN_RETRY_MS;
        this.retryInS = 0;
        this.report();
        return;
      }
      if (CLOSED.has(status)) {
        this.closed = true;
        return;
      }
      // Not reached, timed out, out of space or a server error: wait, then try the same
      // chunk again (it stays in IndexedDB until the server has it).
      const wait = this.retryMs * (0.5 + Math.random() / 2);
      this.retryInS = Math.ceil(wait / 1000);
      this.report();
      await sleep(wait, this.wakers);
      this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
    }
  }

  async put(chunk) {
    // When the chunk's run (its part) started, with every chunk so that a part whose first
    // chunk was lost still has it; and the browser's clock now, which the server compares with
    // its own to correct the start if this clock is off.
    const headers = {
      "Content-Type": chunk.mime,
      "X-Chunk-SHA256": chunk.sha256,
      "X-Recording-Part": String(chunk.part),
      "X-Chunk-Started-Ms": String(Math.round(chunk.startedMs)),
      "X-Chunk-Sent-Ms": String(Date.now()),
    };
    const path = `/sessions/${this.sessionId}/recordings/${chunk.kind}/chunks/${chunk.index}`;
    try {
      await api.upload(path, chunk.blob, headers, CHUNK_TIMEOUT_MS);
      return 200;
    } catch (error) {
      return error.status ?? 0;
    }
  }

  // Streams that will not grow any more and are fully sent: tell the server their length.
  async completeFinished() {
    for (const stream of await store.streamsOf(this.sessionId)) {
      if (stream.completed || !(stream.finished || this.ended)) continue;
      if (stream.kind !== "room_scan" && !this.ended) continue;
      const recordedS = Object.values(stream.runs).reduce((sum, ms) => sum + ms, 0) / 1000;
      const completion = { chunks: stream.nextIndex, recorded_s: Math.round(recordedS * 1000) / 1000 };
      try {
        try {
          await api.completeRecording(this.sessionId, stream.kind, completion);
        } catch (error) {
          if (error.status !== 409) throw error;
          // The server has chunks this browser forgot (its storage was cleared): count them.
          const status = await api.recordingStatus(this.sessionId);
          const known = status.streams.find((s) => s.kind === stream.kind)?.received ?? [];
          completion.chunks = Math.max(completion.chunks, ...known.map((i) => i + 1));
          await api.completeRecording(this.sessionId, stream.kind, completion);
        }
      } catch (error) {
        if (error.status === 0 || error.status >= 500) {
          setTimeout(() => this.kick(), this.retryMs);
          continue;
        }
        console.error(`could not complete the ${stream.kind} recording`, error);
      }
      await store.updateStream(this.sessionId, stream.kind, (s) => {
        s.finished = true;
        s.completed = true;
      });
    }
  }

  // The exam ended: every stream is finished; complete them once they are sent.
  finish() {
    this.ended = true;
    this.kick();
  }
}
