"""A web node restarts under a running exam: the server stops completely (every socket drops)
and a new app starts on the same port with the same database and data directory. Nobody
touches either page, yet the candidate's page reconnects and streams frames again, and the
proctor's wall reconnects and shows what happens after the restart."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, expect

from openproctor.app import create_app
from openproctor.context import AppContext
from openproctor.domains.users.models import Role
from openproctor.settings import Settings
from tests.conftest import Factory
from tests.servers import free_port
from tests.web.pages import enrolled_earlier, set_visibility, sign_in

pytestmark = pytest.mark.browser

# The pages retry after 0.5-1 s, then wait twice as long each time (lib/socket.js): a restart
# within a few seconds is seen.
RECONNECT_MS = 15_000


@contextmanager
def node(settings: Settings, port: int) -> Iterator[FastAPI]:
    """One web node: a new app on a uvicorn server on this port; on exit the server is shut
    down completely (listener closed, sockets dropped, the app's lifespan finished)."""
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws_per_message_deflate=False,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"the web node did not start on port {port}")
        thread.join(0.02)
    try:
        yield app
    finally:
        server.should_exit = True
        thread.join(20)
        assert not thread.is_alive(), "the web node did not stop"


def frames_received(app: FastAPI, session_id: uuid.UUID) -> int:
    """Frames this node took in from the session's candidate (0 before they connect here)."""
    context: AppContext = app.state.context
    runtime = context.hub.registry.get(session_id)
    return runtime.counters.received if runtime is not None else 0


def wait_for_frames(app: FastAPI, session_id: uuid.UUID, count: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while (received := frames_received(app, session_id)) < count:
        assert time.monotonic() < deadline, f"{received} frames received, expected {count}"
        time.sleep(0.1)


def test_candidate_and_proctor_pages_reconnect_by_themselves_after_a_restart(
    browser: Browser, settings: Settings, factory: Factory
) -> None:
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam()
    ada = factory.candidate(exam, proctor, name="Ada")
    session = enrolled_earlier(factory, ada)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    node_settings = settings.model_copy(update={"public_url": base_url})

    candidate = browser.new_context(base_url=base_url).new_page()
    staff = browser.new_context(base_url=base_url).new_page()
    candidate_link = candidate.locator(".link-status")
    wall_link = staff.get_by_test_id("live")
    tile = staff.get_by_test_id("candidate-tile")
    tab_switch = staff.locator('[data-testid="alert"][data-kind="tab_switch"]')

    with node(node_settings, port) as first:
        candidate.goto(f"/take/{ada.invite_token}")
        candidate.get_by_test_id("next").click()  # the system check
        expect(candidate.get_by_test_id("step-intro")).to_be_visible()
        candidate.get_by_test_id("next").click()
        expect(candidate.get_by_test_id("exam-running")).to_be_visible()
        expect(candidate_link).to_have_attribute("data-state", "live")
        wait_for_frames(first, session.id, 1, timeout_s=10)

        sign_in(staff, proctor)
        staff.goto(f"/proctor/exams/{exam.id}")
        expect(wall_link).to_have_attribute("data-state", "live")
        expect(tile).to_have_attribute("data-session-id", str(session.id))
        expect(tile).to_have_attribute("data-connected", "yes")
        expect(tab_switch).to_have_count(0)
        # Gone after a reload or a navigation: proof that nobody touched the pages.
        for page in (candidate, staff):
            page.evaluate("window.beforeRestart = true")

    # Every socket dropped, and both pages noticed.
    expect(candidate_link).not_to_have_attribute("data-state", "live")
    expect(wall_link).not_to_have_attribute("data-state", "live")

    with node(node_settings, port) as second:
        assert frames_received(second, session.id) == 0
        expect(wall_link).to_have_attribute("data-state", "live", timeout=RECONNECT_MS)
        expect(candidate_link).to_have_attribute("data-state", "live", timeout=RECONNECT_MS)
        expect(candidate.get_by_test_id("exam-running")).to_be_visible()
        wait_for_frames(second, session.id, 3, timeout_s=10)
        expect(tile).to_have_attribute("data-connected", "yes")

        set_visibility(candidate, hidden=True)
        expect(tab_switch).to_have_count(1, timeout=10_000)
        expect(tab_switch).to_contain_text("Ada")
        set_visibility(candidate, hidden=False)

        for page in (candidate, staff):
            assert page.evaluate("window.beforeRestart") is True
        staff.context.close()
        candidate.context.close()
