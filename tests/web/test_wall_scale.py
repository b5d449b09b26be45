"""The wall at the scale of a real exam, in Chromium at a laptop's 1366x768: thirty tiles fit
in the compact view (remembered across reloads), finished attempts sink below active ones,
search and filters narrow the tiles as the proctor types, tiles open from the keyboard, and
axe finds nothing serious or critical in either density."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Browser, Page, expect

from openproctor.domains.users.models import Role, User
from openproctor.live.tile import Stage
from tests.conftest import Factory
from tests.web.axe import blocking_violations
from tests.web.pages import sign_in
from tests.web.wall_rows import candidate_at

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 768}

# Thirty candidates as an exam's first minutes see them: most in the exam, some still on their
# way in, two finished (one terminated with the highest risk of all).
ROSTER: list[tuple[Stage, float]] = [
    *[(Stage.RUNNING, risk) for risk in (0, 0, 0, 0, 0, 5, 5, 10, 10, 12, 15, 20, 25, 35, 45, 62)],
    *[(Stage.INVITED, 0)] * 3,
    *[(Stage.CHECKING, 0)] * 3,
    (Stage.ENROLLING, 0),
    (Stage.WAITING, 0),
    (Stage.STUCK, 0),
    (Stage.ADMITTED, 0),
    (Stage.ADMITTED, 0),
    (Stage.PAUSED, 30),
    (Stage.SUBMITTED, 20),
    (Stage.TERMINATED, 92),
]


def laptop_wall(browser: Browser, live_server: str, proctor: User, exam_id: uuid.UUID) -> Page:
    page = browser.new_context(base_url=live_server, viewport=LAPTOP).new_page()
    sign_in(page, proctor)
    page.goto(f"/proctor/exams/{exam_id}")
    expect(page.get_by_test_id("live")).to_have_attribute("data-state", "live")
    return page


def tiles_outside_the_window(page: Page) -> list[str]:
    """The names of the tiles whose box is not wholly inside the window as it is scrolled now."""
    outside: list[str] = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid=candidate-tile]')]
            .filter((tile) => {
              const { top, left, bottom, right } = tile.getBoundingClientRect();
              return top < 0 || left < 0 || bottom > innerHeight || right > innerWidth;
            })
            .map((tile) => tile.querySelector('.tile-open').textContent)"""
    )
    return outside


def test_thirty_tiles_fit_a_laptop_in_compact_view_and_finished_attempts_sink(
    browser: Browser, live_server: str, factory: Factory
) -> None:
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam(policy={"admission": "proctor"})
    for index, (stage, risk) in enumerate(ROSTER):
        candidate_at(factory, exam, proctor, f"C{index:02d} {stage.value}", stage, risk=risk)
    wall = laptop_wall(browser, live_server, proctor, exam.id)
    tiles = wall.get_by_test_id("candidate-tile")
    expect(tiles).to_have_count(30)
    expect(wall.locator("#wall")).to_have_attribute("data-density", "comfortable")
    assert len(tiles_outside_the_window(wall)) > 10  # comfortable: about a dozen fit
    assert blocking_violations(wall) == []

    wall.get_by_test_id("density-compact").click()
    expect(wall.get_by_test_id("density-compact")).to_have_attribute("aria-pressed", "true")
    assert wall.evaluate("() => scrollY") == 0
    assert tiles_outside_the_window(wall) == []
    assert blocking_violations(wall) == []

    # Risk order among the active attempts; the finished ones last, whatever their risk.
    names = [name.split(" ", 1)[1] for name in wall.locator(".tile-open").all_text_contents()]
    assert names[-2:] == ["terminated", "submitted"], names
    assert names[0] == "running"  # risk 62, above the paused one at 30
    risks = [float(r) for r in tiles.evaluate_all("ts => ts.map(t => t.dataset.riskScore)")]
    assert risks[:-2] == sorted(risks[:-2], reverse=True)

    # The tiles say where each candidate is, in words.
    stuck = wall.locator("[data-stage=stuck]")
    expect(stuck.get_by_test_id("tile-stage")).to_have_text("Needs help")
    expect(stuck.get_by_test_id("tile-stage-detail")).to_have_text("Photo refused 5 times")
    expect(stuck.get_by_test_id("tile-stage-detail")).to_be_visible()
    running = tiles.filter(has_text="C00 running")
    expect(running.get_by_test_id("tile-stage")).to_have_text("In exam")
    expect(running.get_by_test_id("tile-analysis")).to_have_text("Analysis paused: offline")
    expect(running.get_by_test_id("tile-analysis")).to_be_visible()
    expect(wall.locator("[data-stage=paused]").get_by_test_id("tile-analysis")).to_have_text(
        "Analysis paused"
    )

    wall.reload()  # the density is remembered
    expect(wall.get_by_test_id("live")).to_have_attribute("data-state", "live")
    expect(wall.locator("#wall")).to_have_attribute("data-density", "compact")
    expect(tiles).to_have_count(30)
    assert tiles_outside_the_window(wall) == []
    wall.context.close()


def test_search_and_filters_narrow_the_wall_as_the_proctor_types(
    browser: Browser, live_server: str, factory: Factory
) -> None:
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam()
    candidate_at(factory, exam, proctor, "Chloé Martin", Stage.RUNNING, risk=40)
    candidate_at(factory, exam, proctor, "Bruno Diaz", Stage.RUNNING, external_id="S-1002")
    candidate_at(factory, exam, proctor, "Amara Okafor", Stage.STUCK)
    candidate_at(factory, exam, proctor, "Dev Patel", Stage.TERMINATED, risk=95)
    wall = laptop_wall(browser, live_server, proctor, exam.id)
    tiles = wall.locator("[data-testid=candidate-tile]:visible")
    expect(tiles).to_have_count(4)

    wall.keyboard.press("/")  # the search, from anywhere on the wall
    search = wall.get_by_test_id("wall-search")
    expect(search).to_be_focused()
    wall.keyboard.type("chloe")  # accents need not be typed
    expect(tiles).to_have_count(1)
    expect(tiles).to_contain_text("Chloé Martin")
    expect(wall.get_by_test_id("wall-shown")).to_have_text("Showing 1 of 4 (2 flagged)")
    search.fill("s-100")  # the external id
    expect(tiles).to_have_count(1)
    expect(tiles).to_contain_text("Bruno Diaz")
    email = wall.locator(".tile-open", has_text="Amara").get_attribute("title") or ""
    search.fill(email.split("@")[0])
    expect(tiles).to_have_count(1)
    expect(tiles).to_contain_text("Amara Okafor")
    search.fill("nobody")
    expect(tiles).to_have_count(0)
    expect(wall.get_by_test_id("wall-shown")).to_contain_text("No candidate matches")
    search.press("Escape")
    expect(search).to_have_value("")
    expect(tiles).to_have_count(4)

    wall.get_by_test_id("wall-flagged").check()  # an open alert or a risk no longer low
    expect(tiles).to_have_count(2)
    expect(tiles.nth(0)).to_contain_text("Chloé Martin")  # active above finished
    expect(tiles.nth(1)).to_contain_text("Dev Patel")
    wall.get_by_test_id("wall-flagged").uncheck()
    wall.get_by_test_id("wall-stage").select_option(label="Needs help")
    expect(tiles).to_have_count(1)
    expect(tiles).to_contain_text("Amara Okafor")
    wall.get_by_test_id("wall-stage").select_option(label="All stages")
    expect(tiles).to_have_count(4)

    # A tile opens from the keyboard, and closing the detail view comes back to it.
    chloe = wall.locator(".tile-open", has_text="Chloé")
    chloe.focus()
    wall.keyboard.press("Enter")
    expect(wall.locator("#wall")).to_have_attribute("data-view", "detail")
    expect(wall.locator("#detail-name")).to_have_text("Chloé Martin")
    assert blocking_violations(wall) == []
    wall.locator("#detail [data-action=close]").click()
    expect(chloe).to_be_focused()
    assert blocking_violations(wall) == []
    wall.context.close()
