// The candidate's REST calls under /api/v1/take/{token}, and the server's clock.
import { csrfToken } from "../http.js";

export const token = location.pathname.split("/").filter(Boolean)[1];
const base = `/api/v1/take/${token}`;

// Milliseconds to add to Date.now() to get the server's time (from the Date header).
let clockOffset = 0;

export function serverNow() {
  return Date.now() + clockOffset;
}

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status; // 0 when the request never reached the server
  }
}

async function request(method, path, { json, body, type, headers: extra, timeoutMs = 20000 } = {}) {
  const headers = { "X-CSRF-Token": csrfToken(), ...extra };
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (type) {
    headers["Content-Type"] = type;
  }
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  let response;
  try {
    response = await fetch(base + path, {
      method, body, headers, credentials: "same-origin", signal: abort.signal,
    });
  } catch {
    throw new ApiError("We could not reach the exam server.", 0);
  } finally {
    clearTimeout(timer);
  }
  const date = Date.parse(response.headers.get("date") ?? "");
  if (!Number.isNaN(date)) clockOffset = date + 500 - Date.now(); // Date has 1 s resolution
  const data = response.headers.get("content-type")?.includes("json")
    ? await response.json().catch(() => null)
    : null;
  if (!response.ok) {
    const detail = data?.detail;
    const message = typeof detail === "string" ? detail : `request failed (${response.status})`;
    throw new ApiError(message, response.status);
  }
  return data;
}

export const getView = () => request("GET", "");
export const setState = (sessionId, state) =>
  request("POST", `/sessions/${sessionId}/state`, { json: { state } });
export const saveAnswers = (sessionId, answers) =>
  request("PUT", `/sessions/${sessionId}/answers`, { json: { answers } });
export const submit = (sessionId, answers) =>
  request("POST", `/sessions/${sessionId}/submit`, { json: { answers } });
export const enrol = (sessionId, jpeg) =>
  request("POST", `/sessions/${sessionId}/enrol`, { body: jpeg, type: "image/jpeg" });
export const bandwidth = (blob, timeoutMs) =>
  request("POST", "/bandwidth", { body: blob, type: "application/octet-stream", timeoutMs });

// Recordings (see uploader.js): one chunk, what the server has, and the end of a stream.
export const upload = (path, blob, headers, timeoutMs) =>
  request("PUT", path, { body: blob, headers, timeoutMs });
export const recordingStatus = (sessionId) => request("GET", `/sessions/${sessionId}/recordings`);
export const completeRecording = (sessionId, kind, completion) =>
  request("POST", `/sessions/${sessionId}/recordings/${kind}/complete`, { json: completion });
