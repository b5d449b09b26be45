// The microphone, through the PCM worklet, to a callback (pcm: Int16Array, tsMs).
import { nowMs } from "./stream.js";

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
