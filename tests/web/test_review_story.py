"""A review that tells the whole story, in Chromium: a warned and paused attempt shows both on
the timeline and in the PDF, long flags keep to their own lanes so a short one stays
clickable, markers at one moment are grouped, and deciding with flags pending asks first.
axe finds nothing serious on the pages."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from openproctor.db import utcnow
from openproctor.domains.audit import service as audit_log
from openproctor.domains.exams.policy import Severity, ViolationKind
from openproctor.domains.messages import service as messages
from openproctor.domains.messages.models import MessageKind, Sender
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import ExamSession, SessionState
from openproctor.domains.users.models import Role
from openproctor.domains.violations.models import Violation
from openproctor.settings import Settings
from tests.conftest import Factory
from tests.test_reports import pdf_text
from tests.web.axe import blocking_violations
from tests.web.test_recording import sign_in, wait_until
from tests.web.test_review import phone_flag, recorded_session, video_time, wait_for_metadata

pytestmark = pytest.mark.browser

SHOTS = Path("/work/notes/shots")
WARNED_AT_S, PAUSED_AT_S, RESUMED_AT_S = 4.0, 7.0, 8.0


def reviewer_page(browser: Browser, live_server: str, factory: Factory, **options: object) -> Page:
    context = browser.new_context(
        base_url=live_server, viewport={"width": 1400, "height": 900}, **options
    )
    page = context.new_page()
    sign_in(page, factory.user(Role.REVIEWER))
    return page


def wait_for_recordings(page: Page, session: ExamSession) -> None:
    def ready() -> bool:
        listing = page.request.get(f"/api/v1/sessions/{session.id}/recordings").json()
        return len(listing) == 2 and all(r["ready"] for r in listing)

    wait_until(ready, 30, "the recordings to be assembled")


def started_of(factory: Factory, session: ExamSession) -> timedelta:
    """Where the recordings start, as an offset to add to utcnow()-based instants: the flag
    recorded_session puts 6 s in is the anchor."""
    flag = factory.db.scalar(select(Violation).where(Violation.session_id == session.id))
    assert flag is not None
    return flag.started_at - timedelta(seconds=6.0) - utcnow()


def test_a_warned_and_paused_attempt_shows_both_on_the_timeline_and_in_the_pdf(
    browser: Browser, live_server: str, factory: Factory, settings: Settings
) -> None:
    session = recorded_session(factory, settings, live_server)
    start = utcnow() + started_of(factory, session)
    proctor = factory.user(Role.PROCTOR, email="pat@example.com")
    warning = messages.write(
        db=factory.db,
        session_id=session.id,
        sender=Sender.PROCTOR,
        kind=MessageKind.WARNING,
        body="Keep your eyes on your own screen",
        sender_user_id=proctor.id,
    )
    warning.created_at = start + timedelta(seconds=WARNED_AT_S)
    # What sessions/flows.py writes for a pause and a resume.
    for action, at_s in (("session.paused", PAUSED_AT_S), ("session.running", RESUMED_AT_S)):
        entry = audit_log.record(
            db=factory.db,
            actor=proctor,
            action=action,
            target_type="session",
            target_id=session.id,
            details={"reason": "by the proctor"},
        )
        entry.created_at = start + timedelta(seconds=at_s)
    factory.db.commit()

    page = reviewer_page(browser, live_server, factory, timezone_id="America/New_York")
    wait_for_recordings(page, session)
    page.goto(f"/review/sessions/{session.id}")
    wait_for_metadata(page)

    # One zone for every time, named; the reviewer's own is named too where it differs.
    expect(page.get_by_test_id("zone-note")).to_contain_text("Times are in UTC")
    expect(page.get_by_test_id("own-zone")).to_contain_text("America/New_York")

    lane = page.get_by_test_id("lane-events")
    markers = lane.get_by_test_id("event-marker")
    expect(markers).to_have_count(4)  # the candidate's message, the warning, pause, resume
    warned = lane.locator("[title*='Warning from the proctor']")
    expect(warned).to_have_attribute("data-intervention", "yes")
    paused = lane.locator("[title*='Exam paused']")
    expect(lane.locator("[title*='Exam resumed']")).to_have_count(1)
    paused.click()
    wait_until(lambda: abs(video_time(page) - (PAUSED_AT_S - 3)) < 0.3, 5, "the seek to the pause")
    item = page.get_by_test_id("event").filter(has_text="Exam paused")
    expect(item).to_have_class("msg msg-paused intervention selected")
    expect(item).to_contain_text("pat@example.com")
    listed = page.get_by_test_id("conversation")
    expect(listed).to_contain_text("Warning from the proctor")
    expect(listed).to_contain_text("Keep your eyes on your own screen")
    # The list's times are the exam's zone's, as in the PDF.
    expect(item).to_contain_text(f"{start + timedelta(seconds=PAUSED_AT_S):%H:%M:%S}")

    # The evidence's caption gives the flag's start, as the flag and the PDF do.
    flag_at = start + timedelta(seconds=6)
    flag_start = f"{flag_at:%H:%M:%S}"
    expect(page.get_by_test_id("evidence-thumb")).to_contain_text(flag_start)
    assert blocking_violations(page) == []
    page.get_by_test_id("decision-note").fill("Warned once, then paused: no cheating seen.")
    page.get_by_test_id("decide-suspicious").click()
    page.get_by_test_id("decide-anyway").click()
    expect(page.get_by_test_id("current-decision")).to_contain_text("suspicious")
    page.screenshot(path=str(SHOTS / "review.png"), full_page=True)

    report = page.request.get(f"/api/v1/sessions/{session.id}/report.pdf")
    assert report.ok
    text = pdf_text(report.body())
    for expected in (
        "Interventions and messages, times in UTC",
        "Warning from the proctor",
        "Keep your eyes on your own screen",
        "Exam paused",
        "Exam resumed",
        f"{start + timedelta(seconds=PAUSED_AT_S):%H:%M:%S}",
        "pat@example.com",
        "Warned once, then paused: no cheating seen.",
        "reviewer user <",  # who decided
        f"Prohibited object: cell phone at {flag_at:%Y-%m-%d %H:%M:%S} UTC",  # its evidence
    ):
        assert expected in text, expected
    assert "prohibited_object" not in text
    (SHOTS / "report.pdf").write_bytes(report.body())


def test_lanes_keep_a_short_flag_clickable_next_to_a_long_one_and_group_one_moment(
    browser: Browser, live_server: str, factory: Factory, settings: Settings
) -> None:
    session = recorded_session(factory, settings, live_server)
    start = utcnow() + started_of(factory, session)

    def flag(kind: ViolationKind, severity: Severity, at_s: float, seconds: float) -> Violation:
        violation = phone_flag(session.id, start + timedelta(seconds=at_s), seconds)
        violation.kind, violation.severity, violation.label = kind, severity, None
        factory.db.add(violation)
        return violation

    # A short HIGH flag just before a long one starts: in one lane, the long one would lie
    # over it and take its clicks.
    short = flag(ViolationKind.MULTIPLE_FACES, Severity.HIGH, 2.0, 0.2)
    long = flag(ViolationKind.SPEECH, Severity.MEDIUM, 2.02, 9.0)
    twins = [flag(ViolationKind.TAB_SWITCH, Severity.LOW, 10.5 + i * 0.05, 0.1) for i in range(2)]
    factory.db.commit()

    page = reviewer_page(browser, live_server, factory)
    wait_for_recordings(page, session)
    page.goto(f"/review/sessions/{session.id}")
    wait_for_metadata(page)

    def marker(violation: Violation) -> str:
        return f'[data-testid=marker][data-violation-id="{violation.id}"]'

    expect(page.get_by_test_id("lane-short").locator(marker(short))).to_be_visible()
    expect(page.get_by_test_id("lane-long").locator(marker(long))).to_be_visible()
    page.locator(marker(short)).click()  # refused by Playwright if anything covers it
    wait_until(lambda: video_time(page) < 0.3, 5, "the seek to the short flag")
    selected = page.locator(f'[data-testid=flag][data-violation-id="{short.id}"]')
    expect(selected).to_have_attribute("aria-current", "true")

    # Two flags at one moment: one button with their count, listing both when pressed.
    group = page.get_by_test_id("lane-short").get_by_test_id("marker-group")
    expect(group).to_have_text("2")
    expect(group).to_have_attribute("aria-expanded", "false")
    group.click()
    expect(group).to_have_attribute("aria-expanded", "true")
    listed = page.get_by_test_id("group-list")
    expect(listed.get_by_test_id("marker")).to_have_count(2)
    assert blocking_violations(page) == []
    listed.locator(marker(twins[1])).click()
    second = page.locator(f'[data-testid=flag][data-violation-id="{twins[1].id}"]')
    expect(second).to_have_attribute("aria-current", "true")


def test_deciding_with_flags_pending_asks_first(
    browser: Browser, live_server: str, factory: Factory
) -> None:
    exam = factory.exam()
    session = sessions.current_for_candidate(db=factory.db, candidate=factory.candidate(exam))
    for state in (SessionState.CHECKING, SessionState.ENROLLED, SessionState.RUNNING):
        sessions.move(session, state)
    sessions.move(session, SessionState.SUBMITTED)
    for at_s in (0, 30):
        factory.db.add(phone_flag(session.id, utcnow() - timedelta(seconds=120 - at_s), 3))
    factory.db.commit()

    page = reviewer_page(browser, live_server, factory)
    page.goto(f"/review/exams/{exam.id}")
    assert blocking_violations(page) == []
    page.goto(f"/review/sessions/{session.id}")
    expect(page.get_by_test_id("flag")).to_have_count(2)
    page.get_by_test_id("decision-note").fill("Phone twice.")
    page.get_by_test_id("decide-cheating").click()
    dialog = page.get_by_test_id("confirm-decision")
    expect(dialog).to_be_visible()
    expect(dialog).to_have_accessible_name("Some flags are not reviewed")
    expect(page.get_by_test_id("confirm-decision-text")).to_have_text(
        "2 flags are not reviewed yet. Decide anyway?"
    )
    expect(page.get_by_test_id("decide-back")).to_be_focused()
    assert blocking_violations(page) == []

    # Escape, like "Review the flags first", decides nothing and goes to the first pending.
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("current-decision")).to_have_text("Not decided yet.")
    expect(page.get_by_test_id("flag").first).to_be_focused()
    factory.db.expire_all()
    undecided = factory.db.get(ExamSession, session.id)
    assert undecided is not None
    assert undecided.decision is None

    page.get_by_test_id("decide-cheating").click()
    page.get_by_test_id("decide-anyway").click()
    expect(page.get_by_test_id("current-decision")).to_contain_text("cheating")
    expect(page.get_by_test_id("current-decision")).to_contain_text("by you")

    # With no flag pending, the decision is taken without asking.
    for flag in page.get_by_test_id("flag").all():
        flag.click()
        flag.get_by_test_id("dismiss").click()
        expect(flag).to_have_attribute("data-status", "dismissed")
    page.get_by_test_id("decide-clear").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("current-decision")).to_contain_text("clear")
