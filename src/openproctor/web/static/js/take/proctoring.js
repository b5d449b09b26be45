// Everything live while the exam runs: the socket with frames, audio and signals, the
// connection and camera banners, the fullscreen banner and the paused overlay.
import { startMicrophone } from "./audio.js";
import { LivePublisher } from "./live.js";
import { startChat } from "./chat.js";
import * as media from "./media.js";
import { showMessage, warningsCleared } from "./messages.js";
import { watchBrowser, watchTracks, whileHere } from "./signals.js";
import { SilenceGate } from "./silence.js";
import { LiveLink } from "./stream.js";

const $ = (id) => document.getElementById(id);
// What the candidate is told while staff receive their live camera and microphone.
const WATCHED = {
  wall: "Your proctor can see and hear you live.",
  close: "Your proctor is watching you live now.",
};

export function requestFullscreen() {
  // Must run inside the click handler; refusals (headless, iframes) are not fatal.
  document.documentElement.requestFullscreen?.({ navigationUI: "hide" }).catch(() => {});
}

// handlers: {state(message), hello(message), ended(code, reason), cameraRestored()}
export function startProctoring({ token, sessionId, policy, root, recordsScreen, handlers }) {
  const selfView = root.querySelector(".self-view");
  const linkStatus = root.querySelector(".link-status");
  const linkText = linkStatus.querySelector(".link-text");
  const connectionBanner = $("banner-connection");
  const cameraBanner = $("banner-camera");
  const fullscreenBanner = $("banner-fullscreen");
  const speaking = root.querySelector(".proctor-speaking");
  const watched = root.querySelector(".live-watch");
  let microphone = null;
  let paused = false;
  let wasLive = false;

  // Self-correction prompts (rules/prompts.py): one line per condition, in words and with an
  // icon (not colour alone), read out politely by screen readers (#prompts is role=status).
  const prompts = $("prompts");
  const showPrompt = ({ kind, text, shown }) => {
    prompts.querySelector(`[data-kind="${CSS.escape(kind)}"]`)?.remove();
    if (!shown) return;
    const line = document.createElement("p");
    line.className = "banner prompt";
    line.dataset.testid = "prompt";
    line.dataset.kind = kind;
    const icon = document.createElement("span");
    icon.className = "prompt-icon";
    icon.setAttribute("aria-hidden", "true");
    icon.textContent = "ⓘ";
    const words = document.createElement("span");
    words.className = "prompt-text";
    words.textContent = text;
    line.append(icon, words);
    prompts.append(line);
  };

  if (media.cameraStream()) media.attachPreview(selfView);
  startChat(root.querySelector(".proctor-panel"), sessionId);

  const link = new LiveLink(token, {
    status(kind, detail) {
      linkStatus.dataset.state = kind;
      if (kind === "live" || kind === "reconnecting") publisher.stop(); // viewers join afresh
      if (kind === "live") {
        linkText.textContent = "Connected to your proctor.";
        connectionBanner.hidden = true;
        wasLive = true;
      } else if (kind === "reconnecting") {
        linkText.textContent = wasLive ? "Reconnecting…" : "Connecting…";
        connectionBanner.hidden = false;
        connectionBanner.textContent = wasLive
          ? "Reconnecting… Your connection to the proctor dropped. Keep working: your answers are kept and saved when it is back."
          : "Connecting you to your proctor… this can take a moment. You can already start working.";
      } else if (kind === "error" && detail) {
        linkText.textContent = `Connection problem: ${detail}`;
      }
    },
    hello(message) {
      audioGate.configure(message);
      prompts.replaceChildren(); // the server says which prompts are showing now
      for (const item of message.prompts ?? []) showPrompt(item);
      for (const item of message.messages ?? []) showMessage(item, { quiet: true });
      handlers.hello?.(message);
    },
    message: (message) => showMessage(message),
    prompt: showPrompt,
    rtc: (message) => publisher.receive(message),
    rtcConfig: (message) => publisher.configure(message),
    warningsCleared,
    state(message) {
      handlers.state?.(message);
    },
    closed(code, reason) {
      connectionBanner.hidden = false;
      if (code === 4408) {
        connectionBanner.textContent = "This exam is now open in another window or tab, so this one stopped. Please carry on there and close this one.";
      } else {
        connectionBanner.hidden = true;
      }
      handlers.ended?.(code, reason);
    },
  });
  const publisher = new LivePublisher((message) => link.sendRtc(message), {
    speaking(on) {
      speaking.hidden = !on;
    },
    watching(how) {
      watched.hidden = !how;
      watched.textContent = WATCHED[how] ?? "";
    },
    screen: recordsScreen,
  });
  const audioGate = new SilenceGate((pcm, tsMs) => link.sendAudio(pcm, tsMs));
  const hearAudio = (pcm, tsMs) => audioGate.push(pcm, tsMs);
  link.start();

  if (media.microphoneStream()) {
    startMicrophone(media.microphoneStream(), hearAudio)
      .then((running) => (microphone = running))
      .catch(() => link.signal("microphone_ended", "audio processing failed"));
  }

  // Camera stopped (unplugged, taken by another program, permission revoked): offer a restart.
  const cameraEnded = (kind) => {
    cameraBanner.hidden = false;
    cameraBanner.querySelector(".banner-text").textContent = kind === "camera"
      ? "Your camera has stopped. Your proctor needs to see you during the exam."
      : "Your microphone has stopped. Your proctor needs to hear you during the exam.";
  };
  $("camera-restart").onclick = async () => {
    try {
      await media.openCamera({ width: policy.frame_width, height: policy.frame_height });
      await media.openMicrophone();
      media.attachPreview(selfView);
      publisher.replaceTracks();
      microphone?.stop();
      microphone = await startMicrophone(media.microphoneStream(), hearAudio);
      watchTracks((target, type, handler) => target.addEventListener(type, handler), send, cameraEnded);
      cameraBanner.hidden = true;
      link.signal("camera_restored");
      handlers.cameraRestored?.();
    } catch (error) {
      cameraBanner.querySelector(".banner-text").textContent = error.message;
    }
  };
  const send = whileHere((name, value) => link.signal(name, value));
  // The socket may take a while to notice a lost network; say so at once.
  const offline = () => {
    connectionBanner.hidden = false;
    connectionBanner.textContent = "You are offline. Keep working: your answers are kept on this page and saved when you are back online.";
  };
  const online = () => {
    if (linkStatus.dataset.state === "live") connectionBanner.hidden = true;
  };
  addEventListener("offline", offline);
  addEventListener("online", online);
  const unwatch = watchBrowser(send, { trackEnded: cameraEnded });
  if (!media.cameraStream()) cameraEnded("camera");

  let stopped = false;
  const checkFullscreen = () => {
    fullscreenBanner.hidden =
      stopped || !policy.require_fullscreen || Boolean(document.fullscreenElement) || paused;
  };
  document.addEventListener("fullscreenchange", checkFullscreen);
  $("fullscreen-return").onclick = requestFullscreen;
  // Give the browser a moment to enter fullscreen before complaining.
  const fullscreenTimer = setTimeout(checkFullscreen, 1500);

  return {
    signal: send,
    mediaChanged: () => publisher.replaceTracks(), // a device or the screen opened again
    setPaused(value) {
      paused = value;
      link.setPaused(value);
      $("paused").hidden = !value;
      checkFullscreen();
    },
    stop() {
      stopped = true;
      clearTimeout(fullscreenTimer);
      link.stop();
      publisher.stop();
      microphone?.stop();
      unwatch();
      removeEventListener("offline", offline);
      removeEventListener("online", online);
      document.removeEventListener("fullscreenchange", checkFullscreen);
      prompts.replaceChildren();
      for (const id of ["banner-connection", "banner-camera", "banner-fullscreen", "banner-screen", "paused"]) $(id).hidden = true;
      if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    },
  };
}
