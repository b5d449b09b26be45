// The wall's grid: one tile per candidate, highest risk first, updated only by pushed messages.
import { el } from "../lib/format.js";
import { analysisLabel, FINAL_STATES, kindLabel, stageLabel } from "../lib/vocabulary.js";
import { riskLevel } from "./format.js";

export class Grid {
  constructor(root, { select, meters, listened }) {
    this.root = root;
    this.select = select; // called with a session id when a tile is opened
    this.listened = listened; // called when the proctor starts or stops listening to a tile
    this.meters = meters; // live.js LevelMeters: each tile's sound level
    this.tiles = new Map(); // candidate id -> {element, candidate} (invited ones have no session yet)
    this.shown = () => true; // the filters' verdict on a candidate (see filter())
  }

  candidates() {
    return [...this.tiles.values()].map((tile) => tile.candidate);
  }

  // Whether the proctor listens to this session's tile (plays its sound).
  listening(sessionId) {
    const video = this.tileOf(sessionId)?.element.querySelector(".tile-video");
    return Boolean(video && !video.muted);
  }

  tileOf(sessionId) {
    if (!sessionId) return null;
    for (const tile of this.tiles.values()) if (tile.candidate.session_id === sessionId) return tile;
    return null;
  }

  get(sessionId) {
    return this.tileOf(sessionId)?.candidate ?? null;
  }

  has(candidateId) {
    return this.tiles.has(candidateId);
  }

  remove(candidateId) {
    this.tiles.get(candidateId)?.element.remove();
    this.tiles.delete(candidateId);
  }

  replaceAll(candidates) {
    const keep = new Set(candidates.map((candidate) => candidate.candidate_id));
    for (const [candidateId, tile] of this.tiles) {
      if (!keep.has(candidateId)) {
        tile.element.remove();
        this.tiles.delete(candidateId);
      }
    }
    for (const candidate of candidates) this.upsert(candidate, { sort: false });
    this.sort();
  }

  upsert(candidate, { sort = true } = {}) {
    let tile = this.tiles.get(candidate.candidate_id);
    if (!tile) {
      tile = { element: this.build(), candidate };
      this.tiles.set(candidate.candidate_id, tile);
    }
    tile.candidate = candidate;
    this.render(tile);
    if (sort) this.sort();
  }

  build() {
    // The tile is a plain container: its name is the button that opens the detail view (a
    // click anywhere on the tile does too), so the Listen button is not nested in another.
    const element = el("article", { className: "tile", dataset: { testid: "candidate-tile" } },
    el("div", { className: "tile-frame" },
      el("img", { className: "thumb", alt: "", decoding: "async" }),
      el("video", { className: "tile-video", muted: true, autoplay: true, playsInline: true, dataset: { testid: "tile-video" } }),
      el("span", { className: "no-frame", textContent: "No picture yet" }),
      el("span", { className: "live-note", dataset: { testid: "live-note" } }),
      el("span", { className: "conn", title: "" }),
      el("span", { className: "risk", title: "Risk score" })),
    el("div", { className: "tile-body" },
      el("div", { className: "tile-title" },
        el("button", { type: "button", className: "tile-open", dataset: { testid: "open-candidate" } }),
        el("span", { className: "hand", textContent: "✋ Hand", title: "Hand raised", dataset: { testid: "hand-raised" }, hidden: true }),
        el("span", { className: "unread", dataset: { testid: "unread" }, hidden: true })),
      el("span", { className: "state", dataset: { testid: "tile-stage" } }),
      el("span", { className: "stage-detail", dataset: { testid: "tile-stage-detail" } }),
      el("ul", { className: "badges", "aria-label": "Open violations" }),
      el("span", { className: "analysis", dataset: { testid: "tile-analysis" } }),
      el("div", { className: "tile-audio" },
        el("meter", { className: "level", min: 0, max: 1, value: 0, title: "Sound level", "aria-label": "Sound level" }),
        el("button", { type: "button", className: "small secondary listen", textContent: "Listen", ariaPressed: "false", dataset: { testid: "listen" } })),
      el("span", { className: "attention chip", title: "Attention over the last 20 s", dataset: { testid: "tile-attention" } }),
      el("span", { className: "identity-off chip", textContent: "Identity not checked", dataset: { testid: "identity-off" }, hidden: true }),
      el("span", { className: "accommodations", dataset: { testid: "tile-accommodations" } }),
      el("p", { className: "said", dataset: { testid: "said" }, hidden: true })));
    element.addEventListener("click", () => element.dataset.sessionId && this.select(element.dataset.sessionId));
    const listen = element.querySelector(".listen");
    listen.addEventListener("click", (event) => {
      event.stopPropagation(); // listening is not opening
      const video = element.querySelector(".tile-video");
      video.muted = !video.muted;
      listen.ariaPressed = String(!video.muted);
      listen.textContent = video.muted ? "Listen" : "Mute";
      this.listened(); // the tile's connection asks for full audio (it meters a low rate)
    });
    this.root.append(element);
    return element;
  }

  render({ element, candidate }) {
    const risk = Math.round(candidate.risk_score ?? 0);
    element.dataset.sessionId = candidate.session_id ?? "";
    element.dataset.risk = riskLevel(risk);
    element.dataset.riskScore = String(candidate.risk_score ?? 0);
    element.dataset.state = candidate.state;
    element.dataset.stage = candidate.stage;
    element.dataset.connected = candidate.connected ? "yes" : "no";
    const attention = candidate.attention; // null while nothing was analysed lately
    const attentionChip = element.querySelector(".attention");
    attentionChip.hidden = !attention;
    attentionChip.dataset.label = attention?.label ?? "";
    attentionChip.textContent = attention ? `${attention.label} ${attention.score}` : "";
    const unread = candidate.unread ?? 0;
    const stage = stageLabel(candidate.stage);
    const analysis = analysisLabel(candidate.analysis);
    const kinds = candidate.open_violations ?? [];
    const said = [
      `${candidate.name}, ${stage}`, candidate.stage_detail, `risk ${risk}`, analysis,
      kinds.length ? `open: ${kinds.map(kindLabel).join(", ")}` : "",
      attention ? `${attention.label} (attention ${attention.score})` : "",
      candidate.hand_raised ? "hand raised" : "",
      unread ? `${unread} unread message${unread === 1 ? "" : "s"}` : "",
    ];
    const open = element.querySelector(".tile-open");
    open.textContent = candidate.name;
    open.title = [candidate.email, candidate.external_id].filter(Boolean).join(" · ");
    open.setAttribute("aria-label", said.filter(Boolean).join(", "));
    element.dataset.hand = candidate.hand_raised ? "yes" : "no";
    element.querySelector(".hand").hidden = !candidate.hand_raised;
    // The session was enrolled by another identity model (live/identity.py): say why it is not checked.
    const identityOff = element.querySelector(".identity-off");
    identityOff.hidden = !candidate.identity_off;
    identityOff.title = candidate.identity_off ?? "";
    // The candidate's accommodations (extra time, exempt kinds, own window), as the server words them.
    element.querySelector(".accommodations").replaceChildren(
      ...(candidate.accommodations ?? []).map((label) => el("span", { className: "chip accommodation", textContent: label })));
    const unreadBadge = element.querySelector(".unread");
    unreadBadge.hidden = !unread;
    unreadBadge.textContent = `${unread} unread`;
    element.querySelector(".said").hidden = !unread || !element.querySelector(".said").textContent;
    element.querySelector(".state").textContent = stage;
    element.querySelector(".stage-detail").textContent = candidate.stage_detail ?? "";
    const analysisLine = element.querySelector(".analysis");
    analysisLine.textContent = analysis;
    analysisLine.dataset.status = candidate.analysis ?? "";
    element.querySelector(".risk").textContent = risk;
    const live = FINAL_STATES.has(candidate.state) ? "ended" : candidate.connected ? "connected" : "not connected";
    element.querySelector(".conn").title = live;
    element.querySelector(".conn").dataset.live = live === "connected" ? "yes" : live === "ended" ? "ended" : "no";
    element.querySelector(".badges").replaceChildren(
      ...kinds.map((kind) => el("li", { className: "badge", textContent: kindLabel(kind), dataset: { kind: kind.split(":")[0] } })));
    element.hidden = !this.shown(candidate);
  }

  // Shows only the tiles `shown(candidate)` accepts (the wall's filters and search).
  filter(shown) {
    this.shown = shown;
    for (const { element, candidate } of this.tiles.values()) element.hidden = !shown(candidate);
  }

  // How many tiles the filters show.
  shownCount() {
    return [...this.tiles.values()].filter((tile) => !tile.element.hidden).length;
  }

  // The candidate's latest message, on the tile while it is unread (pushes only: a wall
  // opened later shows the count, and the text in the detail view).
  said(sessionId, body) {
    const element = this.tileOf(sessionId)?.element;
    if (!element) return;
    const said = element.querySelector(".said");
    said.textContent = `“${body}”`;
    said.title = body;
    said.hidden = false;
  }

  flash(sessionId) {
    const element = this.tileOf(sessionId)?.element;
    if (!element) return;
    element.classList.remove("flash");
    void element.offsetWidth; // restart the animation
    element.classList.add("flash");
  }

  thumbnail(sessionId, url) {
    const element = this.tileOf(sessionId)?.element;
    if (!element) return;
    element.querySelector(".thumb").src = url;
    element.dataset.hasFrame = "yes";
  }

  // The candidate's live video on the tile (live.js view), or the analysed thumbnail with a
  // note saying why there is no live video.
  live(sessionId, view) {
    const element = this.tileOf(sessionId)?.element;
    if (!element) return;
    const video = element.querySelector(".tile-video");
    const meter = element.querySelector(".level");
    const state = view?.state ?? "off";
    element.dataset.live = state;
    element.querySelector(".live-note").textContent = state === "unavailable"
      ? `No live video (${view.reason}): analysed pictures` : "";
    if (view?.camera) {
      if (video.srcObject !== view.camera) {
        video.srcObject = view.camera;
        video.play().catch(() => {});
      }
      this.meters.attach(meter, view.camera); // its audio track may come after the video
    } else if (video.srcObject) {
      video.srcObject = null;
      this.meters.detach(meter);
    }
  }

  // Finished attempts (submitted, terminated) below the others; then raised hands first,
  // then highest risk; ties: more open violations, then by name.
  sort() {
    const order = [...this.tiles.values()].sort((a, b) => {
      const x = a.candidate;
      const y = b.candidate;
      return (FINAL_STATES.has(x.state) - FINAL_STATES.has(y.state))
        || Boolean(y.hand_raised) - Boolean(x.hand_raised)
        || (y.risk_score ?? 0) - (x.risk_score ?? 0)
        || (y.open_violations?.length ?? 0) - (x.open_violations?.length ?? 0)
        || x.name.localeCompare(y.name);
    });
    const current = [...this.root.children];
    if (order.every((tile, index) => current[index] === tile.element)) return;
    this.root.append(...order.map((tile) => tile.element)); // moves the nodes, keeps images
  }
}
