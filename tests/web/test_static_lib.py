"""The pages' shared modules (web/static/js/lib/): the back-off under node's test runner, the
reconnecting socket and the fetch helper in Chromium against the real server, and what the
candidate's page does with them (signals queued while the link is down, a final close code)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from openproctor.domains.exams.policy import ViolationKind
from openproctor.domains.users.models import Role
from openproctor.domains.violations.models import Violation
from openproctor.settings import Settings
from tests.conftest import Factory
from tests.servers import free_port
from tests.web.js import assert_node_tests_pass
from tests.web.pages import enrolled_earlier, set_visibility
from tests.web.test_node_restart import RECONNECT_MS, node

pytestmark = pytest.mark.browser


def test_back_off_under_node() -> None:
    assert_node_tests_pass("socket.test.mjs", 4)


def open_socket(page: Page, path: str, final_codes: list[int]) -> None:
    """A ReconnectingSocket on the page at `path`, its states (with the page's clock) in
    window.states."""
    page.evaluate(
        """async ([path, finalCodes]) => {
            const { ReconnectingSocket, socketUrl } = await import("/static/js/lib/socket.js");
            window.states = [];
            window.socket = new ReconnectingSocket(socketUrl(path), {
                finalCodes,
                onState: (state, detail) =>
                    window.states.push({ state, ...detail, at: performance.now() }),
            });
            window.socket.start();
        }""",
        [path, final_codes],
    )


def states(page: Page) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.evaluate("window.states")
    return found


def wait_for_states(page: Page, state: str, count: int, timeout_s: float = 10) -> None:
    """Until `state` was seen `count` times (page.wait_for_function polls with eval, which the
    page's Content-Security-Policy refuses)."""
    deadline = time.monotonic() + timeout_s
    while sum(entry["state"] == state for entry in states(page)) < count:
        assert time.monotonic() < deadline, f"{count} x {state} expected: {states(page)}"
        page.wait_for_timeout(50)


def test_a_final_close_code_ends_the_socket(browser: Browser, live_server: str) -> None:
    page = browser.new_context(base_url=live_server).new_page()
    page.goto("/login")
    # Not signed in: the wall's socket is accepted, then closed with 4401 and the reason.
    open_socket(page, f"/ws/proctor/exams/{uuid.uuid4()}", [4401])
    wait_for_states(page, "closed", 1)
    page.wait_for_timeout(1500)  # longer than the first retry could wait
    seen = states(page)
    assert [entry["state"] for entry in seen] == ["connecting", "open", "closed"]
    assert seen[2]["code"] == 4401
    assert seen[2]["reason"]


def test_other_close_codes_reconnect_with_a_growing_wait(
    browser: Browser, live_server: str
) -> None:
    page = browser.new_context(base_url=live_server).new_page()
    page.goto("/login")
    open_socket(page, f"/ws/proctor/exams/{uuid.uuid4()}", [])
    wait_for_states(page, "connecting", 3)
    page.evaluate("window.socket.close()")
    seen = states(page)
    page.wait_for_timeout(2500)  # a close on purpose: no retry follows
    assert states(page) == seen
    # Accepted and closed each time without a message: the wait grows all the same.
    tries = [entry for entry in seen if entry["state"] != "open"]
    names = [entry["state"] for entry in tries]
    assert names[:5] == ["connecting", "reconnecting", "connecting", "reconnecting", "connecting"]
    assert [entry["retry"] for entry in tries[0:5:2]] == [False, True, True]
    first, second = tries[1], tries[3]
    assert first["code"] == second["code"] == 4401
    assert 500 <= first["delayMs"] <= 1000
    assert 1000 <= second["delayMs"] <= 2000
    # Each retry waited as long as it said it would.
    assert tries[2]["at"] - first["at"] >= first["delayMs"] - 5
    assert tries[4]["at"] - second["at"] >= second["delayMs"] - 5


def test_errors_carry_the_servers_detail_and_status(browser: Browser, live_server: str) -> None:
    page = browser.new_context(base_url=live_server).new_page()
    page.goto("/login")
    errors = page.evaluate(
        """async () => {
            const { getJson, sendJson, HttpError } = await import("/static/js/lib/http.js");
            const caught = [];
            const requests = [
                () => getJson("/api/v1/exams"), // not signed in
                () => sendJson("POST", "/api/v1/auth/login", {}), // detail is a list of fields
            ];
            for (const request of requests) {
                try {
                    await request();
                } catch (error) {
                    const { message, status } = error;
                    caught.push({ http: error instanceof HttpError, message, status });
                }
            }
            return caught;
        }"""
    )
    detail = page.request.get("/api/v1/exams").json()["detail"]
    assert isinstance(detail, str)
    # A 422 and not a 403: the page's CSRF token went with the POST.
    assert errors == [
        {"http": True, "message": detail, "status": 401},
        {"http": True, "message": "request failed (422)", "status": 422},
    ]


def start_exam(page: Page, invite_token: str) -> None:
    """From the invite link of an enrolled candidate to the running exam, its link live."""
    page.goto(f"/take/{invite_token}")
    page.get_by_test_id("next").click()  # the system check
    expect(page.get_by_test_id("step-intro")).to_be_visible()
    page.get_by_test_id("next").click()
    expect(page.get_by_test_id("exam-running")).to_be_visible()
    expect(page.locator(".link-status")).to_have_attribute("data-state", "live")


def test_a_signal_seen_while_the_link_is_down_is_sent_when_it_is_back(
    browser: Browser, settings: Settings, factory: Factory
) -> None:
    ada = factory.candidate(factory.exam(), factory.user(Role.PROCTOR))
    session = enrolled_earlier(factory, ada)
    port = free_port()
    node_settings = settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
    page = browser.new_context(base_url=f"http://127.0.0.1:{port}").new_page()
    link = page.locator(".link-status")
    with node(node_settings, port):
        start_exam(page, ada.invite_token)
    expect(link).not_to_have_attribute("data-state", "live")
    set_visibility(page, hidden=True)  # no server to tell: the page keeps it
    tab_switches = select(Violation).where(
        Violation.session_id == session.id, Violation.kind == ViolationKind.TAB_SWITCH
    )
    assert factory.db.scalars(tab_switches).all() == []
    with node(node_settings, port):
        expect(link).to_have_attribute("data-state", "live", timeout=RECONNECT_MS)
        deadline = time.monotonic() + 10
        while not factory.db.scalars(tab_switches).all():
            assert time.monotonic() < deadline, "the queued tab_hidden signal never arrived"
            factory.db.expire_all()
            time.sleep(0.1)


def test_the_candidate_page_stops_for_good_when_another_tab_takes_over(
    browser: Browser, live_server: str, factory: Factory
) -> None:
    ada = factory.candidate(factory.exam(), factory.user(Role.PROCTOR))
    enrolled_earlier(factory, ada)
    context = browser.new_context(base_url=live_server)
    first, second = context.new_page(), context.new_page()
    start_exam(first, ada.invite_token)
    second.goto(f"/take/{ada.invite_token}")
    expect(second.get_by_test_id("exam-running")).to_be_visible()
    expect(second.locator(".link-status")).to_have_attribute("data-state", "live")
    # The first page's socket was closed with 4408 (replaced): a final code, so it says why
    # and does not knock again (which would take the exam back from the second).
    banner = first.locator("#banner-connection")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("This exam is now open in another window or tab")
    first.wait_for_timeout(2500)  # longer than two retries could wait
    expect(second.locator(".link-status")).to_have_attribute("data-state", "live")
    expect(banner).to_contain_text("This exam is now open in another window or tab")
    context.close()
