"""A candidate's way into the exam reaches the proctor's wall live, step by step, although the
candidate's live socket opens only once the exam starts: each check-in flow pushes the tile
(from the database) to the exam's walls through the bus. The camera shows no face, so every
enrolment photo is refused and the candidate gets stuck until the proctor helps."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Playwright, expect

from openproctor.domains.users.models import Role
from tests.conftest import Factory
from tests.web.test_lobby import camera_browser
from tests.web.test_proctor_wall import wall_page
from tests.web.webcam import write_y4m

pytestmark = [pytest.mark.browser, pytest.mark.analysis]


@pytest.fixture(scope="module")
def faceless_browser(
    playwright: Playwright, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    video = write_y4m([("noface_coffee.jpg", 5)], tmp_path_factory.mktemp("webcam") / "cup.y4m")
    browser = camera_browser(playwright, str(video))
    yield browser
    browser.close()


def test_each_step_into_the_exam_reaches_the_wall_without_a_reload(
    faceless_browser: Browser, live_server: str, factory: Factory
) -> None:
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam(policy={"enrol_attempts": 2})
    ada = factory.candidate(exam, proctor, name="Ada")
    wall = wall_page(faceless_browser, live_server, proctor, exam.id)
    tile = wall.get_by_test_id("candidate-tile")
    stage, detail = tile.get_by_test_id("tile-stage"), tile.get_by_test_id("tile-stage-detail")
    expect(stage).to_have_text("Not started")

    page = faceless_browser.new_context(base_url=live_server).new_page()
    page.goto(f"/take/{ada.invite_token}")
    page.get_by_test_id("consent").check()
    page.get_by_test_id("next").click()
    expect(stage).to_have_text("System check")
    expect(tile).to_have_attribute("data-connected", "no")  # no live socket before the exam

    passed = page.locator("[data-check]:is([data-status=ok], [data-status=warn])")
    expect(passed).to_have_count(5, timeout=15000)
    page.get_by_test_id("next").click()
    page.get_by_test_id("next").click()  # take my photo: no face, refused twice
    expect(page.get_by_test_id("step-lobby")).to_be_visible(timeout=20000)
    expect(stage).to_have_text("Needs help")
    expect(detail).to_have_text("Photo refused 2 times")

    entry = wall.get_by_test_id("lobby-entry")
    entry.get_by_test_id("lobby-note").fill("Please turn on a lamp")
    entry.get_by_test_id("lobby-retry").click()
    expect(stage).to_have_text("Taking photo")
    expect(detail).to_have_text("You asked for a new photo")

    page.get_by_test_id("next").click()  # refused twice more: stuck again
    expect(stage).to_have_text("Needs help")
    entry.get_by_test_id("lobby-admit").click()
    expect(stage).to_have_text("Getting ready")
    expect(detail).to_have_text("")

    expect(page.get_by_test_id("step-intro")).to_be_visible()
    page.get_by_test_id("next").click()
    expect(page.get_by_test_id("exam-running")).to_be_visible()
    expect(stage).to_have_text("In exam")
    expect(tile).to_have_attribute("data-connected", "yes")
    expect(tile.get_by_test_id("tile-analysis")).to_have_text("Analysis: live", timeout=15000)

    # Ended by the proctor: the tile says so and sinks below nothing (it is the only one).
    tile.click()
    wall.get_by_test_id("terminate").click()
    wall.get_by_test_id("terminate-reason").fill("Could not verify who is taking the exam.")
    wall.get_by_test_id("terminate-confirm").click()
    wall.locator("#detail [data-action=close]").click()
    expect(stage).to_have_text("Terminated")
    expect(tile.get_by_test_id("tile-analysis")).to_have_text("")
    page.context.close()
    wall.context.close()
