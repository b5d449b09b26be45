// The microphone, through the PCM worklet, to a callback (pcm: Int16Array, tsMs); and the
// silence gate that keeps quiet chunks on the page.
import { nowMs } from "./stream.js";

const CHUNK_S = 0.5; // audio-worklet.js posts 8000 samples at 16 kHz

export async function startMicrophone(stream, onChunk) {
  const context = new AudioContext();
  await context.audioWorklet.addModule(new URL("./audio-worklet.js", import.meta.url));
  const source = context.createMediaStreamSource(stream);
  const capture = new AudioWorkletNode(context, "pcm-capture");
  const silent = context.createGain();
  silent.gain.value = 0; // the graph must reach the speakers to be processed; keep it mute
  source.connect(capture).connect(silent).connect(context.destination);
  capture.port.onmessage = ({ data }) => {
    // Map the chunk's audio-clock start to the page clock.
    const stamp = context.getOutputTimestamp?.();
    const tsMs = stamp?.performanceTime
      ? performance.timeOrigin + stamp.performanceTime + (data.at - stamp.contextTime) * 1000
      : nowMs() - 500;
    onChunk(new Int16Array(data.pcm), tsMs);
  };
  // Browsers may start audio suspended until the page is used; resume on the first touch.
  const resume = () => context.state === "suspended" && context.resume();
  for (const type of ["pointerdown", "keydown"]) addEventListener(type, resume, { capture: true });
  context.resume().catch(() => {}); // may stay pending until the first touch: do not wait
  return {
    stop() {
      for (const type of ["pointerdown", "keydown"]) removeEventListener(type, resume, { capture: true });
      source.disconnect();
      context.close().catch(() => {});
    },
  };
}

function loudness(pcm) {
  let sum = 0;
  for (const sample of pcm) sum += (sample / 32768) ** 2;
  return pcm.length ? Math.sqrt(sum / pcm.length) : 0;
}

// Speech analysis needs audio only at or above the floor the server applies (hello's
// speech_rms_floor): quieter chunks stay here, except the one just before speech (its onset)
// and those of the hangover after it (so the server hears it end). Until the hello says the
// floor, everything is sent.
export class SilenceGate {
  constructor(send) {
    this.send = send;
    this.floor = null;
    this.hangoverChunks = 0;
    this.left = 0; // hangover chunks still to send
    this.held = null; // the last quiet chunk, sent if speech follows
  }

  configure({ speech_rms_floor: floor, speech_hangover_s: hangover }) {
    if (typeof floor !== "number") return;
    this.floor = floor;
    this.hangoverChunks = Math.ceil((hangover ?? 0) / CHUNK_S);
  }

  push(pcm, tsMs) {
    if (this.floor === null) return this.send(pcm, tsMs);
    if (loudness(pcm) >= this.floor) {
      if (this.held) this.send(...this.held);
      this.held = null;
      this.left = this.hangoverChunks;
      return this.send(pcm, tsMs);
    }
    if (this.left > 0) {
      this.left -= 1;
      return this.send(pcm, tsMs);
    }
    this.held = [pcm, tsMs];
  }
}
