"""The publishing side of many candidates from one light Chromium page, for the live bench (the
frame load test does the same for analysis): a small machine cannot run thirty candidates'
exam pages beside the proctor's wall, and Chromium's fake microphone opens at most 16 times
per browser.

The page opens the fake camera and microphone once and runs, per candidate, the exam page's
own modules: a `LiveLink` (take/stream.js) on that candidate's own authenticated socket and a
`LivePublisher` (take/live.js) answering every viewer that joins with a real peer connection.
So each tile the wall shows is a real encoding of a real camera track at the page's own tile
settings (160x120, <= 5 frames/s, 80 kbit/s) with the microphone's Opus beside it, signalled
by the real protocol; only the camera and microphone are shared, which viewers cannot tell.

The sessions are started as the exam page starts them: photo taken earlier (enrolled), then
the page's own call moves it to running, so the candidates are in the exam room and on the wall.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, Page

from openproctor.domains.candidates.models import Candidate
from tests.conftest import Factory
from tests.web.live_media import watched_context
from tests.web.pages import enrolled_earlier

# Runs in a page of the server's origin (the socket checks the Origin): imports the exam
# page's modules and publishes for each invite token. The socket sends no frames or speech
# audio (the link is held paused, as a proctor's pause does): they feed analysis, which the
# bench switches off, and never reach the proctor's wall as live media.
PUBLISH = """async (candidates) => {
  const media = await import("/static/js/take/media.js");
  const { LivePublisher } = await import("/static/js/take/live.js");
  const { LiveLink } = await import("/static/js/take/stream.js");
  const { client } = await import("/static/js/lib/http.js");
  await media.openCamera();
  await media.openMicrophone();
  window.__publishers = [];
  for (const { token, sessionId } of candidates) {
    // take/api.js setState(), for this token rather than the one in the page's address.
    await client({ base: `/api/v1/take/${token}` })(
      "POST", `/sessions/${sessionId}/state`, { json: { state: "running" } });
    let publisher = null;
    const link = new LiveLink(token, {
      // As the exam page does (take/proctoring.js): viewers join afresh after a reconnect.
      status: (kind) => (kind === "live" || kind === "reconnecting") && publisher.stop(),
      rtc: (message) => publisher.receive(message),
      rtcConfig: (message) => publisher.configure(message),
    });
    publisher = new LivePublisher((message) => link.sendRtc(message), {
      speaking: () => {},
      screen: false,
    });
    link.setPaused(true);
    link.start();
    window.__publishers.push({ link, publisher });
  }
}"""

# What the publishing page sends, per video stream (keyed by connection and stream): frames
# encoded and their height.
SENT = """async () => {
  const sent = {};
  for (const [index, pc] of window.__connections.entries()) {
    if (pc.connectionState !== "connected") continue;
    (await pc.getStats()).forEach((report) => {
      if (report.type === "outbound-rtp" && report.kind === "video") {
        const { framesEncoded, frameHeight } = report;
        sent[`${index}/${report.id}`] = { frames: framesEncoded ?? 0, height: frameHeight ?? 0 };
      }
    });
  }
  return sent;
}"""


# Per candidate (in the order published), what each viewer's connection gets: the quality it
# joined at, and the sent audio's encoder target (bit/s) and packets.
AUDIO = """async () => Promise.all(window.__publishers.map(async ({ publisher }) => {
  const viewers = [];
  for (const { pc, quality } of publisher.viewers.values()) {
    let audio = null;
    (await pc.getStats()).forEach((report) => {
      if (report.type === "outbound-rtp" && report.kind === "audio") audio = report;
    });
    viewers.push({ quality, target: audio?.targetBitrate ?? 0, packets: audio?.packetsSent ?? 0 });
  }
  return viewers;
}))"""


def publish(browser: Browser, base_url: str, factory: Factory, who: list[Candidate]) -> Page:
    """One page publishing live media for every candidate in `who`; their sessions run."""
    started = [
        {"token": candidate.invite_token, "sessionId": str(enrolled_earlier(factory, candidate).id)}
        for candidate in who
    ]
    page = watched_context(browser, base_url).new_page()
    page.goto("/login")  # a page of the server's origin, with the CSRF token pages carry
    page.evaluate(PUBLISH, started)
    return page


def sent(page: Page) -> dict[str, dict[str, Any]]:
    """Per video stream the publishing page sends: frames encoded, frame height."""
    result: dict[str, dict[str, Any]] = page.evaluate(SENT)
    return result


def audio(page: Page) -> list[list[dict[str, Any]]]:
    """Per candidate, per viewer: quality, the audio encoder's target bit/s, packets sent."""
    result: list[list[dict[str, Any]]] = page.evaluate(AUDIO)
    return result
