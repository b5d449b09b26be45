// The candidate's REST calls under /api/v1/take/{token}, and the server's clock.
import { client } from "../lib/http.js";

export const token = location.pathname.split("/").filter(Boolean)[1];

// Milliseconds to add to Date.now() to get the server's time (from the Date header).
let clockOffset = 0;

export function serverNow() {
  return Date.now() + clockOffset;
}

const request = client({
  base: `/api/v1/take/${token}`,
  unreachable: "We could not reach the exam server.",
  onResponse(response) {
    const date = Date.parse(response.headers.get("date") ?? "");
    if (!Number.isNaN(date)) clockOffset = date + 500 - Date.now(); // Date has 1 s resolution
  },
});

export const getView = () => request("GET", "");
export const setState = (sessionId, state, extra = {}) =>
  request("POST", `/sessions/${sessionId}/state`, { json: { state, ...extra } });
export const saveAnswers = (sessionId, answers) =>
  request("PUT", `/sessions/${sessionId}/answers`, { json: { answers } });
export const submit = (sessionId, answers) =>
  request("POST", `/sessions/${sessionId}/submit`, { json: { answers } });
export const enrol = (sessionId, jpeg) =>
  request("POST", `/sessions/${sessionId}/enrol`, { body: jpeg, type: "image/jpeg" });
// The chat: the candidate's message to the proctor, and their hand.
export const sendMessage = (sessionId, body) =>
  request("POST", `/sessions/${sessionId}/messages`, { json: { body } });
export const setHand = (sessionId, raised) =>
  request("POST", `/sessions/${sessionId}/hand`, { json: { raised } });
// The practice run's photo check (it keeps nothing but the time of a passing photo).
export const practice = (jpeg) => request("POST", "/practice", { body: jpeg, type: "image/jpeg" });
export const bandwidth = (blob, timeoutMs) =>
  request("POST", "/bandwidth", { body: blob, type: "application/octet-stream", timeoutMs });

// Recordings (see uploader.js): one chunk, what the server has, and the end of a stream.
export const upload = (path, blob, headers, timeoutMs) =>
  request("PUT", path, { body: blob, headers, timeoutMs });
export const recordingStatus = (sessionId) => request("GET", `/sessions/${sessionId}/recordings`);
export const completeRecording = (sessionId, kind, completion) =>
  request("POST", `/sessions/${sessionId}/recordings/${kind}/complete`, { json: completion });
// The ID document check: a webcam frame with the ID held up, or an uploaded photo of it.
export const idDocument = (sessionId, image) =>
  request("POST", `/sessions/${sessionId}/id-document`, { body: image, type: image.type, timeoutMs: 60000 });
export const practiseId = (image) =>
  request("POST", "/practice/id-document", { body: image, type: image.type, timeoutMs: 60000 });
