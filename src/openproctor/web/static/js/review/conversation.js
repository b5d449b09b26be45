// The attempt's conversation on the review page: every message both ways, broadcasts and the
// raised hand, oldest first; with recordings, each jumps the players to when it was written.
import { clock, el, messageHeading } from "../lib/format.js";

// seekTo(iso) plays the recordings from that moment, or is null without recordings.
export function showConversation(list, messages, seekTo) {
  if (!messages.length) {
    list.replaceChildren(el("li", { className: "meta", textContent: "No messages." }));
    return;
  }
  list.replaceChildren(...messages.map((message) => {
    const hand = message.kind === "hand_raised" || message.kind === "hand_lowered";
    const when = seekTo
      ? el("button", { type: "button", className: "link", textContent: clock(message.created_at), title: "Play the recordings from here" })
      : el("time", { textContent: clock(message.created_at) });
    when.addEventListener("click", () => seekTo?.(message.created_at));
    return el("li", { className: `msg msg-${message.kind}`, dataset: { kind: message.kind, sender: message.sender } },
      el("strong", { textContent: messageHeading(message) }), " ", when,
      ...(hand ? [] : [el("p", { textContent: message.body })]));
  }));
}
