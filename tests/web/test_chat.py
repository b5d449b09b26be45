"""Chat in Chromium, both ways within a second: the candidate writes and raises a hand, the
proctor's wall shows the unread count, the hand and the text, the proctor's answer reaches
the candidate and lowers the hand; a broadcast reaches every candidate in the room."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from openproctor.domains.users.models import Role
from tests.conftest import Factory
from tests.web.test_proctor_wall import running_exam_page, wall_page

pytestmark = pytest.mark.browser

WITHIN_S = 1.0  # the acceptance: the other side shows it within a second
WITHIN_MS = WITHIN_S * 1000


def test_the_candidate_writes_and_raises_a_hand_and_the_proctors_answer_comes_back(
    browser: Browser, live_server: str, factory: Factory
) -> None:
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam()
    ada = factory.candidate(exam, proctor, name="Ada")
    candidate = running_exam_page(browser, live_server, factory, ada)
    staff = wall_page(browser, live_server, proctor, exam.id)
    tile = staff.get_by_test_id("candidate-tile")
    expect(tile).to_have_attribute("data-connected", "yes")
    expect(tile.get_by_test_id("unread")).to_be_hidden()

    candidate.get_by_label("Write to your proctor").fill("My calculator froze.")
    candidate.get_by_label("Write to your proctor").press("Enter")
    expect(tile.get_by_test_id("unread")).to_have_text("1 unread", timeout=WITHIN_MS)
    expect(tile.get_by_test_id("said")).to_have_text("“My calculator froze.”")
    expect(candidate.get_by_test_id("chat-status")).to_have_text("Sent to your proctor.")
    expect(candidate.get_by_test_id("messages")).to_contain_text("You wrote")
    expect(candidate.get_by_label("Write to your proctor")).to_have_value("")

    candidate.get_by_test_id("raise-hand").click()
    expect(tile.get_by_test_id("hand-raised")).to_be_visible(timeout=WITHIN_MS)
    expect(tile).to_have_attribute(
        "aria-label", "Ada, running, risk 0, hand raised, 1 unread message"
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
    candidate.get_by_test_id("chat-send").click()
    expect(history).to_contain_text("It works again, sorry.", timeout=WITHIN_MS)

    staff.get_by_test_id("message-text").fill("No problem, carry on.")
    staff.get_by_test_id("send-message").click()
    expect(candidate.get_by_test_id("proctor-message")).to_contain_text(
        "No problem, carry on.", timeout=WITHIN_MS
    )
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
    staff.get_by_test_id("broadcast-send").click()
    for page in pages:
        toast = page.get_by_test_id("proctor-message")
        expect(toast).to_contain_text("Fifteen minutes left.", timeout=WITHIN_MS)
        expect(toast).to_contain_text("Message to everyone from your proctor")
    expect(staff.get_by_test_id("broadcast-status")).to_have_text("Sent to 2 candidates.")
    staff.context.close()
    for page in pages:
        page.context.close()
