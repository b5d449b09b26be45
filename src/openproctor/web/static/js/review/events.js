// The attempt's interventions and messages on the review page (GET .../events): every message
// both ways, the raised hand, and what proctors did (admission, warnings, pauses, extra time,
// talking, termination), oldest first, labelled by the server. With recordings, each time
// plays the players from that moment.
import { el } from "../lib/format.js";
import { bothClocks, examClock } from "./times.js";

// seekTo(iso) plays the recordings from that moment, or is null without recordings.
export function showEvents(list, events, seekTo) {
  if (!events.length) {
    list.replaceChildren(el("li", { className: "meta", textContent: "No interventions and no messages." }));
    return;
  }
  list.replaceChildren(...events.map((event, index) => {
    const when = seekTo
      ? el("button", { type: "button", className: "link", textContent: examClock(event.at), title: `${bothClocks(event.at)}: play the recordings from here` })
      : el("time", { textContent: examClock(event.at), title: bothClocks(event.at), dateTime: event.at });
    when.addEventListener("click", () => seekTo?.(event.at));
    const by = event.by && event.by !== "Candidate" ? el("span", { className: "meta", textContent: ` · ${event.by}` }) : null;
    return el("li", {
      className: `msg msg-${event.kind}${event.intervention ? " intervention" : ""}`,
      tabIndex: -1,
      dataset: { kind: event.kind, index: String(index), testid: "event" },
    },
    el("strong", { textContent: event.label }), by, " ", when,
    ...(event.text ? [el("p", { textContent: event.text })] : []));
  }));
}
