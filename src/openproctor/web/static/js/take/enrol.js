// Face enrolment: capture a photo every ~1.5 s and send it until the server accepts one, or
// puts the candidate in the lobby (a proctor decides: the session is still "checking").
import * as api from "./api.js";
import * as media from "./media.js";

const RETRY_MS = 1500;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Resolves once a photo is accepted; shows the server's guidance between attempts.
export async function captureUntilEnrolled({ sessionId, policy, status }) {
  const say = (text, tone = "") => {
    status.textContent = text;
    status.dataset.tone = tone;
  };
  say("Hold still for a moment; we are taking your photo…");
  for (let attempt = 1; ; attempt += 1) {
    const jpeg = await media.captureJpeg({
      width: policy.frame_width, height: policy.frame_height, quality: 0.9,
    });
    if (!jpeg) {
      say("Waiting for your camera picture…");
      await sleep(RETRY_MS);
      continue;
    }
    try {
      const session = await api.enrol(sessionId, jpeg);
      say("Thank you, your reference photo is saved.", "ok"); // what follows: the caller's view
      return;
    } catch (error) {
      if (error.status === 422) {
        // The server explains what to change ("no face found: move into the light…").
        say(`${capitalise(error.message)}. We will try again automatically.`, "guide");
      } else if (error.status === 409) {
        // Already enrolled (for example in another tab), or waiting for a proctor: the caller
        // reloads the view.
        return;
      } else if (error.status === 503) {
        say("Our photo check is busy or not available right now. We keep trying; if this lasts more than a minute, contact the person who sent you the link.", "guide");
        await sleep(RETRY_MS);
      } else if (error.status === 0) {
        say("We are having trouble reaching the exam server. Trying again…", "guide");
        await sleep(RETRY_MS);
      } else {
        say(`Something went wrong on our side (${error.message}). Trying again…`, "guide");
        await sleep(RETRY_MS);
      }
    }
    await sleep(attempt < 40 ? RETRY_MS : RETRY_MS * 2);
  }
}

function capitalise(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : text;
}
