// AudioWorklet processor: the microphone as 16 kHz mono signed 16-bit PCM, posted in 0.5 s
// chunks. Downsamples from the context's rate by averaging each output interval (a box
// filter, enough against aliasing for speech detection).
const TARGET_RATE = 16000;
const CHUNK_SAMPLES = 8000;

class PcmCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / TARGET_RATE; // input samples per output sample
    this.phase = 0;
    this.sum = 0;
    this.count = 0;
    this.last = 0;
    this.chunk = new Int16Array(CHUNK_SAMPLES);
    this.filled = 0;
    this.chunkStart = currentTime;
  }

  emit(value) {
    if (this.filled === 0) this.chunkStart = currentTime;
    const clipped = Math.max(-1, Math.min(1, value));
    this.chunk[this.filled++] = clipped < 0 ? clipped * 0x8000 : clipped * 0x7fff;
    if (this.filled === CHUNK_SAMPLES) {
      this.port.postMessage({ pcm: this.chunk.buffer, at: this.chunkStart }, [this.chunk.buffer]);
      this.chunk = new Int16Array(CHUNK_SAMPLES);
      this.filled = 0;
    }
  }

  process(inputs) {
    const channels = inputs[0];
    if (!channels || channels.length === 0) return true;
    const samples = channels[0];
    for (let i = 0; i < samples.length; i += 1) {
      let value = samples[i];
      for (let c = 1; c < channels.length; c += 1) value += channels[c][i];
      value /= channels.length;
      this.sum += value;
      this.count += 1;
      this.phase += 1;
      while (this.phase >= this.step) {
        if (this.count) this.last = this.sum / this.count;
        this.emit(this.last);
        this.sum = 0;
        this.count = 0;
        this.phase -= this.step;
      }
    }
    return true;
  }
}

registerProcessor("pcm-capture", PcmCapture);
