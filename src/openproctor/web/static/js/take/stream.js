// The candidate's one live socket (see openproctor/live/protocol.py): webcam frames and
// microphone audio as binary messages, browser signals and heartbeats as JSON, and the
// proctor's messages and state changes coming back. Reconnects with back-off (lib/socket.js).
import { ReconnectingSocket, socketUrl } from "../lib/socket.js";
import * as media from "./media.js";

const FRAME = 1;
const AUDIO = 2;
const HEADER_BYTES = 13; // u8 kind, u32 seq, f64 ts_ms, big-endian
const HEARTBEAT_MS = 5000;
const MAX_BUFFERED = 512 * 1024; // skip frames rather than queue them behind a slow link
const MAX_QUEUED_SIGNALS = 200;
// Close codes after which reconnecting cannot help: 4401 bad or expired invite, 4403 not
// allowed, 4408 replaced by a newer socket (another tab), 4409 the session already ended.
const FINAL_CLOSES = [4401, 4403, 4408, 4409];

export const nowMs = () => performance.timeOrigin + performance.now();

function header(kind, seq, tsMs) {
  const view = new DataView(new ArrayBuffer(HEADER_BYTES));
  view.setUint8(0, kind);
  view.setUint32(1, seq >>> 0);
  view.setFloat64(5, tsMs);
  return view.buffer;
}

export class LiveLink {
  // handlers: {hello, rate, message, state, status(kind, detail), closed(code, reason),
  //   rtc(message), rtcConfig(message)}
  constructor(token, handlers) {
    this.on = handlers;
    this.fps = 1;
    this.size = { width: 640, height: 480 };
    this.paused = false;
    this.seq = { [FRAME]: 0, [AUDIO]: 0 };
    this.frameTimer = null;
    this.heartbeatTimer = null;
    this.socket = new ReconnectingSocket(socketUrl(`/ws/take/${token}`), {
      finalCodes: FINAL_CLOSES,
      queueLimit: MAX_QUEUED_SIGNALS, // signals seen while offline go out on reconnect
      onState: (state, detail) => this.changed(state, detail),
      onOpen: () => {
        this.seq = { [FRAME]: 0, [AUDIO]: 0 };
        clearInterval(this.heartbeatTimer);
        this.heartbeatTimer = setInterval(() => {
          if (this.open) this.socket.sendJson({ type: "heartbeat", ts: nowMs() }); // never queued
        }, HEARTBEAT_MS);
      },
      onJson: (message) => this.receive(message),
    });
  }

  get open() {
    return this.socket.isOpen;
  }

  start() {
    this.socket.start();
  }

  stop() {
    this.stopTimers();
    this.socket.close(1000, "exam finished");
  }

  setPaused(paused) {
    this.paused = paused;
  }

  // A WebRTC signalling step: never queued, it means nothing after a reconnect.
  sendRtc(message) {
    if (this.open) this.socket.sendJson(message);
  }

  signal(name, value = null) {
    this.socket.sendJson({ type: "signal", name, ts: nowMs(), value });
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
    this.socket.sendBinary(message.buffer);
  }

  stopTimers() {
    clearTimeout(this.frameTimer);
    clearInterval(this.heartbeatTimer);
  }

  // "live" waits for the server's hello (in receive): an open socket is not yet a session.
  changed(state, { retry, code, reason }) {
    if (state === "connecting") {
      this.on.status?.(retry ? "reconnecting" : "connecting");
    } else if (state === "reconnecting") {
      this.stopTimers();
      this.on.status?.("reconnecting");
    } else if (state === "closed") {
      this.stopTimers();
      this.on.closed?.(code, reason);
    }
  }

  receive(message) {
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
      case "prompt":
        this.on.prompt?.(message);
        break;
      case "warnings_cleared":
        this.on.warningsCleared?.();
        break;
      case "rtc":
      case "rtc_refused":
        this.on.rtc?.(message);
        break;
      case "rtc_config":
        this.on.rtcConfig?.(message);
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
    const connection = this.socket.connections; // a reconnect while capturing drops the frame
    const started = performance.now();
    if (this.open && !this.paused && this.socket.bufferedAmount < MAX_BUFFERED) {
      const tsMs = nowMs();
      const jpeg = await media.captureJpeg({ ...this.size, quality: 0.7 });
      const bytes = jpeg && new Uint8Array(await jpeg.arrayBuffer());
      if (bytes && connection === this.socket.connections && this.open && !this.paused) {
        this.send(FRAME, bytes, tsMs);
      }
    }
    if (connection === this.socket.connections && this.open) {
      this.scheduleFrame(Math.max(1000 / this.fps - (performance.now() - started), 0));
    }
  }
}
