"""A proctor's wall in Chromium, fed only by the proctor socket: it shows their candidate (and
not another proctor's), raises an alert from a browser signal, and its message, pause, resume
and termination reach the candidate's page at once."""

from __future__ import annotations

import uuid

import httpx2
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, WebSocket, expect

from openproctor.domains.candidates.models import Candidate
from openproctor.domains.sessions import service as sessions
from openproctor.domains.users.models import Role, User
from tests.conftest import PASSWORD, Factory
from tests.web.pages import enrolled_earlier, sign_in

pytestmark = pytest.mark.browser


def running_exam_page(
    browser: Browser,
    live_server: str,
    factory: Factory,
    candidate: Candidate,
    context: BrowserContext | None = None,
) -> Page:
    """The candidate's page with the exam running (their photo was taken earlier), in a new
    context of the browser unless one is given."""
    enrolled_earlier(factory, candidate)
    page = (context or browser.new_context(base_url=live_server)).new_page()
    page.goto(f"/take/{candidate.invite_token}")
    page.get_by_test_id("next").click()  # the system check, once more after a reload
    expect(page.get_by_test_id("step-intro")).to_be_visible()
    page.get_by_test_id("next").click()
    expect(page.get_by_test_id("exam-running")).to_be_visible()
    return page


def wall_page(browser: Browser, live_server: str, proctor: User, exam_id: uuid.UUID) -> Page:
    page = browser.new_context(base_url=live_server).new_page()
    sign_in(page, proctor)
    page.goto(f"/proctor/exams/{exam_id}")
    expect(page.get_by_test_id("live")).to_have_attribute("data-state", "live")
    return page


def signed_in(http: httpx2.Client, user: User) -> dict[str, str]:
    """Signs an API client in; returns the CSRF header of that sign-in."""

    def csrf() -> dict[str, str]:
        return {"X-CSRF-Token": http.get("/api/v1/auth/csrf").json()["csrf_token"]}

    body = {"email": user.email, "password": PASSWORD}
    assert http.post("/api/v1/auth/login", json=body, headers=csrf()).status_code == 200
    return csrf()  # it changes at sign-in


def test_a_proctor_watches_messages_pauses_and_ends_a_candidates_exam(
    browser: Browser, live_server: str, factory: Factory
) -> None:
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam()
    ada = factory.candidate(exam, proctor, name="Ada")
    factory.candidate(exam, factory.user(Role.PROCTOR), name="Bob")
    session = sessions.current_for_candidate(db=factory.db, candidate=ada)

    candidate = running_exam_page(browser, live_server, factory, ada)
    staff = wall_page(browser, live_server, proctor, exam.id)
    tile = staff.get_by_test_id("candidate-tile")
    expect(tile).to_have_count(1)
    expect(tile).to_contain_text("Ada")
    expect(tile).to_have_attribute("data-session-id", str(session.id))
    expect(tile).to_have_attribute("data-connected", "yes")

    candidate.evaluate("document.dispatchEvent(new Event('copy'))")
    alert = staff.get_by_test_id("alert")
    expect(alert).to_have_attribute("data-kind", "copy_paste")
    expect(alert).to_contain_text("Ada")

    tile.click()
    staff.get_by_test_id("message-text").fill("Please keep your face in view.")
    staff.get_by_test_id("send-message").click()
    expect(candidate.get_by_test_id("proctor-message")).to_contain_text(
        "Please keep your face in view."
    )
    expect(staff.get_by_test_id("message-history")).to_contain_text(
        "Please keep your face in view."
    )

    staff.get_by_test_id("pause").click()
    expect(candidate.locator("#paused")).to_be_visible()
    expect(candidate.get_by_test_id("exam-running")).to_have_count(0)
    staff.get_by_test_id("resume").click()
    expect(candidate.get_by_test_id("exam-running")).to_be_visible()
    expect(candidate.locator("#paused")).to_be_hidden()

    # The detail view speaks the tile's words, not frame counters.
    expect(staff.get_by_test_id("detail-analysis")).to_contain_text("Analysis")
    expect(staff.get_by_test_id("detail-analysis")).not_to_contain_text("received")
    staff.get_by_test_id("terminate").click()
    staff.get_by_test_id("terminate-reason").fill("Someone else is answering.")
    staff.get_by_test_id("terminate-confirm").click()
    ended = candidate.get_by_test_id("exam-terminated")
    expect(ended).to_be_visible()
    expect(ended).to_contain_text("Someone else is answering.")
    expect(staff.locator("#detail .state")).to_contain_text("Terminated")
    staff.context.close()
    candidate.context.close()


def test_a_candidate_given_to_another_proctor_moves_between_their_walls(
    browser: Browser, live_server: str, factory: Factory
) -> None:
    first, second = factory.user(Role.PROCTOR), factory.user(Role.PROCTOR)
    exam = factory.exam()
    ada = factory.candidate(exam, first, name="Ada")
    factory.candidate(exam, second, name="Bob")
    candidate = running_exam_page(browser, live_server, factory, ada)
    first_wall = wall_page(browser, live_server, first, exam.id)
    second_wall = wall_page(browser, live_server, second, exam.id)
    expect(first_wall.get_by_test_id("candidate-tile")).to_have_attribute("data-connected", "yes")
    expect(second_wall.get_by_test_id("candidate-tile")).to_have_count(1)  # Bob only
    first_wall.get_by_test_id("candidate-tile").click()  # the first proctor is watching Ada

    admin = factory.user(Role.ADMIN)
    with httpx2.Client(base_url=live_server) as http:
        headers = signed_in(http, admin)
        moved = http.put(
            f"/api/v1/candidates/{ada.id}/proctor",
            json={"proctor_id": str(second.id)},
            headers=headers,
        )
        assert moved.status_code == 200, moved.text

    expect(first_wall.get_by_test_id("candidate-tile")).to_have_count(0)
    expect(first_wall.locator("#wall")).to_have_attribute("data-view", "grid")
    ada_tile = second_wall.get_by_test_id("candidate-tile").filter(has_text="Ada")
    expect(ada_tile).to_have_attribute("data-connected", "yes")  # live, without a reload
    candidate.evaluate("document.dispatchEvent(new Event('copy'))")
    expect(second_wall.get_by_test_id("alert")).to_contain_text("Ada")
    expect(first_wall.get_by_test_id("alert")).to_have_count(0)
    for page in (candidate, first_wall, second_wall):
        page.context.close()


def test_a_proctors_auto_termination_toggle_reaches_only_their_candidates(
    browser: Browser, live_server: str, factory: Factory
) -> None:
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam()
    ada = sessions.current_for_candidate(
        db=factory.db, candidate=factory.candidate(exam, proctor, name="Ada")
    )
    bob = sessions.current_for_candidate(
        db=factory.db, candidate=factory.candidate(exam, factory.user(Role.PROCTOR), name="Bob")
    )
    factory.db.commit()

    staff = wall_page(browser, live_server, proctor, exam.id)
    expect(staff.get_by_test_id("exam-auto-terminate")).to_have_count(0)  # the admin's switch
    mine = staff.get_by_test_id("my-auto-terminate")
    expect(mine).not_to_be_checked()
    mine.check()
    expect(mine).to_be_enabled()  # the request is done
    expect(mine).to_be_checked()
    staff.get_by_test_id("candidate-tile").click()
    expect(staff.get_by_test_id("auto-terminate")).to_be_checked()
    factory.db.expire_all()
    assert (ada.auto_terminate, bob.auto_terminate) == (True, None)
    assert exam.parsed_policy.auto_terminate is False

    admin_wall = wall_page(browser, live_server, factory.user(Role.ADMIN), exam.id)
    expect(admin_wall.get_by_test_id("my-auto-terminate")).to_have_count(0)
    whole = admin_wall.get_by_test_id("exam-auto-terminate")
    whole.check()
    expect(whole).to_be_enabled()
    factory.db.expire_all()
    assert exam.parsed_policy.auto_terminate is True
    assert (ada.auto_terminate, bob.auto_terminate) == (None, None)
    for page in (staff, admin_wall):
        page.context.close()


def test_the_wall_says_why_its_sign_in_ended_and_stops_reconnecting(
    browser: Browser, live_server: str, factory: Factory
) -> None:
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam()
    factory.candidate(exam, proctor, name="Ada")
    staff = browser.new_context(base_url=live_server).new_page()
    sockets: list[WebSocket] = []
    staff.on("websocket", lambda socket: sockets.append(socket))  # a bound method is refused
    sign_in(staff, proctor)
    staff.goto(f"/proctor/exams/{exam.id}")
    live = staff.get_by_test_id("live")
    expect(live).to_have_attribute("data-state", "live")

    admin = factory.user(Role.ADMIN)
    with httpx2.Client(base_url=live_server) as http:
        headers = signed_in(http, admin)
        deactivated = http.post(f"/admin/staff/{proctor.id}/deactivate", headers=headers)
        assert deactivated.status_code == 303, deactivated.text

    expect(live).to_have_attribute("data-state", "refused")
    expect(live).to_have_text(
        "You were signed out: your account was deactivated. Reload the page to sign in again."
    )
    staff.wait_for_timeout(2500)  # longer than the first reconnect delay (1 s)
    expect(live).to_have_attribute("data-state", "refused")
    assert len(sockets) == 1
    staff.context.close()
