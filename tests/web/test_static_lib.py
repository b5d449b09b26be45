"""The pages' shared modules (web/static/js/lib/): the back-off under node's test runner, the
reconnecting socket and the fetch helper in Chromium against the real server."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

NODE_TESTS = Path(__file__).parent / "js" / "socket.test.mjs"


def test_back_off_under_node() -> None:
    node = shutil.which("node")
    assert node, "node is needed for the JS unit tests (Debian package nodejs, see the Makefile)"
    run = subprocess.run(  # noqa: S603 (our own test file)
        [node, "--test", str(NODE_TESTS)], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "# pass 4" in run.stdout


def open_socket(page: Page, path: str, final_codes: list[int]) -> None:
    """A ReconnectingSocket on the page at `path`, its states (with the page's clock) in
    window.states."""
    page.evaluate(
        """async ([path, finalCodes]) => {
            const { ReconnectingSocket, socketUrl } = await import("/static/js/lib/socket.js");
            window.states = [];
            window.socket = new ReconnectingSocket(socketUrl(path), {
                finalCodes,
                onState: (state, detail) => window.states.push({ state, ...detail, at: performance.now() }),
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
                    caught.push({ http: error instanceof HttpError, message: error.message, status: error.status });
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
