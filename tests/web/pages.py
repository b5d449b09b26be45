"""What several browser tests do: sign a staff member in, leave the tab, enrol a candidate."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from openproctor.domains.candidates.models import Candidate
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import ExamSession, SessionState
from openproctor.domains.users.models import User
from tests.conftest import PASSWORD, Factory


def enrolled_earlier(factory: Factory, candidate: Candidate) -> ExamSession:
    """The candidate's session with their photo taken earlier: their page starts at the check."""
    session = sessions.current_for_candidate(db=factory.db, candidate=candidate)
    for state in (SessionState.CHECKING, SessionState.ENROLLED):
        sessions.move(session, state)
    factory.db.commit()
    return session


def sign_in(page: Page, user: User) -> None:
    page.goto("/login")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_test_id("login").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def set_visibility(page: Page, *, hidden: bool) -> None:
    """What the browser reports when the candidate leaves the tab (headless stays visible)."""
    page.evaluate(
        """hidden => {
            Object.defineProperty(document, "hidden", {value: hidden, configurable: true});
            Object.defineProperty(document, "visibilityState",
                {value: hidden ? "hidden" : "visible", configurable: true});
            document.dispatchEvent(new Event("visibilitychange"));
        }""",
        hidden,
    )
