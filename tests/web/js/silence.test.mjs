// The silence gate of web/static/js/take/silence.js under node's own test runner (run by
// tests/web/test_audio_gate.py), loaded from its source as a data: URL like socket.test.mjs.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";

const source = await readFile(new URL("../../../src/openproctor/web/static/js/take/silence.js", import.meta.url), "utf8");
const { SilenceGate } = await import(`data:text/javascript,${encodeURIComponent(source)}`);

// A 0.5 s chunk whose every sample is `level`: its RMS is level / 32768.
const chunk = (level) => new Int16Array(8000).fill(level);
const LOUD = 328; // RMS 0.01001, at the floor below
const QUIET = 327; // RMS 0.00998, just under it

function gate(hello) {
  const sent = [];
  const silenceGate = new SilenceGate((pcm, tsMs) => sent.push(tsMs));
  if (hello) silenceGate.configure(hello);
  return { sent, push: (levels) => levels.forEach((level, at) => silenceGate.push(chunk(level), at)) };
}

test("until the hello says the floor, every chunk is sent", () => {
  const { sent, push } = gate(null);
  push([0, 0, 0]);
  assert.deepEqual(sent, [0, 1, 2]);
});

test("silence is kept; speech goes with the chunk before it and the hangover after it", () => {
  const { sent, push } = gate({ speech_rms_floor: 0.01, speech_hangover_s: 1.0 });
  push([0, QUIET, 0, LOUD, 0, QUIET, 0, 0, 0]);
  assert.deepEqual(sent, [2, 3, 4, 5]);
});

test("speech again within the hangover starts it over", () => {
  const { sent, push } = gate({ speech_rms_floor: 0.01, speech_hangover_s: 1.0 });
  push([LOUD, 0, LOUD, 0, 0, 0]);
  assert.deepEqual(sent, [0, 1, 2, 3, 4]);
});

test("the hangover rounds up to whole chunks", () => {
  const { sent, push } = gate({ speech_rms_floor: 0.01, speech_hangover_s: 2.5 });
  push([LOUD, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(sent, [0, 1, 2, 3, 4, 5]);
});
