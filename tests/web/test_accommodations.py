"""Accommodations in Chromium: a candidate with extra minutes sees the longer timer (and the
server agrees), the proctor's tile shows the chips, and a tab switch by a candidate exempt
from tab_switch opens no violation while the same switch by another candidate does."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from openproctor.domains.candidates.accommodations import Accommodations
from openproctor.domains.exams.policy import ViolationKind
from openproctor.domains.users.models import Role
from openproctor.domains.violations.models import Violation
from tests.conftest import Factory
from tests.web.pages import set_visibility
from tests.web.test_exam_clock import assert_agree, session_of
from tests.web.test_proctor_wall import running_exam_page, wall_page
from tests.web.test_proctoring_scenario import wait_for_alert

pytestmark = pytest.mark.browser


def test_extra_minutes_lengthen_the_timer_and_an_exempt_tab_switch_opens_nothing(
    browser: Browser, live_server: str, factory: Factory
) -> None:
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam(policy={"require_fullscreen": False})  # an hour's exam
    ada = factory.candidate(
        exam,
        proctor,
        name="Ada",
        accommodations=Accommodations(extra_minutes=25, exempt=[ViolationKind.TAB_SWITCH]),
    )
    bob = factory.candidate(exam, proctor, name="Bob")
    # 85 minutes against 60, each read within a minute of its start.
    ada_page = running_exam_page(browser, live_server, factory, ada)
    ada_session = session_of(factory, ada)
    assert 84 * 60 <= assert_agree(ada_page, factory, ada_session) <= 85 * 60
    bob_page = running_exam_page(browser, live_server, factory, bob)
    bob_session = session_of(factory, bob)
    assert 59 * 60 <= assert_agree(bob_page, factory, bob_session) <= 60 * 60

    staff = wall_page(browser, live_server, proctor, exam.id)
    tiles = staff.get_by_test_id("candidate-tile")
    ada_chips = tiles.filter(has_text="Ada").locator(".chip.accommodation")
    expect(ada_chips).to_have_text(["Extra time +25 min", "Exempt: tab_switch"])
    expect(tiles.filter(has_text="Bob").locator(".chip.accommodation")).to_have_count(0)

    set_visibility(ada_page, hidden=True)
    set_visibility(bob_page, hidden=True)
    wait_for_alert(staff, "tab_switch", timeout_s=15)
    alerts = staff.locator('[data-testid="alert"][data-kind="tab_switch"]')
    expect(alerts).to_have_count(1)
    expect(alerts).to_contain_text("Bob")

    def tab_switches(session_id: object) -> int:
        factory.db.expire_all()
        query = select(Violation).where(
            Violation.session_id == session_id, Violation.kind == ViolationKind.TAB_SWITCH
        )
        return len(factory.db.scalars(query).all())

    assert tab_switches(bob_session.id) == 1
    time.sleep(2)  # Ada's signal left first: it had every chance to open one
    assert tab_switches(ada_session.id) == 0
    expect(alerts).to_have_count(1)
    for page in (ada_page, bob_page, staff):
        page.context.close()
