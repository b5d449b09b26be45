// The one reconnecting WebSocket of our pages (the wall's and the candidate's live sockets; the
// protocol and its close codes are written down in openproctor/live/protocol.py). It reconnects
// with back-off until closed on purpose or closed with one of the caller's final codes, the
// codes after which reconnecting cannot help.
export const FIRST_RETRY_MS = 1000;
export const MAX_RETRY_MS = 10000;

// How long to wait before retry number `retry` (1 for the first): doubling from 1 s up to 10 s,
// less a random part of up to half, so that the pages a restarting node dropped together do not
// all knock again at the same instant.
export function retryDelayMs(retry, random = Math.random) {
  if (!Number.isInteger(retry) || retry < 1) throw new RangeError(`retry must be 1 or more, not ${retry}`);
  const ceiling = Math.min(FIRST_RETRY_MS * 2 ** (retry - 1), MAX_RETRY_MS);
  return ceiling * (1 - random() / 2);
}

// ws:// or wss:// for a path on the server that served the page.
export const socketUrl = (path) => `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`;

export class ReconnectingSocket {
  // finalCodes: close codes that end the socket for good. onState(state, detail) hears
  //   "connecting" {retry: false on the first attempt}, "open", "reconnecting" {code, reason,
  //   delayMs} and "closed" {code, reason} (a final code; nothing follows), never a close made
  //   with close(). onOpen() runs on every (re)connect after queued messages went out; onJson
  //   gets each text message parsed, onBinary each binary one (a Blob). queueLimit: how many
  //   JSON messages sendJson keeps, in order, while the socket is down, to send on reconnect
  //   (0: they are dropped).
  constructor(url, { finalCodes, onState, onOpen, onJson, onBinary, queueLimit = 0 }) {
    this.url = url;
    this.finalCodes = new Set(finalCodes);
    this.handlers = { onState, onOpen, onJson, onBinary };
    this.queueLimit = queueLimit;
    this.queue = [];
    this.socket = null;
    this.connections = 0; // sockets opened so far: tells one connection from the next
    this.retries = 0; // attempts since the server last said something
    this.retryTimer = null;
    this.stopped = true;
  }

  get isOpen() {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  // Bytes handed to send() that the browser has not put on the wire yet.
  get bufferedAmount() {
    return this.socket?.bufferedAmount ?? 0;
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.retries = 0;
    this.connect(false);
  }

  close(code = 1000, reason = "") {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const socket = this.socket;
    this.socket = null;
    socket?.close(code, reason);
  }

  // True when sent now; otherwise queued (while there is room) or dropped.
  sendJson(message) {
    if (this.isOpen) {
      this.socket.send(JSON.stringify(message));
      return true;
    }
    if (this.queue.length < this.queueLimit) this.queue.push(message);
    return false;
  }

  // True when sent; binary messages are never queued (a late frame is worth nothing).
  sendBinary(data) {
    if (!this.isOpen) return false;
    this.socket.send(data);
    return true;
  }

  connect(retry) {
    this.handlers.onState?.("connecting", { retry });
    const socket = new WebSocket(this.url);
    this.socket = socket;
    this.connections += 1;
    socket.addEventListener("open", () => {
      for (const message of this.queue.splice(0)) socket.send(JSON.stringify(message));
      this.handlers.onState?.("open", {});
      this.handlers.onOpen?.();
    });
    socket.addEventListener("message", (event) => {
      // Only a message resets the back-off: the server accepts a socket it refuses in order to
      // give the reason, and such a page should not knock again every second.
      this.retries = 0;
      if (typeof event.data !== "string") {
        this.handlers.onBinary?.(event.data);
        return;
      }
      let message;
      try {
        message = JSON.parse(event.data);
      } catch (error) {
        console.warn("socket: a text message that is not JSON", error);
        return;
      }
      this.handlers.onJson?.(message);
    });
    socket.addEventListener("close", (event) => {
      if (socket !== this.socket || this.stopped) return; // replaced, or closed on purpose
      const { code, reason } = event;
      if (this.finalCodes.has(code)) {
        this.stopped = true;
        this.socket = null;
        this.handlers.onState?.("closed", { code, reason });
        return;
      }
      this.retries += 1;
      const delayMs = retryDelayMs(this.retries);
      this.handlers.onState?.("reconnecting", { code, reason, delayMs });
      this.retryTimer = setTimeout(() => this.stopped || this.connect(true), delayMs);
    });
  }
}
