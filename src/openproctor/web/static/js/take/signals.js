// Browser events the proctor should know about, sent as protocol signals while the exam runs.
import { countScreens } from "./checks.js";
import * as media from "./media.js";

// Returns a function that removes every listener again. `trackEnded(kind)` hears about a
// camera or microphone that stopped; `resumed` says the exam page was reloaded mid-exam.
export function watchBrowser(send, { trackEnded = () => {}, resumed = false } = {}) {
  const listeners = [];
  const on = (target, type, handler) => {
    target.addEventListener(type, handler);
    listeners.push(() => target.removeEventListener(type, handler));
  };

  on(document, "visibilitychange", () => send(document.hidden ? "tab_hidden" : "tab_visible"));
  on(window, "blur", () => send("window_blur"));
  on(window, "focus", () => send("window_focus"));
  on(document, "fullscreenchange", () =>
    send(document.fullscreenElement ? "fullscreen_enter" : "fullscreen_exit"));
  for (const type of ["copy", "cut", "paste"]) on(document, type, () => send(type));
  on(document, "contextmenu", () => send("context_menu"));
  on(window, "online", () => send("online"));
  on(window, "offline", () => send("offline"));

  let screens = null;
  const reportScreens = async () => {
    const count = await countScreens();
    if (count !== screens) send("screens", (screens = count));
  };
  reportScreens();
  if (window.screen.addEventListener) on(window.screen, "change", reportScreens);

  watchTracks(on, send, trackEnded);

  if (resumed && performance.getEntriesByType("navigation")[0]?.type === "reload") send("reload");

  return () => listeners.splice(0).forEach((remove) => remove());
}

export function watchTracks(on, send, trackEnded) {
  const streams = { camera: media.cameraStream(), microphone: media.microphoneStream() };
  for (const [kind, stream] of Object.entries(streams)) {
    for (const track of stream?.getTracks() ?? []) {
      on(track, "ended", () => {
        send(`${kind}_ended`);
        trackEnded(kind);
      });
    }
  }
}
