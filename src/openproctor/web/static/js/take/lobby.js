// The lobby: a candidate not admitted automatically waits here for a proctor, whose decision
// (admitted, rejected, asked to retry) arrives at once on the lobby socket
// (openproctor/sockets/lobby.py). The socket reconnects by itself; its first message is the
// decision as it stands, so one taken while it was down is not missed.
import { ReconnectingSocket, socketUrl } from "../lib/socket.js";

// Invite gone (4401), cross-site (4403), not waiting any more (4409): nothing to wait for.
const FINAL_CLOSES = [4401, 4403, 4409];

// Calls onDecision(message) once, with {admission, note, state}, when the wait is over.
export function waitForAdmission(token, onDecision) {
  let decided = false;
  const decide = (message) => {
    if (decided) return;
    decided = true;
    socket.close();
    onDecision(message);
  };
  const socket = new ReconnectingSocket(socketUrl(`/ws/take/${token}/lobby`), {
    finalCodes: FINAL_CLOSES,
    onJson(message) {
      if (message.type === "admission" && message.admission !== "waiting") decide(message);
    },
    // Closed for good without a decision heard (the session changed another way): the page
    // reads its state again.
    onState(state) {
      if (state === "closed") decide({ admission: null, note: null, state: null });
    },
  });
  socket.start();
  return () => {
    decided = true;
    socket.close();
  };
}
