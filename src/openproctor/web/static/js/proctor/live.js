// Live video and audio from candidates' pages, peer to peer (signalling over the wall's socket:
// openproctor/live/signalling.py). The candidate's page offers, this page answers. One
// connection per candidate: a wall tile joins at "tile" quality ("listen" while the proctor
// listens to it: full audio), opening the candidate asks the same connection for "full". Talk-back sends this page's microphone on the connection's audio.

// A connection not up by then is given up on: the tile and detail show the analysed pictures.
const CONNECT_TIMEOUT_MS = 10000;
const RETRY_MS = 15000;

export class LiveViewer {
  // send(message): JSON on the wall's socket. changed(sessionId, view): a session's media or
  // state changed; view = {state: "connecting" | "live" | "unavailable", reason, camera,
  // screen} (camera: MediaStream of the candidate's video and audio, screen: MediaStream | null).
  constructor(send, changed) {
    this.send = send;
    this.changed = changed;
    this.config = { iceServers: [], iceTransportPolicy: "all" };
    this.views = new Map(); // session id -> view (with its pc, quality and timers)
    this.microphone = null; // this page's microphone, opened at the first talk
    this.talkingTo = new Set();
  }

  configure(message) {
    this.config = { iceServers: message.ice_servers ?? [], iceTransportPolicy: message.ice_transport_policy ?? "all" };
  }

  // Watches the session at this quality ("tile", "listen" or "full"): joins, or changes it.
  join(sessionId, quality) {
    let view = this.views.get(sessionId);
    if (view && view.quality === quality && view.state !== "unavailable") return;
    if (!view) {
      view = { quality, state: "connecting", reason: "", camera: null, screen: null, pc: null, timer: null, retry: null };
      this.views.set(sessionId, view);
    }
    view.quality = quality;
    if (view.state === "unavailable") {
      // The candidate's page may still count the failed connection: leave it, then join anew.
      this.send({ type: "rtc", action: "leave", session_id: sessionId });
      this.reset(sessionId, view);
    }
    this.send({ type: "rtc", action: "join", session_id: sessionId, quality });
    if (view.state === "connecting") this.armTimeout(sessionId, view);
  }

  leave(sessionId) {
    const view = this.views.get(sessionId);
    if (!view) return;
    this.views.delete(sessionId);
    clearTimeout(view.timer);
    clearTimeout(view.retry);
    view.pc?.close();
    this.send({ type: "rtc", action: "leave", session_id: sessionId });
    this.talkingTo.delete(sessionId);
  }

  // The socket reconnected: its new viewer id must join everything again.
  rejoinAll() {
    for (const [sessionId, view] of this.views) {
      this.reset(sessionId, view);
      this.send({ type: "rtc", action: "join", session_id: sessionId, quality: view.quality });
      this.armTimeout(sessionId, view);
    }
  }

  sessions() {
    return [...this.views.keys()];
  }

  receive(message) {
    const sessionId = message.session_id;
    const view = this.views.get(sessionId);
    if (!view) return;
    if (message.type === "rtc_refused") {
      this.unavailable(sessionId, view, message.reason);
      return;
    }
    switch (message.action) {
      case "offer":
        this.answer(sessionId, view, message.sdp).catch((error) => this.unavailable(sessionId, view, error.message));
        break;
      case "ice":
        if (message.candidate) view.pc?.addIceCandidate(message.candidate).catch(() => {});
        break;
      case "ready": // the candidate's page (re)connected: a fresh connection
        this.reset(sessionId, view);
        this.send({ type: "rtc", action: "join", session_id: sessionId, quality: view.quality });
        this.armTimeout(sessionId, view);
        break;
    }
  }

  async answer(sessionId, view, sdp) {
    view.pc?.close();
    const pc = new RTCPeerConnection({ ...this.config, bundlePolicy: "max-bundle" });
    view.pc = pc;
    view.camera = new MediaStream();
    view.screen = null;
    pc.addEventListener("track", ({ track, transceiver }) => {
      // The candidate's page sends camera, audio, then screen: the second video is the screen.
      const videos = pc.getTransceivers().filter((t) => t.receiver.track.kind === "video");
      if (track.kind === "video" && videos.indexOf(transceiver) > 0) {
        view.screen = new MediaStream([track]);
        // Muted while nothing comes: not shared yet, or a tile's connection (no screen).
        for (const type of ["mute", "unmute"]) track.addEventListener(type, () => this.changed(sessionId, view));
      } else {
        view.camera.addTrack(track);
      }
      this.changed(sessionId, view);
    });
    pc.addEventListener("icecandidate", ({ candidate }) =>
      this.send({ type: "rtc", action: "ice", session_id: sessionId, candidate: candidate?.toJSON() ?? null }));
    pc.addEventListener("connectionstatechange", () => {
      if (view.pc !== pc) return;
      if (pc.connectionState === "connected") {
        clearTimeout(view.timer);
        view.state = "live";
        view.reason = "";
        this.changed(sessionId, view);
      } else if (pc.connectionState === "failed") {
        this.unavailable(sessionId, view, "the connection failed");
      }
    });
    await pc.setRemoteDescription({ type: "offer", sdp });
    const audio = pc.getTransceivers().find((t) => t.receiver.track.kind === "audio");
    if (audio) {
      audio.direction = "sendrecv"; // silent until push-to-talk puts the microphone on it
      if (this.talkingTo.has(sessionId) && this.microphone) await audio.sender.replaceTrack(this.microphone);
    }
    await pc.setLocalDescription(await pc.createAnswer());
    if (view.pc !== pc) return;
    this.send({ type: "rtc", action: "answer", session_id: sessionId, sdp: pc.localDescription.sdp });
  }

  // Push-to-talk: this page's microphone to these sessions (on) or silence again (off).
  async talk(sessionIds, on) {
    if (on && !this.microphone) {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true } });
      this.microphone = stream.getAudioTracks()[0];
    }
    for (const sessionId of sessionIds) {
      const view = this.views.get(sessionId);
      if (!view) continue;
      if (on) this.talkingTo.add(sessionId);
      else this.talkingTo.delete(sessionId);
      const audio = view.pc?.getTransceivers().find((t) => t.receiver.track.kind === "audio");
      await audio?.sender.replaceTrack(on ? this.microphone : null);
      this.send({ type: "rtc", action: "talk", session_id: sessionId, on });
    }
  }

  armTimeout(sessionId, view) {
    clearTimeout(view.timer);
    view.timer = setTimeout(() => {
      if (view.state === "connecting") this.unavailable(sessionId, view, "the candidate's page did not answer");
    }, CONNECT_TIMEOUT_MS);
  }

  // Shows the analysed pictures instead, says why, and tries again a little later (a refused
  // viewer may fit once another leaves; a network may come back). A page that connects
  // meanwhile says "ready", which joins at once.
  unavailable(sessionId, view, reason) {
    clearTimeout(view.timer);
    view.pc?.close();
    view.pc = null;
    view.state = "unavailable";
    view.reason = reason;
    this.changed(sessionId, view);
    clearTimeout(view.retry);
    view.retry = setTimeout(() => this.views.get(sessionId) === view && this.join(sessionId, view.quality), RETRY_MS);
  }

  reset(sessionId, view) {
    clearTimeout(view.retry);
    view.pc?.close();
    view.pc = null;
    view.camera = null;
    view.screen = null;
    view.state = "connecting";
    view.reason = "";
    this.changed(sessionId, view);
  }
}

// One sound level per tile, from the received audio (not played): WebAudio analysers read by
// one timer for the whole wall.
export class LevelMeters {
  constructor(intervalMs = 200) {
    this.context = null;
    this.meters = new Map(); // meter element -> {track, source, analyser, samples}
    this.waiting = new Map(); // meter element -> the track it meters once that is unmuted
    this.intervalMs = intervalMs;
    this.timer = null;
    // Browsers start audio suspended until the page is used: resume on the first touch.
    const resume = () => this.context?.state === "suspended" && this.context.resume().catch(() => {});
    for (const type of ["pointerdown", "keydown"]) addEventListener(type, resume, { capture: true });
  }

  // Meters the stream's audio track (again only if it is another track than before). A
  // received track is muted until its first packets: Chromium's WebAudio source made from it
  // before then may stay silent for good, so it is made at the unmute.
  attach(meter, stream) {
    const track = stream?.getAudioTracks()[0];
    if (this.meters.get(meter)?.track === track || this.waiting.get(meter) === track) return;
    this.detach(meter);
    if (!track) return;
    if (track.muted) {
      this.waiting.set(meter, track);
      track.addEventListener("unmute", () => {
        if (this.waiting.get(meter) !== track) return; // another track came meanwhile
        this.waiting.delete(meter);
        this.attach(meter, stream);
      }, { once: true });
      return;
    }
    this.waiting.delete(meter);
    this.context ??= new AudioContext();
    const source = this.context.createMediaStreamSource(new MediaStream([track]));
    const analyser = this.context.createAnalyser();
    analyser.fftSize = 512;
    source.connect(analyser); // not to the speakers: listening is the video element's job
    this.meters.set(meter, { track, source, analyser, samples: new Float32Array(analyser.fftSize) });
    this.timer ??= setInterval(() => this.read(), this.intervalMs);
  }

  detach(meter) {
    this.waiting.delete(meter);
    const held = this.meters.get(meter);
    if (!held) return;
    held.source.disconnect();
    this.meters.delete(meter);
    meter.value = 0;
  }

  read() {
    for (const [meter, { analyser, samples }] of this.meters) {
      if (!meter.isConnected) {
        this.detach(meter);
        continue;
      }
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const sample of samples) sum += sample * sample;
      const rms = Math.sqrt(sum / samples.length);
      // 0 at -60 dBFS and below, 1 at full scale: speech sits around 0.5-0.8.
      meter.value = Math.max(0, Math.min(1, 1 + Math.log10(Math.max(rms, 1e-6)) / 3));
    }
  }
}

// A push-to-talk button: talks while pressed (pointer, or Space/Enter held on the keyboard).
// talk(on) returns a promise; a refused microphone is reported through failed(error).
export function holdToTalk(button, talk, failed) {
  let down = false;
  const set = (on) => {
    if (on === down) return;
    down = on;
    button.ariaPressed = String(on);
    talk(on).catch((error) => {
      down = false;
      button.ariaPressed = "false";
      failed(error);
    });
  };
  button.addEventListener("pointerdown", (event) => {
    button.setPointerCapture?.(event.pointerId); // the release counts even off the button
    set(true);
  });
  for (const type of ["pointerup", "pointercancel", "blur"]) button.addEventListener(type, () => set(false));
  button.addEventListener("keydown", (event) => {
    if ((event.key === " " || event.key === "Enter") && !event.repeat) {
      event.preventDefault();
      set(true);
    }
  });
  button.addEventListener("keyup", (event) => (event.key === " " || event.key === "Enter") && set(false));
  button.addEventListener("click", (event) => event.preventDefault()); // the hold is the action
}
