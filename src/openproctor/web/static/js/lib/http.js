// The one fetch helper of our pages: same-origin cookies, the CSRF token the page was rendered
// with, JSON in and out, and an HttpError whose message is the server's `detail`.
const TIMEOUT_MS = 20000;

export class HttpError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status; // 0 when the request never reached the server
  }
}

export function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]').content;
}

// A request function for paths under `base`: request(method, path, {json, body, type, headers,
// timeoutMs}) sends `json` as JSON, or `body` as it is with Content-Type `type`, and resolves to
// the parsed JSON answer (null when there is none). onResponse(response) sees every answer that
// arrived, ok or not (the candidate's page reads the server's clock from it).
export function client({ base = "", unreachable = "We could not reach the server.", onResponse } = {}) {
  return async function request(method, path, { json, body, type, headers: extra, timeoutMs = TIMEOUT_MS } = {}) {
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
      response = await fetch(base + path, { method, body, headers, credentials: "same-origin", signal: abort.signal });
    } catch {
      throw new HttpError(unreachable, 0);
    } finally {
      clearTimeout(timer);
    }
    onResponse?.(response);
    const data = response.headers.get("content-type")?.includes("json")
      ? await response.json().catch(() => null)
      : null;
    if (!response.ok) {
      const detail = data?.detail;
      throw new HttpError(typeof detail === "string" ? detail : `request failed (${response.status})`, response.status);
    }
    return data;
  };
}

// Staff pages: absolute paths, JSON in and out.
const staffRequest = client();
export const sendJson = (method, url, body) => staffRequest(method, url, { json: body });
export const getJson = (url) => staffRequest("GET", url);

// Every row of a list the API serves a page at a time, as one array: each page's
// X-Next-Cursor header names the next one, and the last page has none.
export async function getAllJson(url) {
  let next = null;
  const request = client({ onResponse: (response) => { next = response.headers.get("X-Next-Cursor"); } });
  const rows = await request("GET", url);
  while (next) {
    const separator = url.includes("?") ? "&" : "?";
    rows.push(...(await request("GET", `${url}${separator}cursor=${encodeURIComponent(next)}`)));
  }
  return rows;
}
