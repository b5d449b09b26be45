// The silence gate between the microphone (audio.js) and the live socket. No imports: node's
// test runner loads it as it is (tests/web/js/silence.test.mjs).
const CHUNK_S = 0.5; // audio-worklet.js posts 8000 samples at 16 kHz

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
