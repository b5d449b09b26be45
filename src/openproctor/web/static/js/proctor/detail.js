// One candidate up close: live frames at the full analysed rate, the violation timeline,
// the message history, and the proctor's actions (REST calls with the CSRF header).
import { clock, duration, el, messageHeading } from "../lib/format.js";
import { getAllJson, sendJson } from "../lib/http.js";
import { pictureWhenLoaded } from "../lib/picture.js";
import { analysisLabel, FINAL_STATES, kindLabel, stageLabel, violationLabel } from "../lib/vocabulary.js";
import { riskLevel } from "./format.js";
import { holdToTalk } from "./live.js";
import { Overlay } from "./overlay.js";

const DEFAULT_WARNING =
  "Your proctor noticed something that is against the exam rules. Please follow the rules you agreed to.";

export class Detail {
  // hooks: {watch(sessionId | null), patch(sessionId, fields), closed(), talk(sessionId, on)}
  constructor(root, terminateDialog, hooks) {
    this.root = root;
    this.dialog = terminateDialog;
    this.hooks = hooks;
    this.sessionId = null;
    this.candidate = null;
    this.violations = new Map();
    this.messageIds = new Set(); // a message comes back on the socket too: shown once
    const $ = (selector) => root.querySelector(selector);
    this.$ = $;
    this.overlay = new Overlay($(".live"), $("[data-testid=overlay-toggle]"));
    $("[data-action=close]").addEventListener("click", () => this.close());
    root.addEventListener("keydown", (event) => event.key === "Escape" && !this.dialog.open && this.close());
    $(".message-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.sendMessage("message");
    });
    $("[data-testid=warn]").addEventListener("click", () => this.sendMessage("warning"));
    $("[data-testid=clear-warnings]").addEventListener("click", () =>
      this.act("warnings/clear", undefined, "Warnings cleared."));
    $("[data-testid=pause]").addEventListener("click", () => this.act("pause", undefined, "Exam paused."));
    $("[data-testid=resume]").addEventListener("click", () => this.act("resume", undefined, "Exam resumed."));
    $(".extra-time-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.giveExtraTime();
    });
    $("[data-testid=auto-terminate]").addEventListener("change", (event) => this.setAutoTerminate(event.target));
    $("[data-testid=terminate]").addEventListener("click", () => this.askTerminate());
    this.dialog.addEventListener("close", () => this.terminateClosed());
    const listen = $("[data-testid=detail-listen]");
    listen.addEventListener("click", () => {
      const video = $(".live-video");
      video.muted = !video.muted;
      listen.ariaPressed = String(!video.muted);
      listen.textContent = video.muted ? "Listen" : "Mute";
    });
    holdToTalk($("[data-testid=talk]"), (on) => hooks.talk(this.sessionId, on),
      (error) => this.status(`Your microphone could not be used: ${error.message}`, "error"));
  }

  get isOpen() {
    return this.sessionId !== null;
  }

  open(candidate) {
    const switching = this.sessionId !== candidate.session_id;
    this.sessionId = candidate.session_id;
    this.root.hidden = false;
    if (switching) {
      this.violations.clear();
      this.messageIds.clear();
      this.$(".live-frame").removeAttribute("src");
      this.$(".live").dataset.hasFrame = "no";
      this.live(null);
      this.overlay.clear();
      this.$("[data-testid=message-text]").value = "";
      this.status("");
      this.$(".messages").replaceChildren(el("li", { className: "empty", textContent: "Loading…" }));
      this.$(".timeline").replaceChildren(el("li", { className: "empty", textContent: "Loading…" }));
      this.load(candidate.session_id);
      this.hooks.watch(candidate.session_id);
    }
    this.update(candidate);
    this.$("h2").focus({ preventScroll: true });
  }

  close() {
    if (!this.isOpen) return;
    this.sessionId = null;
    this.root.hidden = true;
    this.hooks.watch(null);
    this.hooks.closed();
  }

  update(candidate) {
    if (candidate.session_id !== this.sessionId) return;
    this.candidate = candidate;
    const risk = Math.round(candidate.risk_score ?? 0);
    this.root.dataset.state = candidate.state;
    this.$("h2").textContent = candidate.name;
    this.$(".detail-email").textContent = candidate.email ?? "";
    this.$(".state").textContent = [stageLabel(candidate.stage), candidate.stage_detail].filter(Boolean).join(" · ");
    const riskBadge = this.$(".risk");
    riskBadge.textContent = `risk ${risk}`;
    riskBadge.dataset.risk = riskLevel(risk);
    this.$(".conn-text").textContent = FINAL_STATES.has(candidate.state)
      ? "session ended" : candidate.connected ? "connected" : "not connected";
    this.$(".conn-text").dataset.live = candidate.connected ? "yes" : "no";
    const attention = this.$(".attention");
    attention.hidden = !candidate.attention;
    attention.dataset.label = candidate.attention?.label ?? "";
    attention.textContent = candidate.attention
      ? `${candidate.attention.label} · attention ${candidate.attention.score}` : "";
    // The tile's words, not frame counters (they meant nothing to proctors and reset on reload).
    this.$(".frames").textContent = analysisLabel(candidate.analysis);
    this.$(".badges").replaceChildren(...(candidate.open_violations ?? []).map((kind) =>
      el("li", { className: "badge", textContent: kindLabel(kind), dataset: { kind: kind.split(":")[0] } })));
    const ended = FINAL_STATES.has(candidate.state);
    this.$("[data-testid=pause]").disabled = candidate.state !== "running";
    this.$("[data-testid=resume]").disabled = candidate.state !== "paused";
    this.$("[data-testid=terminate]").disabled = ended;
    this.$("[data-testid=extra-time]").disabled = !["running", "paused"].includes(candidate.state);
    for (const selector of ["[data-testid=send-message]", "[data-testid=warn]", "[data-testid=clear-warnings]"]) {
      this.$(selector).disabled = ended;
    }
    this.$("[data-testid=auto-terminate]").checked = Boolean(candidate.auto_terminate);
  }

  // The candidate's live media (proctor/live.js view), or the analysed frames with a note.
  live(view) {
    const video = this.$(".live-video");
    const screen = this.$(".live-screen");
    const playing = view?.state === "live" && view.camera?.getVideoTracks().length > 0;
    this.$(".live").dataset.media = playing ? "video" : "frames";
    this.$(".live").dataset.live = view?.state ?? "off";
    this.$("[data-testid=detail-live-note]").textContent = view?.state === "unavailable"
      ? `No live video (${view.reason}): showing the analysed pictures.`
      : view?.state === "connecting" ? "Connecting live video…" : "";
    if (video.srcObject !== (view?.camera ?? null)) {
      video.srcObject = view?.camera ?? null;
      video.play().catch(() => {});
    }
    screen.hidden = !view?.screen || view.screen.getVideoTracks()[0].muted;
    if (screen.srcObject !== (view?.screen ?? null)) {
      screen.srcObject = view?.screen ?? null;
      screen.play().catch(() => {});
    }
  }

  // tsMs: the frame's capture time, which the overlay matches with its analysis.
  frame(url, tsMs = null) {
    this.overlay.shown(tsMs);
    this.$(".live-frame").src = url;
    this.$(".live").dataset.hasFrame = "yes";
  }

  analysis(result) {
    if (result.session_id === this.sessionId) this.overlay.add(result);
  }

  async load(sessionId) {
    const [messages, violations] = await Promise.allSettled([
      getAllJson(`/api/v1/sessions/${sessionId}/messages`),
      getAllJson(`/api/v1/sessions/${sessionId}/violations`),
    ]);
    if (sessionId !== this.sessionId) return;
    const list = this.$(".messages");
    if (messages.status === "fulfilled") {
      list.replaceChildren();
      this.messageIds.clear();
      for (const message of messages.value) this.addMessage(message);
      this.markRead();
      if (!messages.value.length) list.append(el("li", { className: "empty", textContent: "No messages yet." }));
    } else {
      list.replaceChildren(el("li", { className: "error", textContent: `Could not load messages: ${messages.reason.message}` }));
    }
    const timeline = this.$(".timeline");
    if (violations.status === "fulfilled") {
      timeline.replaceChildren();
      for (const violation of violations.value) this.violation(violation);
      if (!violations.value.length) timeline.append(el("li", { className: "empty", textContent: "No violations so far." }));
    } else {
      timeline.replaceChildren(el("li", { className: "error", textContent: `Could not load violations: ${violations.reason.message}` }));
    }
  }

  addMessage(message) {
    if (message.id && this.messageIds.has(message.id)) return;
    if (message.id) this.messageIds.add(message.id);
    const list = this.$(".messages");
    list.querySelector(".empty")?.remove();
    const hand = message.kind === "hand_raised" || message.kind === "hand_lowered";
    list.prepend(el("li", { className: `msg msg-${message.kind}`, dataset: { kind: message.kind, sender: message.sender } },
      el("strong", { textContent: messageHeading(message) }),
      " ",
      el("time", { textContent: clock(message.created_at ?? message.at ?? new Date().toISOString()) }),
      ...(hand ? [] : [el("p", { textContent: message.body })])));
  }

  // A message between this candidate and the proctors, pushed on the wall's socket: shown if
  // the candidate is open here, and then read (the tiles' unread count clears on every wall).
  conversation(sessionId, message) {
    if (sessionId !== this.sessionId || this.$(".messages .empty")?.textContent === "Loading…") return;
    this.addMessage(message);
    if (message.sender === "candidate") this.markRead();
  }

  markRead() {
    if (!this.candidate?.unread && this.candidate?.session_id === this.sessionId) return;
    sendJson("POST", `/api/v1/sessions/${this.sessionId}/messages/read`).catch(() => {});
  }

  // Adds or updates a violation of the open candidate in the timeline (newest first).
  violation(violation) {
    if (violation.session_id !== this.sessionId) return;
    const timeline = this.$(".timeline");
    timeline.querySelector(".empty")?.remove();
    const item = el("li", { className: "timeline-item", dataset: { severity: violation.severity, kind: violation.kind } },
      violation.evidence_url
        ? el("a", { href: violation.evidence_url, target: "_blank", rel: "noopener" },
          pictureWhenLoaded(violation.evidence_url, { alt: "Evidence" }, { className: "evidence none" }))
        : el("span", {
          className: "evidence none", textContent: violation.evidence_error ? "picture not stored" : "no picture",
          title: violation.evidence_error ? `Evidence could not be stored: ${violation.evidence_error}` : "",
        }),
      el("div", {},
        el("strong", { textContent: violationLabel(violation) }), " ",
        el("span", { className: "severity", textContent: violation.severity }),
        el("div", { className: "meta", textContent: violation.ended_at
          ? `${clock(violation.started_at)} · ${duration(violation.started_at, violation.ended_at)}`
          : `${clock(violation.started_at)} · ongoing` })));
    const existing = this.violations.get(violation.id);
    if (existing) existing.replaceWith(item);
    else {
      const at = Date.parse(violation.started_at);
      item.dataset.at = String(at);
      const later = [...timeline.children].find((other) => Number(other.dataset.at) < at);
      timeline.insertBefore(item, later ?? null);
    }
    item.dataset.at = String(Date.parse(violation.started_at));
    this.violations.set(violation.id, item);
  }

  status(text, tone = "") {
    const line = this.$(".action-status");
    line.textContent = text;
    line.dataset.tone = tone;
  }

  async request(method, path, body) {
    const sessionId = this.sessionId;
    try {
      return await sendJson(method, `/api/v1/sessions/${sessionId}/${path}`, body);
    } catch (error) {
      this.status(`That did not work: ${error.message}`, "error");
      throw error;
    }
  }

  async act(path, body, done) {
    const sessionId = this.sessionId;
    const result = await this.request("POST", path, body).catch(() => undefined);
    if (result === undefined) return;
    this.status(done, "ok");
    if (result?.state) this.hooks.patch(sessionId, { state: result.state });
  }

  async sendMessage(kind) {
    const input = this.$("[data-testid=message-text]");
    const body = input.value.trim() || (kind === "warning" ? DEFAULT_WARNING : "");
    if (!body) {
      this.status("Write a message first.", "error");
      input.focus();
      return;
    }
    const sessionId = this.sessionId;
    const message = await this.request("POST", "messages", { body, kind }).catch(() => undefined);
    if (message === undefined || sessionId !== this.sessionId) return;
    input.value = "";
    this.addMessage(message ?? { sender: "proctor", kind, body });
    this.status(kind === "warning" ? "Warning sent." : "Message sent.", "ok");
  }

  async giveExtraTime() {
    const minutes = Number(this.$("[data-testid=extra-minutes]").value);
    const clock = await this.request("POST", "extra-time", { minutes }).catch(() => undefined);
    if (clock === undefined) return;
    const ends = new Date(clock.ends_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    this.status(`${minutes} more minute${minutes === 1 ? "" : "s"} given: the exam now ends at ${ends}.`, "ok");
  }

  async setAutoTerminate(box) {
    const sessionId = this.sessionId;
    const result = await this.request("PUT", "auto-terminate", { enabled: box.checked }).catch(() => undefined);
    if (result === undefined) {
      box.checked = !box.checked;
      return;
    }
    this.status(box.checked ? "This exam will end automatically at high risk." : "Automatic ending is off.", "ok");
    this.hooks.patch(sessionId, { auto_terminate: box.checked });
  }

  askTerminate() {
    this.dialog.querySelector(".terminate-name").textContent = this.candidate?.name ?? "this candidate";
    this.dialog.querySelector("[data-testid=terminate-reason]").value = "";
    this.dialog.returnValue = "";
    this.dialog.showModal();
  }

  terminateClosed() {
    if (this.dialog.returnValue !== "confirm") return;
    const reason = this.dialog.querySelector("[data-testid=terminate-reason]").value.trim();
    this.act("terminate", { reason }, "Exam terminated.");
  }
}
