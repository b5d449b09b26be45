// The proctor wall: candidates sorted by risk, the alert feed and the detail view, all fed by
// pushes on /ws/proctor/exams/{exam_id} (no polling). See openproctor/live/protocol.py.
import { getAllJson, sendJson } from "../lib/http.js";
import { ReconnectingSocket, socketUrl } from "../lib/socket.js";
import { FINAL_STATES } from "../lib/vocabulary.js";
import { AlertFeed } from "./alerts.js";
import { Detail } from "./detail.js";
import { flagged, WallFilters } from "./filters.js";
import { Grid } from "./grid.js";
import { holdToTalk, LevelMeters, LiveViewer } from "./live.js";
import { Lobby } from "./lobby.js";
import { Notes } from "./notes.js";
import { AlertSignals } from "./signals.js";

const wall = document.getElementById("wall");
const examId = wall.dataset.examId;
const $ = (selector) => wall.querySelector(selector);
const liveIndicator = $("[data-testid=live]");
const degraded = $("[data-testid=degraded]");
const frames = new Map(); // session id -> object URL of the latest JPEG
let pendingPicture = null; // the last "thumbnail" or "frame" message: its JPEG comes next

const grid = new Grid($("[data-testid=candidate-grid]"), { select, meters: new LevelMeters(), listened: () => syncLive() });
const viewer = new LiveViewer((message) => socket.sendJson(message), (sessionId, view) => {
  grid.live(sessionId, view);
  if (detail.sessionId === sessionId) detail.live(view);
});
let liveConfigured = false; // joins wait for the first rtc_config (the ICE servers)
const signalSettings = $("[data-testid=alert-signals]");
const alerts = new AlertFeed($("[data-testid=alerts]"), $("[data-testid=alerts-unhandled]"), {
  nameOf: (sessionId) => grid.get(sessionId)?.name,
  select,
  signals: new AlertSignals(signalSettings, signalSettings.dataset.userId),
});
const notes = new Notes($(".notes-section"));
const detail = new Detail(document.getElementById("detail"), document.getElementById("terminate-dialog"), {
  watch: (sessionId) => socket.sendJson({ type: "watch", session_id: sessionId }),
  talk: (sessionId, on) => viewer.talk([sessionId], on),
  patch(sessionId, fields) {
    const candidate = grid.get(sessionId);
    if (candidate) updateCandidate({ ...candidate, ...fields });
  },
  closed() {
    wall.dataset.view = "grid";
    syncLive();
    grid.root.querySelector(`[data-session-id="${CSS.escape(lastOpened ?? "")}"] .tile-open`)?.focus();
  },
});
let lastOpened = null;
new WallFilters($("[data-testid=wall-tools]"), wall, (shown) => {
  grid.filter(shown);
  summarise();
});
const lobby = new Lobby($("[data-testid=lobby]"), examId);

// Auto-termination for many candidates at once: an admin sets the exam's policy, a proctor
// sets it on each of their own candidates (the page renders the toggle the user may use).
const bulkAuto = $("[data-testid=exam-auto-terminate], [data-testid=my-auto-terminate]");
bulkAuto.addEventListener("change", async () => {
  bulkAuto.disabled = true;
  try {
    await sendJson("PUT", bulkAuto.dataset.url, { enabled: bulkAuto.checked });
    for (const candidate of grid.candidates()) updateCandidate({ ...candidate, auto_terminate: bulkAuto.checked });
  } catch {
    bulkAuto.checked = !bulkAuto.checked;
  } finally {
    bulkAuto.disabled = false;
  }
});

// A message to every candidate in the room (the server picks whom: a proctor's, or all).
const broadcast = $("[data-testid=broadcast-form]");
broadcast.addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = broadcast.querySelector("textarea");
  const status = broadcast.querySelector("[role=status]");
  const body = input.value.trim();
  if (!body) {
    status.textContent = "Write the message first.";
    return;
  }
  try {
    const { candidates } = await sendJson("POST", `/api/v1/exams/${examId}/messages`, { body });
    input.value = "";
    status.textContent = candidates
      ? `Sent to ${candidates} candidate${candidates === 1 ? "" : "s"}.`
      : "No candidate is in the exam right now: nobody got it.";
  } catch (error) {
    status.textContent = `Not sent: ${error.message}`;
  }
});

function select(sessionId) {
  const candidate = grid.get(sessionId);
  if (!candidate) return;
  lastOpened = sessionId;
  wall.dataset.view = "detail";
  detail.open(candidate);
  notes.open(sessionId);
  if (frames.has(sessionId)) detail.frame(frames.get(sessionId));
  syncLive();
  detail.live(viewer.views.get(sessionId) ?? null);
}

// Live video from every candidate on the wall whose exam is not over: a tile's worth (with full
// audio for a tile the proctor listens to), the open one in full; ended ones leave (their tiles show the analysed thumbnails). Not asked whether
// the page is connected: a page that connects later (on any node) tells the viewers that
// joined it to join again.
function syncLive() {
  if (!liveConfigured) return;
  const wanted = new Map();
  for (const candidate of grid.candidates()) {
    if (candidate.session_id && !FINAL_STATES.has(candidate.state)) {
      const sessionId = candidate.session_id;
      wanted.set(sessionId, detail.sessionId === sessionId ? "full" : grid.listening(sessionId) ? "listen" : "tile");
    }
  }
  for (const sessionId of viewer.sessions()) {
    if (!wanted.has(sessionId)) {
      viewer.leave(sessionId);
      grid.live(sessionId, null);
      if (detail.sessionId === sessionId) detail.live(null);
    }
  }
  for (const [sessionId, quality] of wanted) viewer.join(sessionId, quality);
}

const talkStatus = $(".talk-status");
holdToTalk($("[data-testid=talk-all]"), async (on) => {
  await viewer.talk(viewer.sessions(), on);
  talkStatus.textContent = on ? `Talking to ${viewer.sessions().length} candidates…` : "";
}, (error) => (talkStatus.textContent = `Your microphone could not be used: ${error.message}`));

function updateCandidate(candidate) {
  grid.upsert(candidate);
  detail.update(candidate);
  summarise();
  syncLive();
}

function summarise() {
  const all = grid.candidates();
  const connected = all.filter((candidate) => candidate.connected).length;
  const alerting = all.filter((candidate) => candidate.open_violations?.length).length;
  $(".wall-counts").textContent = all.length
    ? `${all.length} candidate${all.length === 1 ? "" : "s"} · ${connected} connected · ${alerting} with open alerts`
    : "No candidates assigned to you in this exam yet.";
  const shown = grid.shownCount();
  $("[data-testid=wall-shown]").textContent = wall.dataset.filtered !== "yes" ? ""
    : shown ? `Showing ${shown} of ${all.length} (${all.filter(flagged).length} flagged)`
      : "No candidate matches: change the search or the filters.";
}

function receive(message) {
  switch (message.type) {
    case "snapshot": // on every (re)connect
      grid.replaceAll(message.candidates ?? []);
      viewer.rejoinAll(); // this socket is a new viewer: the candidates' pages must hear of it
      syncLive();
      loadAlerts(); // what opened while the socket was down, too
      lobby.refresh(); // who started waiting meanwhile
      alerts.renameAll();
      if (detail.isOpen) {
        const current = grid.get(detail.sessionId);
        if (current) {
          detail.update(current);
          socket.sendJson({ type: "watch", session_id: detail.sessionId }); // a new socket forgets
          notes.open(detail.sessionId); // what was written meanwhile
        }
      }
      summarise();
      break;
    case "candidate":
      updateCandidate(message.candidate);
      break;
    case "assigned": // an admin gave this proctor the candidate; a live tile is newer
      if (!grid.has(message.candidate.candidate_id)) updateCandidate(message.candidate);
      break;
    case "unassigned": { // ... or gave them to another proctor
      const leaving = grid.candidates().find((c) => c.candidate_id === message.candidate_id);
      if (leaving && detail.isOpen && detail.sessionId === leaving.session_id) detail.close();
      grid.remove(message.candidate_id);
      summarise();
      syncLive();
      break;
    }
    case "conversation": { // a message either way, or the candidate's were read
      const candidate = grid.get(message.session_id);
      if (message.message?.sender === "candidate" && message.message.kind === "message") {
        grid.said(message.session_id, message.message.body);
      }
      if (candidate) updateCandidate({ ...candidate, unread: message.unread, hand_raised: message.hand_raised });
      if (message.message) detail.conversation(message.session_id, message.message);
      break;
    }
    case "lobby": // a candidate started waiting, or was decided about (their tile comes apart)
      lobby.refresh(message);
      break;
    case "violation":
      alerts.show(message.violation, { fresh: message.event === "opened" });
      detail.violation(message.violation);
      if (message.event === "opened") grid.flash(message.violation.session_id);
      break;
    case "note": // a proctor wrote a note on a candidate
      notes.add(message.note);
      break;
    case "thumbnail": // the binary JPEG follows: a tile picture
    case "frame": // the binary JPEG follows: a full frame of the watched candidate
      pendingPicture = message;
      break;
    case "analysis": // what the watched candidate's frame showed: the detail view's overlay
      detail.analysis(message);
      break;
    case "rtc_config":
      viewer.configure(message);
      if (!liveConfigured) {
        liveConfigured = true;
        syncLive();
      }
      break;
    case "rtc":
    case "rtc_refused":
      viewer.receive(message);
      break;
    case "load":
      degraded.hidden = !message.degraded && !message.deferring;
      if (message.degraded) {
        degraded.textContent = message.fps
          ? `Analysis is behind: about ${Number(message.fps).toFixed(1)} frames/s per candidate`
          : "Analysis is behind: some frames are skipped";
      } else {
        degraded.textContent = "Analysis is busy: phone and identity checks run less often";
      }
      break;
  }
}

function receiveFrame(blob) {
  const sessionId = pendingPicture?.session_id;
  const tsMs = pendingPicture?.ts_ms ?? null;
  pendingPicture = null;
  if (!sessionId) return;
  const url = URL.createObjectURL(blob);
  const previous = frames.get(sessionId);
  frames.set(sessionId, url);
  grid.thumbnail(sessionId, url);
  if (detail.sessionId === sessionId) detail.frame(url, tsMs);
  if (previous) setTimeout(() => URL.revokeObjectURL(previous), 1000);
}

// The socket's states as the page names them (data-state, data-link) and says them.
const LINK_STATE = { connecting: "connecting", open: "live", reconnecting: "reconnecting", closed: "refused" };
const STATUS_TEXT = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
};

// Close codes after which reconnecting cannot help (4401 not signed in, 4403 not allowed, 4430
// too many pages open for this account, 4440 the sign-in ended), with what the page says: the
// server's close reason says why (e.g. "You were signed out: your sign-in expired").
const REFUSED_TEXT = {
  4401: () => "Signed out: reload the page to sign in again",
  4403: (reason) => `Not allowed${reason ? `: ${reason}` : ""}`,
  4430: (reason) => reason,
  4440: (reason) => `${reason}. Reload the page to sign in again.`,
};

const socket = new ReconnectingSocket(socketUrl(`/ws/proctor/exams/${examId}`), {
  finalCodes: Object.keys(REFUSED_TEXT).map(Number),
  onJson: receive,
  onBinary: receiveFrame, // a Blob
  onState(state, { code, reason }) {
    const link = LINK_STATE[state];
    liveIndicator.dataset.state = link;
    wall.dataset.link = link;
    liveIndicator.querySelector(".text").textContent =
      state === "closed" ? REFUSED_TEXT[code](reason) : STATUS_TEXT[link];
  },
});
socket.start();

// The feed starts with what happened before the socket connected; pushes do the rest, and the
// feed shows each violation once. After a reconnect, what opened meanwhile is new to the proctor.
let alertsLoaded = false;
function loadAlerts() {
  getAllJson(`/api/v1/exams/${examId}/violations`)
    .then((violations) => {
      const recent = violations
        .sort((a, b) => Date.parse(b.started_at) - Date.parse(a.started_at))
        .slice(0, 50);
      for (const violation of recent.reverse()) {
        const missed = alertsLoaded && !alerts.items.has(violation.id) && !violation.ended_at;
        alerts.show(violation, { fresh: missed });
        if (missed) grid.flash(violation.session_id);
      }
      alertsLoaded = true;
    })
    .catch(() => {});
}

// The roster the page was rendered with, until the socket's snapshot replaces it.
grid.replaceAll(JSON.parse(document.getElementById("wall-start").textContent));
summarise();
