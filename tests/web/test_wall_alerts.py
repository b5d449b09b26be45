"""Alerts a proctor handles on the wall, in Chromium: a new HIGH alert counts in the tab title,
one proctor marks it handled and another proctor's wall shows who and when at once; notes on
a candidate reach the other wall live; an evidence picture is shown only once the browser has
it (never a broken image); the signal switches are remembered."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from openproctor.db import utcnow
from openproctor.domains.exams.policy import DEFAULT_RULES, Severity, ViolationKind
from openproctor.domains.objects.models import ObjectPurpose, StoredObject
from openproctor.domains.sessions.models import ExamSession
from openproctor.domains.users.models import Role
from openproctor.domains.violations.models import Violation
from openproctor.settings import Settings
from openproctor.storage import open_store
from tests.conftest import Factory
from tests.live.clients import running_session
from tests.web.axe import blocking_violations
from tests.web.pages import sign_in
from tests.web.test_proctor_wall import running_exam_page, wall_page

pytestmark = pytest.mark.browser

FIXTURES = Path(__file__).parents[1] / "fixtures"
# Copying on the candidate's page is this exam's only alert, and a HIGH one (no camera needed):
# others the page may raise on a loaded machine (the camera off during a slow reconnect) are off.
COPY_IS_HIGH = {
    "require_fullscreen": False,
    "rules": {
        kind.value: {
            **rule.model_dump(mode="json"),
            "severity": "high",
            "enabled": kind is ViolationKind.COPY_PASTE,
        }
        for kind, rule in DEFAULT_RULES.items()
    },
}
WALL_PARTS = [".alerts-panel", ".notes-section"]


def test_a_high_alert_is_counted_handled_by_one_proctor_and_shown_handled_to_another(
    browser: Browser, live_server: str, factory: Factory
) -> None:
    proctor, admin = factory.user(Role.PROCTOR), factory.user(Role.ADMIN)
    exam = factory.exam(policy=COPY_IS_HIGH)
    ada = factory.candidate(exam, proctor, name="Ada")
    candidate = running_exam_page(browser, live_server, factory, ada)
    mine = wall_page(browser, live_server, proctor, exam.id)
    other = wall_page(browser, live_server, admin, exam.id)
    title = mine.title()
    assert not title.startswith("(")

    candidate.evaluate("document.dispatchEvent(new Event('copy'))")
    for wall in (mine, other):
        alert = wall.get_by_test_id("alert")
        expect(alert).to_have_attribute("data-severity", "high")
        expect(alert).to_have_attribute("data-handled", "no")
        expect(wall.get_by_test_id("alerts-unhandled")).to_have_text("1 not handled")
        expect(wall).to_have_title(f"(1) {title}")
    assert blocking_violations(mine, WALL_PARTS) == []

    mine.get_by_test_id("alert-handle").click()
    for wall in (mine, other):  # the other proctor hears it without reloading
        expect(wall.get_by_test_id("alert")).to_have_attribute("data-handled", "yes")
        expect(wall.get_by_test_id("alert-handled")).to_contain_text(
            f"Handled by {proctor.name} at"
        )
        expect(wall.get_by_test_id("alert-handle")).to_be_hidden()
        expect(wall.get_by_test_id("alerts-unhandled")).to_have_text("all handled")
        expect(wall).to_have_title(title)
    expect(mine.get_by_test_id("alert")).to_be_focused()  # the keyboard stays on the alert

    other.reload()  # kept on the server, not only on the walls that were open
    expect(other.get_by_test_id("alert-handled")).to_contain_text(f"Handled by {proctor.name}")
    assert blocking_violations(mine, WALL_PARTS) == []
    for page in (mine, other, candidate):
        page.context.close()


def test_a_note_on_a_candidate_reaches_the_other_proctors_wall(
    browser: Browser, live_server: str, factory: Factory
) -> None:
    proctor, admin = factory.user(Role.PROCTOR), factory.user(Role.ADMIN)
    exam = factory.exam()
    running_session(factory, factory.candidate(exam, proctor, name="Ada"))
    mine = wall_page(browser, live_server, proctor, exam.id)
    other = wall_page(browser, live_server, admin, exam.id)
    for wall in (mine, other):
        wall.get_by_test_id("candidate-tile").click()
        expect(wall.get_by_test_id("notes")).to_contain_text("No notes yet.")

    mine.get_by_test_id("note-add").click()
    expect(mine.get_by_test_id("note-status")).to_have_text("Write the note first.")
    mine.get_by_test_id("note-text").fill("Asked to show the desk: a calculator, allowed.")
    mine.get_by_test_id("note-add").click()
    expect(mine.get_by_test_id("note-text")).to_have_value("")
    for wall in (mine, other):
        note = wall.get_by_test_id("note")
        expect(note).to_have_count(1)  # once, though the writer also hears it on the socket
        expect(note).to_contain_text("Asked to show the desk: a calculator, allowed.")
        expect(note).to_contain_text(proctor.name)
    assert blocking_violations(mine, WALL_PARTS) == []
    for page in (mine, other):
        page.context.close()


def stored_violation(
    factory: Factory, settings: Settings, session: ExamSession, kind: ViolationKind, *, lost: bool
) -> Violation:
    """A HIGH violation with its evidence picture stored, as the live flow leaves it; `lost`:
    the picture's file went missing from storage afterwards."""
    violation = Violation(
        session_id=session.id, kind=kind, severity=Severity.HIGH, started_at=utcnow(), details={}
    )
    factory.db.add(violation)
    factory.db.flush()
    store = open_store(settings.resolved_storage_url)
    jpeg = (FIXTURES / "fr_two_people.jpg").read_bytes()
    blob = store.put(f"sessions/{session.id}/evidence/{violation.id}.jpg", jpeg, "image/jpeg")
    if lost:
        store.delete_many([blob.key])
    factory.db.add(
        StoredObject.of(
            blob, ObjectPurpose.EVIDENCE, session_id=session.id, violation_id=violation.id
        )
    )
    factory.db.commit()
    return violation


def broken_evidence(page: Page) -> int:
    """Evidence <img> elements on the page the browser has not (or could not) load."""
    count: int = page.evaluate(
        """() => [...document.querySelectorAll(
                '[data-testid=alert-evidence], .timeline-item img')]
            .filter(image => !(image.complete && image.naturalWidth > 0)).length"""
    )
    return count


def test_an_evidence_picture_shows_only_once_the_browser_has_it(
    browser: Browser, live_server: str, factory: Factory, settings: Settings
) -> None:
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam()
    session = running_session(factory, factory.candidate(exam, proctor, name="Ada"))
    stored_violation(factory, settings, session, ViolationKind.EXTRA_PERSON, lost=True)
    stored_violation(factory, settings, session, ViolationKind.MULTIPLE_FACES, lost=False)
    held: list[Route] = []

    def hold(route: Route) -> None:  # the pictures are slow to arrive
        held.append(route)

    wall = browser.new_context(base_url=live_server).new_page()
    wall.route("**/api/v1/evidence/**", hold)
    sign_in(wall, proctor)
    wall.goto(f"/proctor/exams/{exam.id}")
    found = wall.locator("[data-testid=alert][data-kind=multiple_faces]")
    lost = wall.locator("[data-testid=alert][data-kind=extra_person]")
    expect(wall.get_by_test_id("alert")).to_have_count(2)
    assert broken_evidence(wall) == 0
    expect(found.get_by_test_id("alert-no-evidence")).to_have_text("loading picture…")
    expect(lost.get_by_test_id("alert-no-evidence")).to_have_text("loading picture…")
    wall.get_by_test_id("candidate-tile").click()  # the detail timeline shows them too
    expect(wall.locator(".timeline-item")).to_have_count(2)
    wall.wait_for_timeout(500)
    assert held, "the wall did not ask for the pictures"
    assert broken_evidence(wall) == 0
    assert wall.get_by_test_id("alert-evidence").count() == 0

    for route in held:
        route.continue_()
    evidence = found.get_by_test_id("alert-evidence")
    expect(evidence).to_be_visible()
    assert evidence.evaluate("image => image.naturalWidth") > 0
    expect(lost.get_by_test_id("alert-no-evidence")).to_have_text("picture not available")
    expect(wall.locator(".timeline-item[data-kind=extra_person]")).to_contain_text(
        "picture not available"
    )
    expect(wall.locator(".timeline-item[data-kind=multiple_faces] img")).to_be_visible()
    assert broken_evidence(wall) == 0
    wall.context.close()


# Records what the wall asks of the browser: notifications shown, tones started.
RECORD_SIGNALS = """
window.notified = [];
window.tones = 0;
const RealNotification = window.Notification;
window.Notification = class extends RealNotification {
  constructor(title, options) {
    super(title, options);
    window.notified.push(`${title} | ${options?.body ?? ""}`);
  }
};
const createOscillator = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () {
  window.tones += 1;
  return createOscillator.call(this);
};
"""


def test_high_alert_signals_are_switchable_and_remembered(
    browser: Browser, live_server: str, factory: Factory
) -> None:
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam(policy=COPY_IS_HIGH)
    ada = factory.candidate(exam, proctor, name="Ada")
    candidate = running_exam_page(browser, live_server, factory, ada)
    context = browser.new_context(base_url=live_server)
    context.add_init_script(RECORD_SIGNALS)
    wall = context.new_page()
    sign_in(wall, proctor)
    wall.goto(f"/proctor/exams/{exam.id}")
    expect(wall.get_by_test_id("live")).to_have_attribute("data-state", "live")
    title = wall.title()
    expect(wall.get_by_test_id("signal-sound")).to_be_checked()
    expect(wall.get_by_test_id("signal-badge")).to_be_checked()
    expect(wall.get_by_test_id("signal-notify")).not_to_be_checked()

    # Asked on the proctor's click: refused by the browser, the box says so and stays off.
    wall.get_by_test_id("signal-notify").check(force=True)
    expect(wall.get_by_test_id("signal-notify")).not_to_be_checked()
    expect(wall.get_by_test_id("alert-signals")).to_contain_text("does not allow notifications")
    context.grant_permissions(["notifications"], origin=live_server)
    wall.get_by_test_id("signal-notify").check()
    expect(wall.get_by_test_id("signal-notify")).to_be_checked()
    tones_before = wall.evaluate("window.tones")

    candidate.evaluate("document.dispatchEvent(new Event('copy'))")
    expect(wall).to_have_title(f"(1) {title}")
    assert wall.evaluate("window.notified") == ["High alert: Copy / paste: copy | Ada"]
    assert wall.evaluate("window.tones") > tones_before

    wall.get_by_test_id("signal-badge").uncheck()
    expect(wall).to_have_title(title)
    wall.get_by_test_id("signal-sound").uncheck()
    wall.reload()  # remembered in this browser for this proctor
    expect(wall.get_by_test_id("alert")).to_have_count(1)
    expect(wall.get_by_test_id("signal-badge")).not_to_be_checked()
    expect(wall.get_by_test_id("signal-sound")).not_to_be_checked()
    expect(wall.get_by_test_id("signal-notify")).to_be_checked()
    expect(wall.get_by_test_id("alerts-unhandled")).to_have_text("1 not handled")
    expect(wall).to_have_title(title)
    context.close()
    candidate.context.close()
