// What the candidate's page writes into a viewer's answer (web/static/js/take/sdp.js) under
// node's own test runner (run by tests/web/test_light_publishers.py), loaded from its source
// as a data: URL like socket.test.mjs.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";

const source = await readFile(new URL("../../../src/openproctor/web/static/js/take/sdp.js", import.meta.url), "utf8");
const { preferLightAudio } = await import(`data:text/javascript,${encodeURIComponent(source)}`);

// The audio section of a Chromium answer (Opus at payload type 111), then its video section.
const ANSWER = [
  "v=0", "o=- 1 2 IN IP4 127.0.0.1", "s=-", "t=0 0",
  "m=audio 9 UDP/TLS/RTP/SAVPF 111 63", "a=mid:1", "a=sendrecv",
  "a=rtpmap:111 opus/48000/2", "a=rtcp-fb:111 transport-cc", "a=fmtp:111 minptime=10;useinbandfec=1",
  "a=rtpmap:63 red/48000/2", "a=fmtp:63 111/111",
  "m=video 9 UDP/TLS/RTP/SAVPF 96", "a=mid:0", "a=rtpmap:96 VP8/90000", "",
].join("\r\n");

test("Opus is asked for in 60 ms packets, nothing else changes", () => {
  const lines = preferLightAudio(ANSWER).split("\r\n");
  const expected = ANSWER.split("\r\n");
  const at = expected.indexOf("a=fmtp:111 minptime=10;useinbandfec=1");
  expected.splice(at + 1, 0, "a=ptime:60");
  assert.deepEqual(lines, expected);
});

test("the payload type is read from the answer, not assumed", () => {
  const moved = ANSWER.replaceAll("111", "109");
  assert.match(preferLightAudio(moved), /\r\na=fmtp:109 minptime=10;useinbandfec=1\r\na=ptime:60\r\n/);
});

test("an answer that already says, or has no Opus, is left as it is", () => {
  const asked = ANSWER.replace("a=mid:1", "a=mid:1\r\na=ptime:20");
  assert.equal(preferLightAudio(asked), asked);
  const noOpus = ANSWER.replace("a=rtpmap:111 opus/48000/2", "a=rtpmap:111 PCMU/8000");
  assert.equal(preferLightAudio(noOpus), noOpus);
});
