"""Fewer false flags, in Chromium: one leave of the page is one tab_switch (the tab and the
window events merged), and a reload within the reconnect grace raises neither camera_off nor
tab_switch, while a page gone for longer does (rules/conditions.py)."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from openproctor.domains.exams.policy import ViolationKind
from openproctor.domains.sessions.models import ExamSession
from openproctor.domains.users.models import Role
from openproctor.domains.violations.models import Violation
from openproctor.settings import Settings
from tests.conftest import Factory, serving
from tests.web.pages import set_visibility
from tests.web.test_exam_clock import session_of
from tests.web.test_proctor_wall import running_exam_page
from tests.web.test_recording import wait_until

pytestmark = pytest.mark.browser

K = ViolationKind
GRACE_S = 5.0  # the default (settings.py reconnect_grace_s), set here so the test reads alone


def violations(factory: Factory, session: ExamSession, *kinds: ViolationKind) -> list[Violation]:
    factory.db.expire_all()
    query = select(Violation).where(Violation.session_id == session.id, Violation.kind.in_(kinds))
    return list(factory.db.scalars(query.order_by(Violation.started_at)))


def set_focus(page: Page, *, focused: bool) -> None:
    """What the browser reports when another window takes the focus (headless never does)."""
    page.evaluate("focused => window.dispatchEvent(new Event(focused ? 'focus' : 'blur'))", focused)


def test_one_leave_of_the_page_is_one_tab_switch_with_both_detections(
    browser: Browser, live_server: str, factory: Factory
) -> None:
    exam = factory.exam(policy={"require_fullscreen": False})
    ada = factory.candidate(exam, factory.user(Role.PROCTOR))
    page = running_exam_page(browser, live_server, factory, ada)
    session = session_of(factory, ada)

    # Leaving for another tab: Chromium reports the window's blur and the tab hidden.
    set_focus(page, focused=False)
    set_visibility(page, hidden=True)
    wait_until(lambda: violations(factory, session, K.TAB_SWITCH), 10, "the tab_switch")
    set_visibility(page, hidden=False)
    set_focus(page, focused=True)
    wait_until(
        lambda: all(v.ended_at for v in violations(factory, session, K.TAB_SWITCH)),
        10,
        "the tab_switch to close",
    )
    [left] = violations(factory, session, K.TAB_SWITCH)
    assert left.label is None
    assert left.details["detections"] == ["tab", "window"]
    page.context.close()


def test_a_reload_within_the_grace_raises_nothing_and_a_longer_absence_does(
    browser: Browser, settings: Settings, factory: Factory
) -> None:
    exam = factory.exam(policy={"require_fullscreen": False})
    ada = factory.candidate(exam, factory.user(Role.PROCTOR))
    flagged = (K.CAMERA_OFF, K.TAB_SWITCH, K.CONNECTION_LOST)

    with serving(settings.model_copy(update={"reconnect_grace_s": GRACE_S})) as base_url:
        page = running_exam_page(browser, base_url, factory, ada)
        session = session_of(factory, ada)
        for _ in range(3):
            page.reload()
            expect(page.get_by_test_id("exam-running")).to_be_visible()
            expect(page.locator(".link-status")).to_have_attribute("data-state", "live")
        # The camera's stall (5 s), its debounce (2 s) and the grace have all passed.
        time.sleep(GRACE_S + 3)
        assert violations(factory, session, *flagged) == []

        left_at = time.time()
        page.goto("about:blank")
        time.sleep(GRACE_S + 2)
        away = violations(factory, session, *flagged)
        assert sorted(v.kind.value for v in away) == ["camera_off", "tab_switch"]
        for violation in away:
            # Dated from when the page left, not from when the grace ran out.
            assert abs(violation.started_at.timestamp() - left_at) < 1.5, violation.started_at
            assert violation.details["detections"] == ["page"]

        page.goto(f"/take/{ada.invite_token}")
        expect(page.get_by_test_id("exam-running")).to_be_visible()
        wait_until(
            lambda: all(v.ended_at for v in violations(factory, session, *flagged)),
            15,
            "both to close once the page is back",
        )
        assert len(violations(factory, session, *flagged)) == 2
        page.context.close()
