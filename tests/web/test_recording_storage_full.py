"""The candidate's recording while the server's disk is full (issue 11, finding 4).

The object store sits on a 32 MiB tmpfs (tests/disks.py), filled before the exam starts:
every chunk upload is answered 507. The page says the server is out of space and that the
recording is kept on this computer, IndexedDB keeps every chunk, and the candidate can
submit; once space is back the kept chunks arrive and the recording assembles with no gap."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Response, expect

from openproctor.domains.users.models import Role
from openproctor.settings import Settings
from tests.conftest import Factory
from tests.disks import SmallDisk
from tests.web.pages import sign_in
from tests.web.test_recording import enrolled_session, start_exam, wait_until

pytestmark = pytest.mark.browser

OUT_OF_SPACE = "The server is out of space right now. Your recording is kept on this computer"


@pytest.fixture
def settings(settings: Settings, small_disk: SmallDisk) -> Settings:
    return settings.model_copy(update={"storage_url": small_disk.storage.as_uri()})


def chunks_in_browser(page: Page, session_id: str) -> int:
    """Recording chunks this session still holds in IndexedDB (see chunkstore.js)."""
    count: int = page.evaluate(
        """sessionId => new Promise((resolve, reject) => {
            const opening = indexedDB.open("openproctor-recordings");
            opening.onerror = () => reject(opening.error);
            opening.onsuccess = () => {
                const chunks = opening.result.transaction("chunks").objectStore("chunks");
                const counting = chunks.index("session").count(sessionId);
                counting.onsuccess = () => {
                    opening.result.close();
                    resolve(counting.result);
                };
            };
        })""",
        session_id,
    )
    return count


def test_a_full_server_keeps_the_recording_in_the_browser_says_so_and_gets_it_later(
    browser: Browser, live_server: str, factory: Factory, small_disk: SmallDisk
) -> None:
    candidate, session = enrolled_session(factory)
    small_disk.fill()
    context = browser.new_context(base_url=live_server)
    page = context.new_page()
    answers: list[int] = []  # the server's answers to chunk uploads

    def note(response: Response) -> None:
        if "/chunks/" in response.url:
            answers.append(response.status)

    page.on("response", note)
    page.goto(f"/take/{candidate.invite_token}")
    start_exam(page)

    status = page.get_by_test_id("rec-status")
    expect(status).to_have_attribute("data-state", "server-full", timeout=20000)
    expect(status).to_contain_text(OUT_OF_SPACE)
    wait_until(lambda: chunks_in_browser(page, str(session.id)) >= 4, 30, "chunks kept")
    assert set(answers) == {507}

    # Submitting waits for the recording and says why it cannot be sent yet; the candidate
    # submits anyway and the ended page keeps saying what happens.
    page.get_by_test_id("submit").click()
    page.get_by_test_id("submit-confirm").click()  # "Submit your answers?"
    expect(page.get_by_test_id("submit-wait").locator(".upload-text")).to_contain_text(OUT_OF_SPACE)
    page.get_by_test_id("submit-anyway").click()
    expect(page.get_by_test_id("exam-submitted")).to_be_visible(timeout=20000)
    uploads = page.get_by_test_id("uploads")
    expect(uploads).to_have_attribute("data-state", "sending")
    expect(uploads).to_contain_text(OUT_OF_SPACE, timeout=35000)
    kept = chunks_in_browser(page, str(session.id))
    assert kept >= 4

    small_disk.free_up()
    # The back-off waits at most 30 s between tries.
    expect(uploads).to_have_attribute("data-state", "done", timeout=60000)
    expect(uploads).to_contain_text("Your recording has been sent")
    assert chunks_in_browser(page, str(session.id)) == 0

    staff = browser.new_context(base_url=live_server).new_page()
    sign_in(staff, factory.user(Role.REVIEWER))

    def assembled() -> dict[str, Any] | None:
        listing = staff.request.get(f"/api/v1/sessions/{session.id}/recordings").json()
        webcam = [r for r in listing if r["kind"] == "webcam"]
        return webcam[0] if webcam and webcam[0]["ready"] else None

    recording = wait_until(assembled, 60, "the webcam recording to be assembled")
    assert recording["missing_chunks"] == []
    assert recording["error"] is None
    assert recording["chunks"] == recording["chunks_expected"] >= kept
    assert recording["duration_s"] >= 0.99 * recording["recorded_s"]
    print(
        f"\nfull disk: {len(answers)} uploads answered 507 ({kept} chunks kept in the browser), "
        f"then {recording['chunks']} chunks assembled: recorded_s={recording['recorded_s']:.1f} "
        f"duration_s={recording['duration_s']:.1f}"
    )
    context.close()
