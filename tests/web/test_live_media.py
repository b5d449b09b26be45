"""Live video and audio peer to peer in Chromium (take/live.js, proctor/live.js): the
candidate's fake camera plays photos and the fake microphone speech; the proctor's page gets
the video (framesDecoded grows, videoWidth > 0) and audio (totalAudioEnergy grows) within 5 s
of opening the candidate, and the candidate hears push-to-talk: on one node with analysis
off, across two nodes through Redis, relayed only through a real coturn; six live tiles."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect
from pydantic import SecretStr

from openproctor.domains.candidates.models import Candidate
from openproctor.domains.users.models import Role, User
from openproctor.settings import Settings
from tests.conftest import Factory, serving
from tests.servers import redis_server, turn_server
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


def candidate_page(
    browser: Browser,
    base_url: str,
    factory: Factory,
    who: Candidate,
    opened: Callable[[Page], object] | None = None,
) -> Page:
    """The candidate's page with the exam running (their photo was taken earlier); `opened`
    sees the page before it loads."""
    enrolled_earlier(factory, who)
    page = watched_context(browser, base_url).new_page()
    if opened:
        opened(page)
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


def video_streams_playing(page: Page) -> int:
    """Received video streams whose decoded frames grew over the last second."""
    count = """async () => {
      const decoded = async () => {
        const frames = new Map();
        for (const pc of window.__connections) {
          (await pc.getStats()).forEach((report) => {
            if (report.type === "inbound-rtp" && report.kind === "video") {
              frames.set(report.id, report.framesDecoded ?? 0);
            }
          });
        }
        return frames;
      };
      const before = await decoded();
      await new Promise((done) => setTimeout(done, 1000));
      const after = await decoded();
      return [...after].filter(([id, frames]) => frames > (before.get(id) ?? 0)).length;
    }"""
    playing: int = page.evaluate(count)
    return playing


def video_width(page: Page, selector: str) -> int:
    width: int = page.locator(selector).evaluate("video => video.videoWidth")
    return width


def sees_hears_and_talks(staff: Page, candidate: Page) -> dict[str, float]:
    """The acceptance steps on a wall with one candidate: a live tile at tile size, then the
    opened candidate's full video and audio within 5 s, then push-to-talk heard by the
    candidate. Returns how many seconds video and audio took after opening."""
    tile = staff.get_by_test_id("candidate-tile")
    expect(tile).to_have_attribute("data-live", "live", timeout=15000)
    # The candidate is told, calmly, that the proctor receives them live, and how.
    watched = candidate.get_by_test_id("live-watch")
    expect(watched).to_have_text("Your proctor can see and hear you live.")
    staff.wait_for_function(
        "() => document.querySelector('[data-testid=tile-video]').videoWidth > 0"
    )
    grows(staff, "framesDecoded", 5.0)
    assert 0 < stats(staff)["frameHeight"] <= TILE_LINES  # a tile gets a quarter of the lines
    tile.click()
    opened = time.monotonic()
    expect(staff.locator("#detail .live")).to_have_attribute("data-media", "video")
    expect(watched).to_have_text("Your proctor is watching you live now.")
    video_s, _ = grows(staff, "framesDecoded", OPENED_WITHIN_S)
    staff.get_by_test_id("detail-listen").click()  # muted until the proctor listens
    audio_s, _ = grows(staff, "audioEnergy", OPENED_WITHIN_S)
    assert time.monotonic() - opened < OPENED_WITHIN_S
    # The tile's level meter moves with the candidate's speech, without playing it.
    staff.wait_for_function(
        "() => document.querySelector('[data-testid=candidate-tile] .level').value > 0.3"
    )
    assert video_width(staff, "[data-testid=live-video]") > 0
    # The close view asks the same connection for the full picture: more than twice a tile's
    # lines (the encoder may start below 480 while its rate ramps up).
    deadline = time.monotonic() + 10
    while stats(staff)["frameHeight"] <= 2 * TILE_LINES and time.monotonic() < deadline:
        staff.wait_for_timeout(250)
    assert stats(staff)["frameHeight"] > 2 * TILE_LINES

    # Push-to-talk: the candidate is told and hears it (the proctor's fake mic is a beep).
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
    return {"video_s": video_s, "audio_s": audio_s}


def test_the_proctor_sees_and_hears_the_candidate_with_analysis_off_and_talks_back(
    browser: Browser,
    candidate_browser: Browser,
    live_server: str,
    settings: Settings,
    factory: Factory,
) -> None:
    assert settings.analysis_workers == 0  # live media does not wait for analysis
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam()
    ada = factory.candidate(exam, proctor, name="Ada")
    candidate = candidate_page(candidate_browser, live_server, factory, ada)
    expect(candidate.get_by_test_id("live-watch")).to_be_hidden()  # no wall open yet
    staff = wall(browser, live_server, proctor, exam.id)

    timings = sees_hears_and_talks(staff, candidate)
    print(
        f"after opening: video in {timings['video_s']:.2f} s, audio in {timings['audio_s']:.2f} s"
    )
    # No analysed picture ever came: what played was the live video alone.
    expect(staff.get_by_test_id("candidate-tile")).not_to_have_attribute("data-has-frame", "yes")
    expect(staff.locator("#detail .live")).to_have_attribute("data-has-frame", "no")
    # Leaving the wall frees the candidate's uplink: its page closes the connection.
    staff.context.close()
    candidate.wait_for_function(
        "() => window.__connections.every(pc => pc.connectionState === 'closed')"
    )
    expect(candidate.get_by_test_id("live-watch")).to_be_hidden()
    candidate.context.close()


def test_the_same_across_two_web_nodes_through_redis(
    browser: Browser, candidate_browser: Browser, settings: Settings, factory: Factory
) -> None:
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam()
    ada = factory.candidate(exam, proctor, name="Ada")
    with redis_server() as redis:
        scaled = settings.model_copy(update={"redis_url": redis.url})
        with serving(scaled) as node_a, serving(scaled) as node_b:
            candidate = candidate_page(candidate_browser, node_b, factory, ada)
            staff = wall(browser, node_a, proctor, exam.id)
            sees_hears_and_talks(staff, candidate)
            staff.context.close()
            candidate.context.close()


def test_the_same_relayed_only_through_a_real_coturn(
    browser: Browser, candidate_browser: Browser, settings: Settings, factory: Factory
) -> None:
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam()
    ada = factory.candidate(exam, proctor, name="Ada")
    secret = "turn-test-secret-" + uuid.uuid4().hex
    with turn_server(secret) as turn_url:
        relayed = settings.model_copy(
            update={
                "ice_servers": [turn_url],
                "turn_secret": SecretStr(secret),
                "ice_relay_only": True,
            }
        )
        with serving(relayed) as base_url:
            candidate = candidate_page(candidate_browser, base_url, factory, ada)
            staff = wall(browser, base_url, proctor, exam.id)
            sees_hears_and_talks(staff, candidate)
            # Every connection of both pages went through the relay.
            for page in (staff, candidate):
                totals = stats(page)
                assert totals["connections"] >= 1
                assert totals["relayed"] == totals["connections"]
            staff.context.close()
            candidate.context.close()


def test_six_candidates_live_tiles_at_once(
    browser: Browser, candidate_browser: Browser, live_server: str, factory: Factory
) -> None:
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam()
    people = [factory.candidate(exam, proctor, name=f"Cand{n}") for n in range(6)]
    pages = [candidate_page(candidate_browser, live_server, factory, who) for who in people]
    staff = wall(browser, live_server, proctor, exam.id)
    tiles = staff.get_by_test_id("candidate-tile")
    expect(tiles).to_have_count(6)
    for index in range(6):
        expect(tiles.nth(index)).to_have_attribute("data-live", "live", timeout=20000)
    staff.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid=tile-video]')]
            .every(video => video.videoWidth > 0)"""
    )
    assert stats(staff)["connections"] == 6
    # Every tile's own video keeps presenting new frames: all six play, not one. (How many a
    # second depends on the candidates' encoders, which share this machine's two cores.)
    presented = """() => [...document.querySelectorAll('[data-testid=tile-video]')]
        .map(video => video.getVideoPlaybackQuality().totalVideoFrames)"""
    before = staff.evaluate(presented)
    staff.wait_for_function(
        f"(before) => ({presented})().every((count, tile) => count >= before[tile] + 3)",
        arg=before,
        timeout=10000,
    )
    staff.context.close()
    for page in pages:
        page.context.close()


def test_a_close_view_shows_the_shared_screen_and_a_tile_does_not(
    browser: Browser, candidate_browser: Browser, live_server: str, factory: Factory
) -> None:
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam(policy={"require_fullscreen": False, "record_screen": True})
    ada = factory.candidate(exam, proctor, name="Ada")
    enrolled_earlier(factory, ada)
    candidate = watched_context(candidate_browser, live_server).new_page()
    candidate.goto(f"/take/{ada.invite_token}")
    candidate.get_by_test_id("next").click()  # the system check
    expect(candidate.get_by_test_id("step-screen")).to_be_visible(timeout=20000)
    candidate.get_by_test_id("next").click()  # shares the (fake) screen
    expect(candidate.get_by_test_id("step-intro")).to_be_visible()
    candidate.get_by_test_id("next").click()
    expect(candidate.get_by_test_id("exam-running")).to_be_visible()

    staff = wall(browser, live_server, proctor, exam.id)
    tile = staff.get_by_test_id("candidate-tile")
    expect(tile).to_have_attribute("data-live", "live", timeout=15000)
    grows(staff, "framesDecoded", 5.0)
    staff.wait_for_timeout(1000)
    assert video_streams_playing(staff) == 1  # a tile: the camera only
    tile.click()
    screen = staff.get_by_test_id("live-screen")
    expect(screen).to_be_visible()
    staff.wait_for_function(
        "() => document.querySelector('[data-testid=live-screen]').videoWidth > 0"
    )
    assert video_streams_playing(staff) == 2  # camera and screen
    staff.context.close()
    candidate.context.close()
