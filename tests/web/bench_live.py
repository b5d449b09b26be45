"""Live-media figures on this machine (`make bench-live`), printed, not asserted:

- time from opening a candidate on the wall to its first full-rate video frame, and from
  opening the wall to a tile's first frame (p50/p95 over --opens);
- the candidate's uplink in kbit/s, split into live video (WebRTC), the analysis socket and
  the recording uploads: with the wall open (a tile) and with one proctor watching closely;
- the proctor's downlink and its browser's CPU with --tiles live tiles, their candidates
  publishing from one light page (tests/web/light_publishers.py) or, with --pages, from their
  own exam pages.

One server (SQLite, analysis off), candidates in Chromium with a fake camera and speech on the
fake microphone, the proctor in another Chromium.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from openproctor.db import make_engine, make_session_factory
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.users.models import Role
from openproctor.live.protocol import MediaKind
from openproctor.migrations import upgrade
from openproctor.settings import load_settings
from tests.conftest import Factory, serving
from tests.web import light_publishers
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.web.live_media import media_browser, stats
from tests.web.test_live_media import candidate_page, wall

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGES_PER_BROWSER = 15
# The staff page's received bytes (all connections; and the RTP payloads by kind) and each
# received video stream's decoded frames, keyed by connection and stream (stats ids repeat
# across connections).
TILE_STATS = """async () => {
  const total = {bytesReceived: 0, video: 0, audio: 0, frames: {}};
  for (const [index, pc] of window.__connections.entries()) {
    if (pc.connectionState !== "connected") continue;
    (await pc.getStats()).forEach((report) => {
      if (report.type === "transport") total.bytesReceived += report.bytesReceived ?? 0;
      if (report.type === "inbound-rtp") total[report.kind] += report.bytesReceived ?? 0;
      if (report.type === "inbound-rtp" && report.kind === "video") {
        total.frames[`${index}/${report.id}`] = report.framesDecoded ?? 0;
      }
    });
  }
  return total;
}"""


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _tree_cpu_seconds(marker: str) -> float:
    """User + system CPU of the Chromium whose command line has `marker`, and its children."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    root = None
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        cpu[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        if marker.encode() in cmdline and root is None:
            root = pid
    if root is None:
        raise RuntimeError("the proctor's browser process was not found")
    tree, grown = {root}, True
    while grown:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grown = bool(more)
    return sum(cpu[pid] for pid in tree)


class Uplink:
    """Bytes a candidate's page sends: WebRTC (from getStats), its socket (every message sent;
    of those, the camera frames for analysis, counted apart) and its recording (what the
    server stored: the browser does not report blob bodies)."""

    def __init__(self, page: Page, stored: Path) -> None:
        self.page = page
        self.stored = stored
        self.socket = 0
        self.camera_bytes = self.camera_frames = 0
        page.on("websocket", lambda ws: ws.on("framesent", self._frame))

    def _frame(self, payload: str | bytes) -> None:
        self.socket += len(payload)
        if isinstance(payload, bytes) and payload[:1] == bytes([MediaKind.FRAME]):
            self.camera_bytes += len(payload)
            self.camera_frames += 1

    @property
    def uploads(self) -> int:
        return sum(path.stat().st_size for path in self.stored.rglob("*") if path.is_file())

    def _counters(self) -> tuple[int, int, int, int, int]:
        sent = stats(self.page)["bytesSent"]
        return sent, self.socket, self.uploads, self.camera_bytes, self.camera_frames

    def measure(self, seconds: float) -> dict[str, float]:
        """kbit/s of each, and of the socket's camera frames; their number a second and mean
        size in KB."""
        start = self._counters()
        self.page.wait_for_timeout(seconds * 1000)
        end = self._counters()
        grown = [b - a for a, b in zip(start, end, strict=True)]
        kbps = [value * 8 / seconds / 1000 for value in grown[:4]]
        return {
            "webrtc": kbps[0],
            "socket": kbps[1],
            "recording": kbps[2],
            "total": sum(kbps[:3]),
            "socket frames": kbps[3],
            "frames/s": grown[4] / seconds,
            "frame KB": grown[3] / max(1, grown[4]) / 1000,
        }


def first_frames(staff: Page, opens: int) -> dict[str, list[float]]:
    """Seconds to the first frame: after opening the candidate (the tile's connection asks
    for full quality), and after opening the wall (a new connection)."""
    detail_video = "[data-testid=live-video]"
    opened, walls = [], []
    for _ in range(opens):
        started = time.monotonic()
        staff.reload()
        staff.wait_for_function(
            "() => document.querySelector('[data-testid=tile-video]')?.videoWidth > 0",
            timeout=30000,
        )
        walls.append(time.monotonic() - started)
        staff.get_by_test_id("candidate-tile").click()
        started = time.monotonic()
        # The first frame the detail's own video element presents once the view is full.
        staff.locator(detail_video).evaluate(
            "video => new Promise(done => video.requestVideoFrameCallback(() => done()))"
        )
        opened.append(time.monotonic() - started)
        staff.locator("[data-action=close]").click()
    return {"open candidate": opened, "open wall": walls}


def run(opens: int, tiles: int, seconds: float, pages: bool, camera: Path | None) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-live-") as scratch:
        measure(Path(scratch), opens, tiles, seconds, pages, camera)


def measure(
    workdir: Path, opens: int, tiles: int, seconds: float, pages: bool, camera: Path | None
) -> None:
    database = workdir / "bench.db"
    settings = load_settings(
        env="test",
        data_dir=workdir / "data",
        database_url=f"sqlite:///{database}",
        analysis_workers=0,
    )
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    db = make_session_factory(engine)()
    factory = Factory(db)
    marker = f"--openproctor-bench-staff={uuid.uuid4().hex}"
    with sync_playwright() as playwright, serving(settings) as base_url:
        staff_browser: Browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, marker]
        )
        if opens:
            candidates = media_browser(playwright, workdir, camera=camera)
            one_candidate(
                candidates, staff_browser, base_url, factory, settings.data_dir, opens, seconds
            )
            candidates.close()
        if tiles:
            many_tiles(
                playwright, staff_browser, marker, base_url, factory, workdir, tiles, seconds, pages
            )
        staff_browser.close()
    db.close()
    engine.dispose()


def many_tiles(
    playwright: Playwright,
    staff_browser: Browser,
    marker: str,
    base_url: str,
    factory: Factory,
    workdir: Path,
    tiles: int,
    seconds: float,
    pages: bool,
) -> None:
    """The proctor's downlink and browser CPU with `tiles` live tiles. The candidates publish
    from one light page (tests/web/light_publishers.py) or, with `pages`, from their own exam
    pages, which do not record (30 recorders do not fit on a small machine beside the rest)."""
    proctor = factory.user(Role.PROCTOR)
    crowd = factory.exam(policy={"record_webcam": False})
    people = [factory.candidate(crowd, proctor, name=f"Bench{n}") for n in range(tiles)]
    publisher_marker = f"--openproctor-bench-publishers={uuid.uuid4().hex}"
    browsers: list[Browser] = []
    publishing: list[Page] = []
    if pages:
        # Chromium's fake microphone opens at most 16 times in one browser: 15 pages each.
        for index in range(math.ceil(tiles / PAGES_PER_BROWSER)):
            (workdir / f"crowd{index}").mkdir()
            browsers.append(media_browser(playwright, workdir / f"crowd{index}", publisher_marker))
        refused = 0
        for number, who in enumerate(people):
            page = running_page(browsers[number // PAGES_PER_BROWSER], base_url, factory, who)
            if page:
                publishing.append(page)
            refused = 0 if page else refused + 1
            if refused == 2:  # the machine is full: measure with the pages that run
                break
    else:
        (workdir / "light").mkdir()
        browsers.append(media_browser(playwright, workdir / "light", publisher_marker))
        publishing.append(light_publishers.publish(browsers[0], base_url, factory, people))
    staff = wall(staff_browser, base_url, proctor, crowd.id)
    live = staff.locator("[data-testid=candidate-tile][data-live=live]")
    deadline = time.monotonic() + 120
    while live.count() < tiles and time.monotonic() < deadline:
        staff.wait_for_timeout(500)
    connected = live.count()
    staff.wait_for_timeout(3000)
    load = os.getloadavg()[0]
    before, started = tile_stats(staff), time.monotonic()
    cpu_before = _tree_cpu_seconds(marker), _tree_cpu_seconds(publisher_marker)
    sent_before = {} if pages else light_publishers.sent(publishing[0])
    staff.wait_for_timeout(seconds * 1000)
    after, elapsed = tile_stats(staff), time.monotonic() - started
    cpu_after = _tree_cpu_seconds(marker), _tree_cpu_seconds(publisher_marker)
    sent_after = {} if pages else light_publishers.sent(publishing[0])
    load = max(load, os.getloadavg()[0])
    for page in [staff, *publishing]:
        page.context.close()
    for browser in browsers:
        browser.close()

    downlink, video, audio = (
        (after[key] - before[key]) * 8 / elapsed / 1000
        for key in ("bytesReceived", "video", "audio")
    )
    per_tile = [
        (frames - before["frames"].get(stream, 0)) / elapsed
        for stream, frames in after["frames"].items()
    ]
    cpu, publishers_cpu = (
        (b - a) / elapsed * 100 for a, b in zip(cpu_before, cpu_after, strict=True)
    )
    playing = [fps for fps in per_tile if fps > 0]
    source = f"{len(publishing)} exam pages" if pages else "one light publishing page"
    print(
        f"{tiles} candidates from {source}; proctor with {connected} live tiles, "
        f"{len(playing)} with video: downlink {downlink:.0f} kbit/s "
        f"({downlink / max(connected, 1):.0f} a tile; payloads: video {video:.0f}, audio "
        f"{audio:.0f}), browser CPU {cpu:.0f} % of one core; "
        f"{sum(per_tile):.0f} frames/s decoded in all, a tile median "
        f"{statistics.median(per_tile or [0]):.1f} min {min(per_tile or [0]):.1f}; "
        f"publishers' CPU {publishers_cpu:.0f} %; load average (1 min) up to {load:.1f}",
        flush=True,
    )
    if sent_after:
        encoded = [
            (now["frames"] - sent_before.get(stream, now)["frames"]) / elapsed
            for stream, now in sent_after.items()
        ]
        heights = sorted({item["height"] for item in sent_after.values()})
        print(
            f"  sent: {len(sent_after)} video connections, {sum(encoded):.0f} frames/s "
            f"encoded in all, heights {heights}",
            flush=True,
        )


def tile_stats(staff: Page) -> dict[str, Any]:
    """Bytes the staff page received over all its connections, and each received video
    stream's decoded frames (keyed by connection and stream)."""
    result: dict[str, Any] = staff.evaluate(TILE_STATS)
    return result


def one_candidate(
    candidates: Browser,
    staff_browser: Browser,
    base_url: str,
    factory: Factory,
    stored: Path,
    opens: int,
    seconds: float,
) -> None:
    """First frames, and the candidate's uplink with no viewer, a tile and a close view."""
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam()
    ada = factory.candidate(exam, proctor, name="Ada")
    uplinks: list[Uplink] = []
    keep = lambda page: uplinks.append(Uplink(page, stored))  # noqa: E731
    candidate = candidate_page(candidates, base_url, factory, ada, keep)
    uplink = uplinks[0]
    candidate.wait_for_timeout(3000)  # the recording's first chunks
    alone = uplink.measure(seconds)
    staff = wall(staff_browser, base_url, proctor, exam.id)
    expect(staff.get_by_test_id("candidate-tile")).to_have_attribute("data-live", "live")
    frames = first_frames(staff, opens)
    tile_up = uplink.measure(seconds)
    staff.get_by_test_id("candidate-tile").click()
    staff.wait_for_timeout(3000)  # the encoder ramps up to the full rate
    close_up = uplink.measure(seconds)
    staff.context.close()
    candidate.context.close()
    report(frames, {"no viewer": alone, "wall tile": tile_up, "close view": close_up})


def running_page(browser: Browser, base_url: str, factory: Factory, who: Candidate) -> Page | None:
    """A crowd candidate's running exam page, or None (said why) when it did not get there:
    on a loaded machine the system check may time out."""
    page: Page | None = None

    def patient(opened: Page) -> None:
        nonlocal page
        page = opened
        opened.set_default_timeout(60000)

    try:
        return candidate_page(browser, base_url, factory, who, patient)
    except PlaywrightError as error:
        assert page is not None
        problems = page.locator("#step").inner_text(timeout=5000).split("\n")
        print(f"{who.name}'s page did not start ({str(error).splitlines()[0]}): {problems}")
        page.context.close()
        return None


def report(frames: dict[str, list[float]], uplinks: dict[str, dict[str, float]]) -> None:
    print(f"first frame, {len(frames['open wall'])} opens (s):")
    for name, values in frames.items():
        print(
            f"  {name:15s} p50 {statistics.median(values):.2f}  "
            f"p95 {percentile(values, 0.95):.2f}  max {max(values):.2f}"
        )
    print("candidate uplink (kbit/s; webrtc + analysis socket + recording uploads):")
    for name, figures in uplinks.items():
        parts = "  ".join(f"{key} {value:.1f}" for key, value in figures.items())
        print(f"  {name:12s} {parts}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opens", type=int, default=20, help="0: skip the one-candidate part")
    parser.add_argument("--tiles", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--pages",
        action="store_true",
        help="publish each tile from its candidate's own exam page, not from one light page "
        "(at most about 15 fit beside the wall on a 2-core machine)",
    )
    parser.add_argument(
        "--camera",
        type=Path,
        help="the one candidate's fake camera plays this video (640x480 Y4M or MJPEG, e.g. a "
        "real webcam recording from ../shared/eval/video) instead of two photos in turn",
    )
    arguments = parser.parse_args()
    expect.set_options(timeout=60000)  # thirty candidates' pages on a small machine are slow
    run(arguments.opens, arguments.tiles, arguments.seconds, arguments.pages, arguments.camera)


if __name__ == "__main__":
    main()
