// The exam link opened after the exam closed: if this browser still holds recording chunks of
// the session, send them (and complete the streams), showing the progress.
import * as store from "./chunkstore.js";
import { SessionRecording, showProgress } from "./recording.js";

const card = document.getElementById("uploads");
const sessionId = card?.dataset.sessionId;
const streams = sessionId ? await store.streamsOf(sessionId).catch(() => []) : [];
if (streams.some((stream) => !stream.completed)) {
  const recording = await new SessionRecording(sessionId).prepare();
  card.hidden = false;
  showProgress(card, recording);
  recording.uploader.finish();
}
