"""The candidate's recording survives a flaky network and a reload (issue 5's acceptance test).

Chromium's fake camera and microphone are recorded for more than a minute while the network
goes offline and comes back, every fifth chunk upload is aborted on the way, and the page is
reloaded once. After the candidate submits, every chunk is on the server with the SHA-256 the
browser computed, and the assembled recording lasts at least 99 % of the recorded time and
decodes with ffmpeg."""

from __future__ import annotations

import hashlib
import itertools
import re
import shutil
import subprocess
import time
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from openproctor.domains.candidates.models import Candidate
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import ExamSession, SessionState
from openproctor.domains.users.models import Role
from tests.conftest import Factory
from tests.web.pages import sign_in

pytestmark = pytest.mark.browser

CHUNK_URL = re.compile(r"/recordings/(\w+)/chunks/(\d+)$")


def enrolled_session(factory: Factory, **policy: Any) -> tuple[Candidate, ExamSession]:
    """A candidate whose reference photo was taken earlier: the page starts at the check."""
    exam = factory.exam(policy={"require_fullscreen": False, **policy})
    candidate = factory.candidate(exam)
    session = sessions.current_for_candidate(db=factory.db, candidate=candidate)
    for state in (SessionState.CHECKING, SessionState.ENROLLED):
        sessions.move(session, state)
    factory.db.commit()
    return candidate, session


def start_exam(page: Page) -> None:
    page.get_by_test_id("next").click()  # the system check
    expect(page.get_by_test_id("step-intro")).to_be_visible(timeout=20000)
    page.get_by_test_id("next").click()
    expect(page.get_by_test_id("exam-running")).to_be_visible()


class FlakyChunks:
    """Intercepts chunk uploads: notes the SHA-256 each one claims (and checks it against the
    body), and aborts every fifth request."""

    def __init__(self) -> None:
        self.requests = 0
        self.aborted = 0
        self.sha: dict[tuple[str, int], set[str]] = defaultdict(set)

    def __call__(self, route: Route) -> None:
        request = route.request
        match = CHUNK_URL.search(request.url)
        assert match is not None
        self.requests += 1
        claimed = request.headers["x-chunk-sha256"]
        assert hashlib.sha256(request.post_data_buffer or b"").hexdigest() == claimed
        self.sha[match[1], int(match[2])].add(claimed)
        if self.requests % 5 == 0:
            self.aborted += 1
            route.abort("connectionreset")
        else:
            route.continue_()


def wait_until(check: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_every_chunk_arrives_through_offline_periods_aborted_uploads_and_a_reload(
    browser: Browser, live_server: str, factory: Factory, tmp_path: Path
) -> None:
    candidate, session = enrolled_session(factory)
    context = browser.new_context(base_url=live_server)
    page = context.new_page()
    flaky = FlakyChunks()
    page.route(CHUNK_URL, flaky)
    page.goto(f"/take/{candidate.invite_token}")
    start_exam(page)
    expect(page.get_by_test_id("rec-status")).to_have_attribute("data-state", "on")

    page.wait_for_timeout(20000)
    context.set_offline(True)
    page.wait_for_timeout(15000)
    # Chunks recorded meanwhile wait in IndexedDB, and the page says so.
    expect(page.get_by_test_id("rec-status")).to_have_attribute("data-state", "behind")
    context.set_offline(False)
    page.wait_for_timeout(10000)
    page.reload()
    expect(page.get_by_test_id("exam-running")).to_be_visible()
    expect(page.get_by_test_id("rec-status")).to_have_attribute("data-state", "on")
    page.wait_for_timeout(22000)

    page.get_by_test_id("submit").click()
    page.get_by_test_id("submit-confirm").click()  # "Submit your answers?"
    expect(page.get_by_test_id("exam-submitted")).to_be_visible(timeout=60000)
    uploads = page.get_by_test_id("uploads")
    expect(uploads).not_to_have_attribute("data-state", "sending", timeout=60000)

    staff = browser.new_context(base_url=live_server).new_page()
    sign_in(staff, factory.user(Role.REVIEWER))

    def assembled() -> dict[str, Any] | None:
        listing = staff.request.get(f"/api/v1/sessions/{session.id}/recordings").json()
        webcam = [r for r in listing if r["kind"] == "webcam"]
        return webcam[0] if webcam and webcam[0]["ready"] else None

    recording = wait_until(assembled, 60, "the webcam recording to be assembled")
    status = page.request.get(
        f"/api/v1/take/{candidate.invite_token}/sessions/{session.id}/recordings"
    ).json()
    (stream,) = [s for s in status["streams"] if s["kind"] == "webcam"]

    sent = {index: shas for (kind, index), shas in flaky.sha.items() if kind == "webcam"}
    assert stream["missing_chunks"] == []
    assert stream["chunks_expected"] == len(sent) == recording["chunks"]
    assert sorted(sent) == list(range(len(sent)))
    for index, shas in sent.items():
        assert len(shas) == 1, f"chunk {index} was sent with different bodies"
        assert stream["chunk_sha256"][str(index)] == next(iter(shas))
    assert flaky.aborted >= len(sent) // 5

    recorded_s, duration_s = recording["recorded_s"], recording["duration_s"]
    assert recorded_s >= 60
    assert duration_s >= 0.99 * recorded_s

    # The reload started a second run: each part has its start by the browser's clock (which
    # is this machine's), and the second began after the first had ended.
    parts = recording["parts"]
    assert len(parts) >= 2
    assert {p["start_clock"] for p in parts} == {"browser"}
    for before, after in itertools.pairwise(parts):
        before_end = datetime.fromisoformat(before["started_at"]) + timedelta(
            seconds=before["duration_s"]
        )
        assert datetime.fromisoformat(after["started_at"]) >= before_end - timedelta(seconds=1)
        assert after["offset_s"] == pytest.approx(before["offset_s"] + before["duration_s"])

    media = staff.request.get(recording["url"])
    assert media.ok
    path = tmp_path / "webcam.webm"
    path.write_bytes(media.body())
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg, "ffmpeg is needed (make test installs it)"
    decoded = subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    # Chrome's MediaRecorder sometimes gives two video frames the same millisecond; both
    # decode, and ffmpeg's null muxer only remarks on it. Anything else is a real error.
    remarks = decoded.stderr.strip().splitlines()
    same_ms = [line for line in remarks if "non monotonically increasing dts" in line]
    errors = [line for line in remarks if line not in same_ms]
    assert decoded.returncode == 0, decoded.stderr
    assert not errors, decoded.stderr
    print(
        f"\nrecording: recorded_s={recorded_s:.1f} duration_s={duration_s:.1f} "
        f"({100 * duration_s / recorded_s:.1f} %), chunks={len(sent)}, "
        f"uploads={flaky.requests}, aborted={flaky.aborted}, size={path.stat().st_size} B, "
        f"frames sharing a timestamp={len(same_ms)}"
    )
    context.close()
