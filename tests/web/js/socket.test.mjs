// The back-off of web/static/js/lib/socket.js under node's own test runner (run by
// tests/web/test_static_lib.py). The module is loaded from its source as a data: URL so that it
// stays a plain browser file, with no package.json saying it is an ES module.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";

const source = await readFile(new URL("../../../src/openproctor/web/static/js/lib/socket.js", import.meta.url), "utf8");
const { retryDelayMs } = await import(`data:text/javascript,${encodeURIComponent(source)}`);

const retries = [1, 2, 3, 4, 5, 6, 9];

test("the longest waits double from 1 s and stop at 10 s", () => {
  assert.deepEqual(retries.map((retry) => retryDelayMs(retry, () => 0)), [1000, 2000, 4000, 8000, 10000, 10000, 10000]);
});

test("jitter takes up to half of the wait off, never more", () => {
  assert.deepEqual(retries.map((retry) => retryDelayMs(retry, () => 0.5)), [750, 1500, 3000, 6000, 7500, 7500, 7500]);
  const shortest = retries.map((retry) => retryDelayMs(retry, () => 1 - Number.EPSILON));
  assert.deepEqual(shortest.map(Math.round), [500, 1000, 2000, 4000, 5000, 5000, 5000]);
});

test("pages dropped together come back spread out", () => {
  const waits = Array.from({ length: 200 }, () => retryDelayMs(3));
  assert.ok(waits.every((wait) => wait > 2000 && wait <= 4000), `out of (2000, 4000]: ${waits}`);
  assert.ok(new Set(waits).size > 150, "the waits should differ from page to page");
  assert.ok(Math.min(...waits) < 2500 && Math.max(...waits) > 3500, "the waits should cover the range");
});

test("a retry is counted from 1", () => {
  for (const retry of [0, -1, 1.5, Number.NaN]) assert.throws(() => retryDelayMs(retry), RangeError);
});
