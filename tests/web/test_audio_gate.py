"""Speech audio leaves the candidate's page only above the server's silence floor: the gate's
onset and hangover under node's test runner; then Chromium's fake microphone plays a silent
WAV, then a speech WAV (clean fixtures), and the bytes the page sends on its live socket are
counted by kind as they leave (Playwright's framesent). Silence sends (almost) no audio; speech
is still sent and still raises a speech violation."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, WebSocket
from sqlalchemy import select

from openproctor.domains.exams.policy import ViolationKind
from openproctor.domains.sessions import service as sessions
from openproctor.domains.users.models import Role
from openproctor.domains.violations.models import Violation
from openproctor.live.protocol import MediaKind
from tests.conftest import Factory
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.web.js import assert_node_tests_pass
from tests.web.test_proctor_wall import running_exam_page

FIXTURES = Path(__file__).parent.parent / "fixtures"
SETTLE_S = 2.0  # after the exam starts: the hello (with the floor) has arrived
MEASURE_S = 8.0
# Chunks a page may send before it knows the floor, or the one chunk it keeps before speech.
SILENCE_AUDIO_MAX_KBITS = 4.0


def test_the_gate_keeps_the_onset_and_a_hangover_under_node() -> None:
    assert_node_tests_pass("silence.test.mjs", 4)


@contextmanager
def microphone(playwright: Playwright, wav: str) -> Iterator[Browser]:
    """Chromium whose fake microphone loops this WAV."""
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[*CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={FIXTURES / wav}"],
    )
    try:
        yield browser
    finally:
        browser.close()


def uplink_kbits(
    playwright: Playwright, live_server: str, factory: Factory, wav: str, name: str
) -> tuple[dict[str, float], uuid.UUID]:
    """The candidate page's socket uplink over MEASURE_S, kbit/s by kind ("audio", "frames",
    "text"), with the microphone playing `wav`; and the session id."""
    exam = factory.exam(policy={"require_fullscreen": False})
    candidate = factory.candidate(exam, factory.user(Role.PROCTOR), name=name)
    session = sessions.current_for_candidate(db=factory.db, candidate=candidate)
    factory.db.commit()
    sent: Counter[str] = Counter()
    measuring = False

    def count(payload: str | bytes) -> None:
        if not measuring:
            return
        if isinstance(payload, str):
            sent["text"] += len(payload.encode())
        elif payload[0] == MediaKind.AUDIO:
            sent["audio"] += len(payload)
        else:
            sent["frames"] += len(payload)

    def watch(socket: WebSocket) -> None:
        if "/ws/take/" in socket.url:
            socket.on("framesent", count)

    with microphone(playwright, wav) as browser:
        context = browser.new_context(base_url=live_server)
        context.on("page", lambda page: page.on("websocket", watch))
        page = running_exam_page(browser, live_server, factory, candidate, context=context)
        page.wait_for_timeout(SETTLE_S * 1000)
        measuring = True
        started = time.monotonic()
        page.wait_for_timeout(MEASURE_S * 1000)
        measuring = False
        elapsed = time.monotonic() - started
        context.close()
    kbits = {kind: sent[kind] * 8 / 1000 / elapsed for kind in ("audio", "frames", "text")}
    print(f"\n{wav}: candidate socket uplink kbit/s {kbits}")  # the figures for the README
    return kbits, session.id


@pytest.mark.browser
@pytest.mark.analysis
def test_silence_sends_almost_no_audio_and_speech_still_raises_speech(
    playwright: Playwright, live_server: str, factory: Factory
) -> None:
    silent, _ = uplink_kbits(playwright, live_server, factory, "silence.wav", "Ada")
    assert silent["audio"] <= SILENCE_AUDIO_MAX_KBITS
    assert silent["frames"] > 0  # the page was streaming all along

    spoken, session_id = uplink_kbits(playwright, live_server, factory, "speech_en.wav", "Bo")
    assert spoken["audio"] > 100  # 16 kHz s16le is 256 kbit/s while someone speaks
    deadline = time.monotonic() + 15
    query = select(Violation).where(
        Violation.session_id == session_id, Violation.kind == ViolationKind.SPEECH
    )
    while factory.db.scalars(query).first() is None:
        assert time.monotonic() < deadline, "speech raised no violation"
        time.sleep(0.5)
        factory.db.expire_all()
