"""An exam that records the screen and asks for a room scan: the candidate records the scan,
shares the screen, stops sharing (the proctor is told, the page asks to share again), shares
again, and submits while uploads are blocked ("submit now"); the ended page finishes the
sending, and all three recordings are assembled without gaps."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Route, expect

from openproctor.domains.users.models import Role
from openproctor.web import take_pages
from tests.conftest import Factory
from tests.web.test_recording import enrolled_session, sign_in, wait_until

pytestmark = pytest.mark.browser

CHUNK_URL = re.compile(r"/recordings/\w+/chunks/\d+$")
# Keeps the streams getDisplayMedia returns, so the test can end one as "Stop sharing" does.
KEEP_SCREENS = """
const share = navigator.mediaDevices.getDisplayMedia.bind(navigator.mediaDevices);
window.testScreens = [];
navigator.mediaDevices.getDisplayMedia = async (options) => {
  const stream = await share(options);
  window.testScreens.push(stream);
  return stream;
};
"""
STOP_SHARING = """() => {
  const track = window.testScreens.at(-1).getVideoTracks()[0];
  track.stop();
  track.dispatchEvent(new Event("ended"));
}"""


def test_room_scan_and_screen_sharing_are_recorded_and_a_stopped_share_is_asked_again(
    browser: Browser,
    live_server: str,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setattr(take_pages, "ROOM_SCAN_SECONDS", 4)
    candidate, session = enrolled_session(factory, record_screen=True, room_scan=True)
    context = browser.new_context(base_url=live_server)
    context.add_init_script(KEEP_SCREENS)
    page = context.new_page()
    blocked = False

    def chunks(route: Route) -> None:
        if blocked:
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route(CHUNK_URL, chunks)
    page.goto(f"/take/{candidate.invite_token}")
    next_button = page.get_by_test_id("next")
    next_button.click()  # the system check

    expect(page.get_by_test_id("step-room")).to_be_visible(timeout=20000)
    next_button.click()
    expect(next_button).to_have_text(re.compile(r"Recording… \d s"))
    page.screenshot(path=str(tmp_path / "room-scan.png"))
    expect(next_button).to_have_text("Continue", timeout=15000)
    next_button.click()

    expect(page.get_by_test_id("step-screen")).to_be_visible()
    page.screenshot(path=str(tmp_path / "screen-step.png"))
    next_button.click()
    expect(page.get_by_test_id("step-intro")).to_be_visible()
    next_button.click()
    expect(page.get_by_test_id("exam-running")).to_be_visible()
    expect(page.get_by_test_id("rec-status")).to_have_attribute("data-state", "on")
    page.wait_for_timeout(5000)

    page.evaluate(STOP_SHARING)
    banner = page.get_by_test_id("banner-screen")
    expect(banner).to_be_visible()
    page.screenshot(path=str(tmp_path / "screen-stopped.png"))
    proctor = browser.new_context(base_url=live_server).new_page()
    sign_in(proctor, factory.user(Role.ADMIN))

    def flagged() -> bool:
        listing = proctor.request.get(f"/api/v1/sessions/{session.id}/violations").json()
        return any(v["kind"] == "screen_share_stopped" for v in listing)

    wait_until(flagged, 15, "the screen_share_stopped flag")
    page.get_by_test_id("share-again").click()
    expect(banner).to_be_hidden()
    page.wait_for_timeout(5000)

    blocked = True
    page.wait_for_timeout(2500)  # some chunks are now waiting
    page.get_by_test_id("choice-0-1").check()
    page.get_by_test_id("submit").click()
    page.get_by_test_id("submit-confirm").click()  # "Submit your answers?"
    waiting = page.get_by_test_id("submit-wait")
    expect(waiting).to_be_visible()
    expect(waiting.locator(".upload-text")).to_contain_text("left")
    page.screenshot(path=str(tmp_path / "submit-wait.png"))
    page.get_by_test_id("submit-anyway").click()
    expect(page.get_by_test_id("exam-submitted")).to_be_visible()
    uploads = page.get_by_test_id("uploads")
    expect(uploads).to_be_visible()
    expect(uploads).to_have_attribute("data-state", "sending")
    page.screenshot(path=str(tmp_path / "submitted-sending.png"))
    blocked = False
    expect(uploads).to_have_attribute("data-state", "done", timeout=45000)
    page.screenshot(path=str(tmp_path / "submitted-done.png"))

    def assembled() -> dict[str, dict[str, object]] | None:
        listing = proctor.request.get(f"/api/v1/sessions/{session.id}/recordings").json()
        kinds = {r["kind"]: r for r in listing}
        ready = len(kinds) == 3 and all(r["ready"] for r in kinds.values())
        return kinds if ready else None

    recordings = wait_until(assembled, 45, "three assembled recordings")
    for kind, recording in recordings.items():
        assert recording["missing_chunks"] == [], kind
        assert recording["chunks"] == recording["chunks_expected"], kind
    assert 3 <= float(recordings["room_scan"]["duration_s"]) <= 6
    # The screen was recorded in two runs, around the stopped share.
    screen = recordings["screen"]
    assert float(screen["duration_s"]) >= 0.95 * float(screen["recorded_s"])
    context.close()
