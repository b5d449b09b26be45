"""Live video and audio peer to peer in Chromium (take/live.js, proctor/live.js): the
candidate's fake camera plays photos and the fake microphone speech; the proctor's page gets
the video (framesDecoded grows, videoWidth > 0) and audio (totalAudioEnergy grows) within 5 s
of opening the candidate, and the candidate hears push-to-talk."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from openproctor.domains.candidates.models import Candidate
from openproctor.domains.users.models import Role, User
from tests.conftest import Factory
from tests.web.live_media import media_browser, stats, watched_context
from tests.web.pages import enrolled_earlier, sign_in

pytestmark = pytest.mark.browser

OPENED_WITHIN_S = 5.0
TILE_LINES = 480 // 4  # take/live.js ENCODINGS.tile scales the camera's 480 lines down by 4


@pytest.fixture(scope="module")
def candidate_browser(
    playwright: Playwright, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    browser = media_browser(playwright, tmp_path_factory.mktemp("webcam"))
    yield browser
    browser.close()


def candidate_page(browser: Browser, base_url: str, factory: Factory, who: Candidate) -> Page:
    """The candidate's page with the exam running (their photo was taken earlier)."""
    enrolled_earlier(factory, who)
    page = watched_context(browser, base_url).new_page()
    page.goto(f"/take/{who.invite_token}")
    page.get_by_test_id("next").click()  # the system check
    expect(page.get_by_test_id("step-intro")).to_be_visible()
    page.get_by_test_id("next").click()
    expect(page.get_by_test_id("exam-running")).to_be_visible()
    return page


def wall(browser: Browser, base_url: str, user: User, exam_id: uuid.UUID) -> Page:
    page = watched_context(browser, base_url).new_page()
    sign_in(page, user)
    page.goto(f"/proctor/exams/{exam_id}")
    expect(page.get_by_test_id("live")).to_have_attribute("data-state", "live")
    return page


def grows(page: Page, key: str, within_s: float) -> tuple[float, dict[str, Any]]:
    """Seconds until stats()[key] grew between two reads 0.25 s apart; fails after within_s."""
    started = time.monotonic()
    before = stats(page)[key]
    while time.monotonic() - started < within_s:
        page.wait_for_timeout(250)
        now = stats(page)
        if now[key] > before > 0 or (now[key] > 0 and before == 0 and now[key] > 1e-6):
            return time.monotonic() - started, now
        before = now[key]
    raise AssertionError(f"{key} did not grow within {within_s} s: {stats(page)}")


def video_width(page: Page, selector: str) -> int:
    width: int = page.locator(selector).evaluate("video => video.videoWidth")
    return width


def test_the_proctor_sees_and_hears_the_candidate_and_the_candidate_hears_push_to_talk(
    browser: Browser, candidate_browser: Browser, live_server: str, factory: Factory
) -> None:
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam()
    ada = factory.candidate(exam, proctor, name="Ada")
    candidate = candidate_page(candidate_browser, live_server, factory, ada)
    staff = wall(browser, live_server, proctor, exam.id)

    tile = staff.get_by_test_id("candidate-tile")
    expect(tile).to_have_attribute("data-live", "live", timeout=15000)
    staff.wait_for_function(
        "() => document.querySelector('[data-testid=tile-video]').videoWidth > 0"
    )
    grows(staff, "framesDecoded", 5.0)
    assert 0 < stats(staff)["frameHeight"] <= TILE_LINES  # a tile gets a quarter of 480 lines
    tile.click()
    opened = time.monotonic()
    expect(staff.locator("#detail .live")).to_have_attribute("data-media", "video")
    video_s, _ = grows(staff, "framesDecoded", OPENED_WITHIN_S)
    staff.get_by_test_id("detail-listen").click()  # audio is muted until the proctor listens
    audio_s, _ = grows(staff, "audioEnergy", OPENED_WITHIN_S)
    assert time.monotonic() - opened < OPENED_WITHIN_S + 1
    assert video_width(staff, "[data-testid=live-video]") > 0
    # The close view asks the same connection for the full picture: more than twice a tile's
    # lines (the encoder may start below 480 while its rate ramps up).
    deadline = time.monotonic() + 10
    while stats(staff)["frameHeight"] <= 2 * TILE_LINES and time.monotonic() < deadline:
        staff.wait_for_timeout(250)
    assert stats(staff)["frameHeight"] > 2 * TILE_LINES
    print(f"after opening: video in {video_s:.2f} s, audio in {audio_s:.2f} s")

    # Push-to-talk: the candidate is told and hears it; the proctor's fake mic is a beep.
    speaking = candidate.get_by_test_id("proctor-speaking")
    expect(speaking).to_be_hidden()
    talk = staff.get_by_test_id("talk")
    talk.hover()
    staff.mouse.down()
    expect(talk).to_have_attribute("aria-pressed", "true")
    expect(speaking).to_be_visible()
    expect(speaking).to_have_text("Your proctor is speaking")
    grows(candidate, "audioEnergy", 5.0)
    staff.mouse.up()
    expect(speaking).to_be_hidden()
    # Leaving the wall frees the candidate's uplink: its page closes the connection.
    staff.context.close()
    candidate.wait_for_function(
        "() => window.__connections.every(pc => pc.connectionState === 'closed')"
    )
    candidate.context.close()
