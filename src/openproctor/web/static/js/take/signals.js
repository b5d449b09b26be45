// Browser events the proctor should know about, sent as protocol signals while the exam runs
// (what each feeds: openproctor/rules/conditions.py).
import { countScreens } from "./checks.js";
import * as media from "./media.js";

// From "pagehide" on the page is unloading (a reload, a closed tab, a navigation): the tab
// hidden, the window blurred and the tracks ended that the browser then reports are the page
// going away, which the server learns from the socket's close and judges with its grace period.
let unloading = false;
addEventListener("pagehide", () => (unloading = true));
addEventListener("pageshow", () => (unloading = false)); // back from the back-forward cache

// `send` that stays quiet while the page unloads.
export const whileHere = (send) => (name, value) => {
  if (!unloading) send(name, value);
};

// Returns a function that removes every listener again. `send` should be whileHere's;
// `trackEnded(kind)` hears about a camera or microphone that stopped.
export function watchBrowser(send, { trackEnded = () => {} } = {}) {
  const listeners = [];
  const on = (target, type, handler) => {
    target.addEventListener(type, handler);
    listeners.push(() => target.removeEventListener(type, handler));
  };

  // Where the page stands, first: the server may still hold what the page before it said.
  send(document.hidden ? "tab_hidden" : "tab_visible");
  if (document.hasFocus()) send("window_focus");
  if (media.cameraStream()?.getVideoTracks().some((track) => track.readyState === "live")) {
    send("camera_restored");
  }

  on(document, "visibilitychange", () => send(document.hidden ? "tab_hidden" : "tab_visible"));
  on(window, "blur", () => send("window_blur"));
  on(window, "focus", () => send("window_focus"));
  on(document, "fullscreenchange", () =>
    send(document.fullscreenElement ? "fullscreen_enter" : "fullscreen_exit"));
  for (const type of ["copy", "cut", "paste"]) on(document, type, () => send(type));

  let screens = null;
  const reportScreens = async () => {
    const count = await countScreens();
    if (count !== screens) send("screens", (screens = count));
  };
  reportScreens();
  if (window.screen.addEventListener) on(window.screen, "change", reportScreens);

  watchTracks(on, send, trackEnded);

  return () => listeners.splice(0).forEach((remove) => remove());
}

export function watchTracks(on, send, trackEnded) {
  const streams = { camera: media.cameraStream(), microphone: media.microphoneStream() };
  for (const [kind, stream] of Object.entries(streams)) {
    for (const track of stream?.getTracks() ?? []) {
      on(track, "ended", () => {
        if (unloading) return; // the page's tracks end with it
        send(`${kind}_ended`);
        trackEnded(kind);
      });
    }
  }
}
