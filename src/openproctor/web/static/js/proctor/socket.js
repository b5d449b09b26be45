// A WebSocket that reconnects with back-off (1 s doubling to 10 s) until closed on purpose
// or refused for good (4401 not signed in, 4403 not allowed, 4430 too many pages open for
// this account, 4440 the sign-in ended; see openproctor/live/protocol.py).
const FINAL_CLOSES = new Set([4401, 4403, 4430, 4440]);

export function connectSocket(path, { open, text, binary, status }) {
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`;
  let socket = null;
  let retryMs = 1000;
  let closed = false;

  function connect() {
    status("connecting");
    socket = new WebSocket(url);
    socket.binaryType = "blob";
    socket.addEventListener("open", () => {
      retryMs = 1000;
      status("live");
      open?.();
    });
    socket.addEventListener("message", (event) => {
      if (typeof event.data === "string") {
        try {
          text(JSON.parse(event.data));
        } catch (error) {
          console.warn("proctor socket: bad message", error);
        }
      } else {
        binary(event.data);
      }
    });
    socket.addEventListener("close", (event) => {
      if (closed) return;
      if (FINAL_CLOSES.has(event.code)) {
        status("refused", event.code, event.reason);
        return;
      }
      status("reconnecting", Math.round(retryMs / 1000));
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 10000);
    });
  }
  connect();

  return {
    send(message) {
      if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
    },
    close() {
      closed = true;
      socket?.close(1000);
    },
  };
}
