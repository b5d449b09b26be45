"""The live bench's light publishers (tests/web/light_publishers.py) give the wall what exam
pages give it: one live tile per candidate, each a real connection with tile-size video that
plays and the microphone's audio beside it."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, expect

from openproctor.domains.users.models import Role
from tests.conftest import Factory
from tests.web import light_publishers
from tests.web.live_media import media_browser, stats
from tests.web.test_live_media import TILE_LINES, video_streams_playing, wall

pytestmark = pytest.mark.browser

CANDIDATES = 3


def test_one_light_page_puts_every_candidate_live_on_the_wall_at_tile_size(
    browser: Browser, playwright: Playwright, tmp_path: Path, live_server: str, factory: Factory
) -> None:
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
    assert stats(staff)["connections"] == CANDIDATES
    assert video_streams_playing(staff) == CANDIDATES
    assert 0 < stats(staff)["frameHeight"] <= TILE_LINES
    sent = light_publishers.sent(publishing)
    assert len(sent) == CANDIDATES
    assert {item["height"] for item in sent.values()} == {TILE_LINES}
    # The audio the tiles' level meters read arrives too.
    staff.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid=candidate-tile] .level')]
            .every(meter => meter.value > 0.3)"""
    )
    staff.context.close()
    publishing.context.close()
    publishing_browser.close()
