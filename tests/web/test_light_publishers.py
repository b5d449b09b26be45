"""The live bench's light publishers (tests/web/light_publishers.py) give the wall what exam
pages give it: one live tile per candidate, each a real connection with tile-size video that
plays and the microphone's audio beside it, at a tile's low audio rate until the proctor
listens (take/live.js ENCODINGS, take/sdp.js)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from openproctor.domains.users.models import Role
from tests.conftest import Factory
from tests.web import light_publishers
from tests.web.js import assert_node_tests_pass
from tests.web.live_media import media_browser, stats
from tests.web.test_live_media import TILE_LINES, grows, video_streams_playing, wall

pytestmark = pytest.mark.browser

CANDIDATES = 3
TILE_AUDIO_BPS = 16_000  # take/live.js ENCODINGS.tile.microphone
FULL_AUDIO_BPS = 32_000
# Opus in 60 ms packets (take/sdp.js): about 17 a second, where 20 ms packets make 50.
MAX_AUDIO_PACKETS_PER_S = 25


@contextmanager
def light_wall(
    browser: Browser, playwright: Playwright, tmp_path: Path, live_server: str, factory: Factory
) -> Iterator[tuple[Page, Page]]:
    """The proctor's wall with CANDIDATES tiles, all live, and the one light page that publishes
    them."""
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam()
    people = [factory.candidate(exam, proctor, name=f"Light{n}") for n in range(CANDIDATES)]
    publishing_browser = media_browser(playwright, tmp_path)
    publishing = light_publishers.publish(publishing_browser, live_server, factory, people)
    staff = wall(browser, live_server, proctor, exam.id)
    tiles = staff.get_by_test_id("candidate-tile")
    expect(tiles).to_have_count(CANDIDATES)
    for index in range(CANDIDATES):
        expect(tiles.nth(index)).to_have_attribute("data-live", "live", timeout=20000)
    try:
        yield staff, publishing
    finally:
        staff.context.close()
        publishing.context.close()
        publishing_browser.close()


def meters_read_sound(staff: Page) -> None:
    staff.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid=candidate-tile] .level')]
            .every(meter => meter.value > 0.3)"""
    )


def test_one_light_page_puts_every_candidate_live_on_the_wall_at_tile_size(
    browser: Browser, playwright: Playwright, tmp_path: Path, live_server: str, factory: Factory
) -> None:
    with light_wall(browser, playwright, tmp_path, live_server, factory) as (staff, publishing):
        assert stats(staff)["connections"] == CANDIDATES
        assert video_streams_playing(staff) == CANDIDATES
        assert 0 < stats(staff)["frameHeight"] <= TILE_LINES
        sent = light_publishers.sent(publishing)
        assert len(sent) == CANDIDATES
        assert {item["height"] for item in sent.values()} == {TILE_LINES}
        meters_read_sound(staff)  # the audio the tiles' level meters read arrives too


def test_the_candidates_page_asks_every_viewers_answer_for_light_audio() -> None:
    assert_node_tests_pass("sdp.test.mjs", 3)


def test_a_tile_gets_low_rate_audio_until_the_proctor_listens(
    browser: Browser, playwright: Playwright, tmp_path: Path, live_server: str, factory: Factory
) -> None:
    with light_wall(browser, playwright, tmp_path, live_server, factory) as (staff, publishing):

        def targets() -> list[tuple[str, int]]:
            """Per candidate: its one viewer's quality and audio target (bit/s)."""
            return [
                (viewer["quality"], viewer["target"])
                for [viewer] in light_publishers.audio(publishing)
            ]

        before = light_publishers.audio(publishing)
        staff.wait_for_timeout(2000)
        after = light_publishers.audio(publishing)
        for [was], [now] in zip(before, after, strict=True):
            assert 0 < (now["packets"] - was["packets"]) / 2 <= MAX_AUDIO_PACKETS_PER_S
        assert targets() == [("tile", TILE_AUDIO_BPS)] * CANDIDATES
        meters_read_sound(staff)  # the level meters read the low-rate sound all the same

        # Listening to one tile gives that candidate's connection full audio, and it plays.
        staff.locator("[data-testid=candidate-tile]", has_text="Light1").get_by_test_id(
            "listen"
        ).click()
        expect_targets = [
            ("tile", TILE_AUDIO_BPS),
            ("listen", FULL_AUDIO_BPS),
            ("tile", TILE_AUDIO_BPS),
        ]
        expect_until(lambda: targets() == expect_targets, staff, targets)
        grows(staff, "audioEnergy", 5.0)  # Chromium counts energy only for audio it plays
        # Muting it again goes back to the tile's rate.
        staff.locator("[data-testid=candidate-tile]", has_text="Light1").get_by_test_id(
            "listen"
        ).click()
        expect_until(lambda: targets() == [("tile", TILE_AUDIO_BPS)] * CANDIDATES, staff, targets)


def expect_until(done: Callable[[], bool], page: Page, seen: Callable[[], object]) -> None:
    """Waits up to 5 s for done(); fails saying what seen() shows then."""
    deadline = time.monotonic() + 5
    while not done():
        assert time.monotonic() < deadline, seen()
        page.wait_for_timeout(200)
