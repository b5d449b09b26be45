// The candidate's one live socket (see openproctor/live/protocol.py): webcam frames and
// microphone audio as binary messages, browser signals and heartbeats as JSON, and the
// proctor's messages and state changes coming back. Reconnects with back-off.
import * as media from "./media.js";

const FRAME = 1;
const AUDIO = 2;
const HEADER_BYTES = 13; // u8 kind, u32 seq, f64 ts_ms, big-endian
const HEARTBEAT_MS = 5000;
const MAX_BUFFERED = 512 * 1024; // skip frames rather than queue them behind a slow link
const MAX_QUEUED_SIGNALS = 200;
// Close codes after which reconnecting cannot help.
const FINAL_CLOSES = new Set([4401, 4403, 4408, 4409]);

export const nowMs = () => performance.timeOrigin + performance.now();

function header(kind, seq, tsMs) {
  const view = new DataView(new ArrayBuffer(HEADER_BYTES));
  view.setUint8(0, kind);
  view.setUint32(1, seq >>> 0);
  view.setFloat64(5, tsMs);
  return view.buffer;
}

export class LiveLink {
  // handlers: {hello, rate, message, state, status(kind, detail), closed(code, reason)}
  constructor(token, handlers) {
    this.url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/take/${token}`;
    this.on = handlers;
    this.socket = null;
    this.fps = 1;
    this.size = { width: 640, height: 480 };
    this.paused = false;
    this.stopped = false;
    this.retryMs = 1000;
    this.seq = { [FRAME]: 0, [AUDIO]: 0 };
    this.queue = [];
    this.frameTimer = null;
    this.heartbeatTimer = null;
  }

  get open() {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.frameTimer);
    clearInterval(this.heartbeatTimer);
    this.socket?.close(1000, "exam finished");
    this.socket = null;
  }

  setPaused(paused) {
    this.paused = paused;
  }

  signal(name, value = null) {
    const message = { type: "signal", name, ts: nowMs(), value };
    if (this.open) this.socket.send(JSON.stringify(message));
    else if (this.queue.length < MAX_QUEUED_SIGNALS) this.queue.push(message);
  }

  sendAudio(pcm, tsMs) {
    if (!this.open || this.paused) return;
    this.send(AUDIO, new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength), tsMs);
  }

  // One binary media message: the header, then the payload.
  send(kind, bytes, tsMs) {
    const message = new Uint8Array(HEADER_BYTES + bytes.byteLength);
    message.set(new Uint8Array(header(kind, this.seq[kind]++, tsMs)), 0);
    message.set(bytes, HEADER_BYTES);
    this.socket.send(message.buffer);
  }

  connect() {
    this.on.status?.(this.socket ? "reconnecting" : "connecting");
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.seq = { [FRAME]: 0, [AUDIO]: 0 };
      this.retryMs = 1000;
      for (const message of this.queue.splice(0)) socket.send(JSON.stringify(message));
      clearInterval(this.heartbeatTimer);
      this.heartbeatTimer = setInterval(() => {
        if (this.open) socket.send(JSON.stringify({ type: "heartbeat", ts: nowMs() }));
      }, HEARTBEAT_MS);
    });
    socket.addEventListener("message", (event) => {
      if (typeof event.data === "string") this.receive(event.data);
    });
    socket.addEventListener("close", (event) => {
      if (socket !== this.socket) return;
      clearInterval(this.heartbeatTimer);
      clearTimeout(this.frameTimer);
      if (this.stopped) return;
      if (FINAL_CLOSES.has(event.code)) {
        this.stopped = true;
        this.on.closed?.(event.code, event.reason);
        return;
      }
      this.on.status?.("reconnecting", Math.round(this.retryMs / 1000));
      setTimeout(() => this.stopped || this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 10000);
    });
  }

  receive(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    switch (message.type) {
      case "hello":
        this.fps = message.fps || 1;
        if (message.width && message.height) this.size = { width: message.width, height: message.height };
        this.on.status?.("live");
        this.on.hello?.(message);
        this.scheduleFrame(0);
        break;
      case "rate":
        if (message.fps > 0) {
          this.fps = message.fps;
          this.scheduleFrame(0);
        }
        break;
      case "message":
        this.on.message?.(message);
        break;
      case "state":
        this.on.state?.(message);
        break;
      case "warnings_cleared":
        this.on.warningsCleared?.();
        break;
      case "error":
        this.on.status?.("error", message.reason);
        break;
    }
  }

  scheduleFrame(delayMs = 1000 / this.fps) {
    clearTimeout(this.frameTimer);
    this.frameTimer = setTimeout(() => this.sendFrame(), delayMs);
  }

  async sendFrame() {
    const socket = this.socket;
    const started = performance.now();
    if (this.open && !this.paused && socket.bufferedAmount < MAX_BUFFERED) {
      const tsMs = nowMs();
      const jpeg = await media.captureJpeg({ ...this.size, quality: 0.7 });
      const bytes = jpeg && new Uint8Array(await jpeg.arrayBuffer());
      if (bytes && socket === this.socket && this.open && !this.paused) {
        this.send(FRAME, bytes, tsMs);
      }
    }
    if (socket === this.socket && this.open) {
      this.scheduleFrame(Math.max(1000 / this.fps - (performance.now() - started), 0));
    }
  }
}
