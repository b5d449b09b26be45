"""What the live-media browser tests and the live bench share: a Chromium whose fake camera
plays a clean photo video and whose fake microphone plays a speech WAV, and reading WebRTC
statistics from a page (every RTCPeerConnection it makes is kept for that)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, Playwright

from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.web.webcam import FIXTURES, write_y4m

SPEECH = FIXTURES / "speech_en.wav"
# Kept on the page so the test can read getStats(); the page's own code is unchanged.
KEEP_CONNECTIONS = """
window.__connections = [];
const Original = window.RTCPeerConnection;
window.RTCPeerConnection = class extends Original {
  constructor(...args) {
    super(...args);
    window.__connections.push(this);
  }
};
"""
# Totals over the page's open connections: what was received and sent.
STATS = """async () => {
  const total = {framesDecoded: 0, audioEnergy: 0, bytesReceived: 0, bytesSent: 0,
                 connections: 0, relayed: 0, frameHeight: 0};
  for (const pc of window.__connections) {
    if (pc.connectionState !== "connected") continue;
    total.connections += 1;
    const stats = await pc.getStats();
    const pairs = [];
    stats.forEach((report) => {
      if (report.type === "inbound-rtp" && report.kind === "video") {
        total.framesDecoded += report.framesDecoded ?? 0;
        total.frameHeight = Math.max(total.frameHeight, report.frameHeight ?? 0);
      }
      if (report.type === "inbound-rtp" && report.kind === "audio") {
        total.audioEnergy += report.totalAudioEnergy ?? 0;
      }
      if (report.type === "transport") {
        total.bytesReceived += report.bytesReceived ?? 0;
        total.bytesSent += report.bytesSent ?? 0;
        const pair = stats.get(report.selectedCandidatePairId);
        if (pair) pairs.push(pair);
      }
    });
    for (const pair of pairs) {
      const local = stats.get(pair.localCandidateId);
      const remote = stats.get(pair.remoteCandidateId);
      if (local?.candidateType === "relay" || remote?.candidateType === "relay") total.relayed += 1;
    }
  }
  return total;
}"""


def media_browser(
    playwright: Playwright, workdir: Path, *extra: str, camera: Path | None = None
) -> Browser:
    """Chromium with a face on the fake camera (or the video `camera`, Y4M or MJPEG) and
    speech on the fake microphone."""
    # Two photos in turn, one second each: a picture that changes, as a face does.
    photos = [("pai_webcam_center.jpg", 1.0), ("pai_webcam_eyes_left.jpg", 1.0)]
    video = camera.resolve() if camera else write_y4m(photos, workdir / "face.y4m", fps=15)
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            *CHROMIUM_ARGS,
            f"--use-file-for-fake-video-capture={video}",
            f"--use-file-for-fake-audio-capture={SPEECH.resolve()}",
            "--autoplay-policy=no-user-gesture-required",
            *extra,
        ],
    )


def watched_context(browser: Browser, base_url: str) -> BrowserContext:
    context = browser.new_context(base_url=base_url)
    context.add_init_script(KEEP_CONNECTIONS)
    return context


def stats(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(STATS)
    return result
