// The candidate's live camera, microphone and screen, sent peer to peer to each staff page
// that watches (signalling over the candidate's socket: openproctor/live/signalling.py). This
// page offers; each viewer answers. A wall tile gets a small, slow picture and a close view the
// full one, set per connection; the proctor talks back on the microphone's transceiver.
import * as media from "./media.js";
import { preferLightAudio } from "./sdp.js";

// Sent to one viewer, by the quality it joined with (openproctor/live/signalling.py Quality).
// The screen goes to close views only. A wall tile only meters the sound (it plays nothing
// until the proctor listens, which joins again at "listen"), so its Opus is capped at 16
// kbit/s; full audio is Chromium's own 32 kbit/s for speech.
const TILE_CAMERA = { active: true, scaleResolutionDownBy: 4, maxFramerate: 5, maxBitrate: 80_000 };
const FULL_AUDIO = { active: true, maxBitrate: 32_000 };
const ENCODINGS = {
  tile: { camera: TILE_CAMERA, microphone: { active: true, maxBitrate: 16_000 }, screen: { active: false } },
  listen: { camera: TILE_CAMERA, microphone: FULL_AUDIO, screen: { active: false } },
  full: {
    camera: { active: true, scaleResolutionDownBy: 1, maxFramerate: 15, maxBitrate: 500_000 },
    microphone: FULL_AUDIO,
    screen: { active: true, scaleResolutionDownBy: 1, maxFramerate: 5, maxBitrate: 300_000 },
  },
};

export class LivePublisher {
  // send(message): a JSON message on the candidate's socket. speaking(on): the proctor started
  // or stopped talking to this candidate. watching(how): who receives the candidate's live
  // media changed: "close" (a close view), "wall" (wall tiles only) or null (nobody). screen:
  // the exam records the screen, so it is sent too (once shared: a share that starts or
  // restarts later takes the same place).
  constructor(send, { speaking, watching, screen }) {
    this.send = send;
    this.speaking = speaking;
    this.watching = watching;
    this.watchedAs = null;
    this.sendsScreen = screen;
    this.config = { iceServers: [], iceTransportPolicy: "all" };
    this.viewers = new Map(); // viewer id -> {pc, quality, senders: {camera, screen, microphone}}
    this.talking = new Set(); // viewers talking to this candidate right now
    this.voice = new Audio(); // what the proctors say; one element plays all their tracks
    this.voice.autoplay = true;
    this.voice.srcObject = new MediaStream();
  }

  configure(message) {
    this.config = { iceServers: message.ice_servers ?? [], iceTransportPolicy: message.ice_transport_policy ?? "all" };
  }

  // A signalling message from the socket: a step of a viewer, or a step of ours refused.
  receive(message) {
    if (message.type === "rtc_refused") {
      console.warn("live: signalling refused:", message.reason);
      return;
    }
    const viewer = this.viewers.get(message.viewer);
    switch (message.action) {
      case "join":
        if (viewer) this.setQuality(viewer, message.quality);
        else this.join(message.viewer, message.quality).catch((error) => this.failed(message.viewer, error));
        break;
      case "answer":
        viewer?.pc.setRemoteDescription({ type: "answer", sdp: preferLightAudio(message.sdp) })
          .catch((error) => this.failed(message.viewer, error));
        break;
      case "ice":
        if (message.candidate) viewer?.pc.addIceCandidate(message.candidate).catch(() => {}); // a late one after a restart
        break;
      case "talk":
        this.setTalking(message.viewer, message.on);
        break;
      case "leave":
        this.drop(message.viewer);
        break;
    }
  }

  async join(viewerId, quality) {
    const pc = new RTCPeerConnection({ ...this.config, bundlePolicy: "max-bundle" });
    const viewer = { pc, quality, senders: {} };
    this.viewers.set(viewerId, viewer);
    const camera = media.cameraStream()?.getVideoTracks()[0];
    const microphone = media.microphoneStream()?.getAudioTracks()[0];
    const screen = media.screenStream()?.getVideoTracks()[0];
    // Always one camera, one audio and (when the exam records it) one screen transceiver, in
    // this order: the staff page tells camera from screen by it. The audio goes both ways for
    // talk-back. A device not open yet sends nothing until replaceTracks().
    viewer.senders.camera = pc.addTransceiver(camera ?? "video", { direction: "sendonly" }).sender;
    viewer.senders.microphone = pc.addTransceiver(microphone ?? "audio", { direction: "sendrecv" }).sender;
    if (this.sendsScreen) viewer.senders.screen = pc.addTransceiver(screen ?? "video", { direction: "sendonly" }).sender;
    pc.addEventListener("track", ({ track }) => {
      if (track.kind === "audio") this.voice.srcObject.addTrack(track);
      this.voice.play().catch(() => {});
    });
    pc.addEventListener("icecandidate", ({ candidate }) =>
      this.send({ type: "rtc", action: "ice", viewer: viewerId, candidate: candidate?.toJSON() ?? null }));
    pc.addEventListener("connectionstatechange", () => {
      if (pc.connectionState === "failed") this.drop(viewerId); // the viewer joins again
      else this.announce();
    });
    await this.setQuality(viewer, quality);
    await pc.setLocalDescription(await pc.createOffer());
    if (this.viewers.get(viewerId) !== viewer) return; // left meanwhile
    this.send({ type: "rtc", action: "offer", viewer: viewerId, sdp: pc.localDescription.sdp });
  }

  async setQuality(viewer, quality) {
    viewer.quality = quality;
    this.announce();
    const wanted = ENCODINGS[quality] ?? ENCODINGS.tile;
    for (const kind of ["camera", "microphone", "screen"]) {
      const sender = viewer.senders[kind];
      if (!sender) continue;
      const parameters = sender.getParameters();
      if (!parameters.encodings?.length) parameters.encodings = [{}];
      Object.assign(parameters.encodings[0], wanted[kind]);
      await sender.setParameters(parameters).catch((error) => console.warn("live: encoding refused", error));
    }
  }

  // The camera, microphone or screen was opened again (after it stopped): send the new tracks.
  replaceTracks() {
    const camera = media.cameraStream()?.getVideoTracks()[0] ?? null;
    const microphone = media.microphoneStream()?.getAudioTracks()[0] ?? null;
    const screen = media.screenStream()?.getVideoTracks()[0] ?? null;
    for (const viewer of this.viewers.values()) {
      viewer.senders.camera?.replaceTrack(camera).catch(() => {});
      viewer.senders.microphone?.replaceTrack(microphone).catch(() => {});
      viewer.senders.screen?.replaceTrack(screen).catch(() => {});
    }
  }

  setTalking(viewerId, on) {
    if (on && this.viewers.has(viewerId)) this.talking.add(viewerId);
    else this.talking.delete(viewerId);
    this.speaking(this.talking.size > 0);
  }

  drop(viewerId) {
    const viewer = this.viewers.get(viewerId);
    if (!viewer) return;
    this.viewers.delete(viewerId);
    for (const receiver of viewer.pc.getReceivers()) this.voice.srcObject.removeTrack(receiver.track);
    viewer.pc.close();
    this.setTalking(viewerId, false);
    this.announce();
  }

  // Tells the page when who receives its media changes: only connected viewers count (a
  // viewer still connecting, or gone, sees nothing).
  announce() {
    const connected = [...this.viewers.values()].filter((viewer) => viewer.pc.connectionState === "connected");
    const how = connected.some((viewer) => viewer.quality === "full") ? "close" : connected.length ? "wall" : null;
    if (how === this.watchedAs) return;
    this.watchedAs = how;
    this.watching?.(how);
  }

  failed(viewerId, error) {
    console.warn("live: connection to a viewer failed", error);
    this.drop(viewerId);
  }

  // The socket dropped: the viewers join again once it is back (the server says "ready").
  stop() {
    for (const viewerId of [...this.viewers.keys()]) this.drop(viewerId);
  }
}
