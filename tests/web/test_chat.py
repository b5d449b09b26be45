"""Chat in Chromium, both ways within a second: the candidate writes and raises a hand, the
proctor's wall shows the unread count, the hand and the text, the proctor's answer reaches
the candidate and lowers the hand; a broadcast reaches every candidate in the room."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from openproctor.domains.users.models import Role
from tests.conftest import Factory
from tests.web.test_proctor_wall import running_exam_page, wall_page

pytestmark = pytest.mark.browser

WITHIN_S = 1.0  # the acceptance: the other side shows it within a second
WITHIN_MS = WITHIN_S * 1000
# Records (epoch ms, the page's clock: the same machine's as the test's) when an element
# matching the selector first contains this text, from a MutationObserver installed before the
# action.
WATCH = """([selector, text]) => {
  const seen = () => [...document.querySelectorAll(selector)]
    .some((element) => element.textContent.includes(text));
  window.shownAt = undefined;
  new MutationObserver((_, observer) => {
    if (window.shownAt === undefined && seen()) {
      window.shownAt = Date.now();
      observer.disconnect();
    }
  }).observe(document.body, {
    subtree: true, childList: true, characterData: true, attributes: true,
  });
}"""


def watch(page: Page, selector: str, text: str = "") -> None:
    page.evaluate(WATCH, [selector, text])


def delay_ms(page: Page, since_ms: float) -> float:
    """How long after `since_ms` the watched text showed (waits for it)."""
    page.wait_for_function("() => window.shownAt !== undefined", timeout=10000)
    shown: float = page.evaluate("() => window.shownAt")
    return shown - since_ms


def ada_and_her_proctor(
    browser: Browser, live_server: str, factory: Factory
) -> tuple[Page, Page, Locator]:
    """Ada's running exam page, her proctor's wall, and her tile on it once she is connected."""
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam()
    ada = factory.candidate(exam, proctor, name="Ada")
    candidate = running_exam_page(browser, live_server, factory, ada)
    staff = wall_page(browser, live_server, proctor, exam.id)
    tile = staff.get_by_test_id("candidate-tile")
    expect(tile).to_have_attribute("data-connected", "yes")
    return candidate, staff, tile


def test_the_candidate_writes_and_raises_a_hand_and_the_proctors_answer_comes_back(
    browser: Browser, live_server: str, factory: Factory
) -> None:
    candidate, staff, tile = ada_and_her_proctor(browser, live_server, factory)
    expect(tile.get_by_test_id("unread")).to_be_hidden()

    candidate.get_by_label("Write to your proctor").fill("My calculator froze.")
    watch(staff, "[data-testid=unread]", "1 unread")
    sent_at = time.time() * 1000
    candidate.get_by_label("Write to your proctor").press("Enter")
    assert delay_ms(staff, sent_at) < WITHIN_MS
    expect(tile.get_by_test_id("unread")).to_have_text("1 unread")
    expect(tile.get_by_test_id("said")).to_have_text("“My calculator froze.”")
    expect(candidate.get_by_test_id("chat-status")).to_have_text("Sent to your proctor.")
    expect(candidate.get_by_test_id("messages")).to_contain_text("You wrote")
    expect(candidate.get_by_label("Write to your proctor")).to_have_value("")

    watch(staff, "[data-testid=candidate-tile][data-hand=yes]")
    sent_at = time.time() * 1000
    candidate.get_by_test_id("raise-hand").click()
    assert delay_ms(staff, sent_at) < WITHIN_MS
    expect(tile.get_by_test_id("hand-raised")).to_be_visible()
    expect(tile.get_by_test_id("open-candidate")).to_have_attribute(
        "aria-label",
        "Ada, In exam, risk 0, Analysis off on this server, hand raised, 1 unread message",
    )
    expect(candidate.get_by_test_id("raise-hand")).to_have_attribute("aria-pressed", "true")

    # Opening the candidate shows the conversation and reads it.
    tile.click()
    history = staff.get_by_test_id("message-history")
    expect(history).to_contain_text("My calculator froze.")
    expect(history).to_contain_text("Candidate raised their hand")
    expect(tile.get_by_test_id("unread")).to_be_hidden()
    expect(tile.get_by_test_id("said")).to_be_hidden()
    # With the conversation open, the next one shows at once and is read at once.
    candidate.get_by_label("Write to your proctor").fill("It works again, sorry.")
    watch(staff, "[data-testid=message-history]", "It works again, sorry.")
    sent_at = time.time() * 1000
    candidate.get_by_test_id("chat-send").click()
    assert delay_ms(staff, sent_at) < WITHIN_MS

    staff.get_by_test_id("message-text").fill("No problem, carry on.")
    watch(candidate, "[data-testid=proctor-message]", "No problem, carry on.")
    sent_at = time.time() * 1000
    staff.get_by_test_id("send-message").click()
    assert delay_ms(candidate, sent_at) < WITHIN_MS
    expect(candidate.get_by_test_id("raise-hand")).to_have_text("Raise my hand")
    expect(candidate.get_by_test_id("messages")).to_contain_text(
        "Your proctor answered, so your hand is lowered"
    )
    expect(tile.get_by_test_id("hand-raised")).to_be_hidden(timeout=WITHIN_MS)
    expect(tile.get_by_test_id("unread")).to_be_hidden()
    staff.context.close()
    candidate.context.close()


def test_a_broadcast_reaches_every_candidate_within_a_second(
    browser: Browser, live_server: str, factory: Factory
) -> None:
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam()
    pages = [
        running_exam_page(browser, live_server, factory, factory.candidate(exam, proctor, name))
        for name in ("Ada", "Bo")
    ]
    staff = wall_page(browser, live_server, proctor, exam.id)
    expect(staff.locator("[data-testid=candidate-tile][data-connected=yes]")).to_have_count(2)

    staff.get_by_test_id("broadcast-text").fill("Fifteen minutes left.")
    for page in pages:
        watch(page, "[data-testid=proctor-message]", "Fifteen minutes left.")
    sent_at = time.time() * 1000
    staff.get_by_test_id("broadcast-send").click()
    delays = [delay_ms(page, sent_at) for page in pages]
    assert max(delays) < WITHIN_MS, delays
    for page in pages:
        expect(page.get_by_test_id("proctor-message")).to_contain_text(
            "Message to everyone from your proctor"
        )
    expect(staff.get_by_test_id("broadcast-status")).to_have_text("Sent to 2 candidates.")
    staff.context.close()
    for page in pages:
        page.context.close()


def test_a_paused_candidate_can_still_write_to_the_proctor(
    browser: Browser, live_server: str, factory: Factory
) -> None:
    candidate, staff, tile = ada_and_her_proctor(browser, live_server, factory)
    tile.click()
    staff.get_by_test_id("pause").click()
    expect(candidate.locator("#paused")).to_be_visible()
    # The chat stays in reach above the notice (a click on something covered times out)...
    candidate.get_by_label("Write to your proctor").fill("Why was my exam paused?")
    candidate.get_by_test_id("chat-send").click(timeout=5000)
    expect(candidate.get_by_test_id("chat-status")).to_have_text("Sent to your proctor.")
    expect(staff.get_by_test_id("message-history")).to_contain_text("Why was my exam paused?")
    candidate.get_by_test_id("raise-hand").click(timeout=5000)
    expect(tile).to_have_attribute("data-hand", "yes")
    # ... while the questions are out of reach behind it.
    assert candidate.locator(".exam-main").evaluate("e => e.inert") is True
    staff.context.close()
    candidate.context.close()
