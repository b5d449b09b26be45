"""A reviewer goes through an attempt in Chromium: the recording plays and seeks, a timeline
marker jumps to its flag, the flag is confirmed with a note and the attempt gets a decision;
the database and the audit log have both."""

from __future__ import annotations

import hashlib
import io
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import av
import httpx
import numpy as np
import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from sqlalchemy import select

from openproctor.db import utcnow
from openproctor.domains.attention.models import AttentionSample
from openproctor.domains.audit.models import AuditEntry
from openproctor.domains.exams.policy import Severity, ViolationKind
from openproctor.domains.messages import service as messages
from openproctor.domains.messages.models import MessageKind, Sender
from openproctor.domains.objects.models import ObjectPurpose, StoredObject
from openproctor.domains.sessions import identity_gaps
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import Decision, ExamSession, SessionState
from openproctor.domains.users.models import Role
from openproctor.domains.violations.models import ReviewStatus, Violation
from openproctor.settings import Settings
from openproctor.storage import store_from_settings
from tests.conftest import Factory
from tests.web.test_recording import sign_in, wait_until

pytestmark = pytest.mark.browser

FIXTURES = Path(__file__).parent.parent / "fixtures"
SECONDS = 12
FLAG_AT_S = 6.0
MESSAGE_AT_S = 9.0
SCREEN_LATER_S = 2


def wait_for_metadata(page: Page) -> None:
    """Polled from the test: the page's policy (no eval) refuses Playwright's in-page polling."""
    video = page.get_by_test_id("video-webcam")
    wait_until(lambda: video.evaluate("video => video.readyState") >= 1, 15, "the video's metadata")


def webm(seconds: float, fps: int = 10) -> bytes:
    """A live-style WebM (no cues), as MediaRecorder writes it: a brightening grey picture."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="webm", options={"live": "1"}) as output:
        stream = output.add_stream("libvpx", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for i in range(round(seconds * fps)):
            pixels = np.full((240, 320, 3), (i * 2) % 255, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return buffer.getvalue()


def recorded_session(factory: Factory, settings: Settings, live_server: str) -> ExamSession:
    """A submitted attempt with one flag (with evidence) 6 s and a candidate's message 9 s into
    an assembled recording."""
    exam = factory.exam()
    candidate = factory.candidate(exam, name="Grace")
    session = sessions.current_for_candidate(db=factory.db, candidate=candidate)
    for state in (SessionState.CHECKING, SessionState.ENROLLED, SessionState.RUNNING):
        sessions.move(session, state)
    factory.db.commit()
    started = utcnow() - timedelta(seconds=60)

    # The webcam and, 2 s later, the screen, through the candidate's API: two chunks of one
    # run each, then "complete" once the attempt is over.
    base = f"{live_server}/api/v1/take/{candidate.invite_token}/sessions/{session.id}/recordings"
    with httpx.Client() as client:
        csrf = client.get(f"{live_server}/api/v1/auth/csrf").json()["csrf_token"]
        for kind, delay_s in (("webcam", 0), ("screen", SCREEN_LATER_S)):
            data = webm(SECONDS - delay_s)
            half = len(data) // 2
            started_ms = (started + timedelta(seconds=delay_s)).timestamp() * 1000
            for index, body in enumerate((data[:half], data[half:])):
                answer = client.put(
                    f"{base}/{kind}/chunks/{index}",
                    content=body,
                    headers={
                        "X-CSRF-Token": csrf,
                        "Content-Type": "video/webm;codecs=vp8",
                        "X-Chunk-SHA256": hashlib.sha256(body).hexdigest(),
                        "X-Recording-Part": "0",
                        "X-Chunk-Started-Ms": str(started_ms),
                    },
                )
                assert answer.status_code == 201, answer.text
        sessions.move(session, SessionState.SUBMITTED)
        factory.db.commit()
        for kind, delay_s in (("webcam", 0), ("screen", SCREEN_LATER_S)):
            answer = client.post(
                f"{base}/{kind}/complete",
                json={"chunks": 2, "recorded_s": SECONDS - delay_s},
                headers={"X-CSRF-Token": csrf},
            )
            assert answer.status_code == 200, answer.text

    message = messages.write(
        db=factory.db,
        session_id=session.id,
        sender=Sender.CANDIDATE,
        kind=MessageKind.MESSAGE,
        body="Is the calculator allowed?",
    )
    message.created_at = started + timedelta(seconds=MESSAGE_AT_S)
    # The flag and its evidence, as the live loop stores them.
    violation = phone_flag(session.id, started + timedelta(seconds=FLAG_AT_S), 2)
    factory.db.add(violation)
    factory.db.flush()
    jpeg = (FIXTURES / "pai_webcam_center.jpg").read_bytes()
    blob = store_from_settings(settings).put(
        f"sessions/{session.id}/evidence/{violation.id}.jpg", jpeg, "image/jpeg"
    )
    factory.db.add(
        StoredObject(
            purpose=ObjectPurpose.EVIDENCE,
            storage_key=blob.key,
            content_type=blob.content_type,
            size_bytes=blob.size_bytes,
            sha256=blob.sha256,
            session_id=session.id,
            violation_id=violation.id,
        )
    )
    session.risk_score = 25
    factory.db.commit()
    return session


def video_time(page: Page, kind: str = "webcam") -> float:
    script = f"document.querySelector('[data-testid=video-{kind}]').currentTime"
    return float(page.evaluate(script))


def phone_flag(session_id: uuid.UUID, started_at: datetime, seconds: float) -> Violation:
    """A phone flag as the live loop stores it."""
    return Violation(
        id=uuid.uuid4(),
        session_id=session_id,
        kind=ViolationKind.PROHIBITED_OBJECT,
        label="cell phone",
        severity=Severity.HIGH,
        started_at=started_at,
        ended_at=started_at + timedelta(seconds=seconds),
        score=25,
    )


def test_a_reviewer_plays_the_recording_confirms_a_flag_and_decides(
    browser: Browser, live_server: str, factory: Factory, settings: Settings, tmp_path: Path
) -> None:
    session = recorded_session(factory, settings, live_server)
    reviewer = factory.user(Role.REVIEWER)
    context = browser.new_context(base_url=live_server, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    sign_in(page, reviewer)

    def ready() -> bool:
        listing = page.request.get(f"/api/v1/sessions/{session.id}/recordings").json()
        return len(listing) == 2 and all(r["ready"] for r in listing)

    wait_until(ready, 30, "the recordings to be assembled")

    page.goto(f"/review/exams/{session.exam_id}")
    row = page.get_by_test_id("review-row")
    expect(row).to_contain_text("Grace")
    expect(row).to_contain_text("1 pending")
    expect(page.get_by_test_id("export-csv")).to_have_attribute(
        "href", f"/api/v1/exams/{session.exam_id}/report.csv"
    )
    page.screenshot(path=str(tmp_path / "review-exam.png"))
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server}/review/sessions/{session.id}")

    wait_for_metadata(page)
    expect(page.get_by_test_id("clock")).to_contain_text(f"/ 0:{SECONDS}")
    page.get_by_test_id("play").click()
    wait_until(lambda: video_time(page) > 3.5, 10, "the video to play")
    assert video_time(page, "screen") > 0.5  # both play, on one transport
    page.get_by_test_id("play").click()  # pause
    expect(page.get_by_test_id("play")).to_have_attribute("data-playing", "no")

    page.get_by_test_id("timeline").click(position={"x": 5, "y": 10})  # near the start
    wait_until(lambda: video_time(page) < 1, 5, "the seek to the start")
    page.get_by_test_id("marker").click()
    wait_until(lambda: abs(video_time(page) - (FLAG_AT_S - 3)) < 0.3, 5, "the seek to the flag")
    # The screen started later: it shows the same moment, from its own start.
    assert abs(video_time(page, "screen") - (FLAG_AT_S - 3 - SCREEN_LATER_S)) < 0.3

    # A message of the conversation plays from a little before it was written, too.
    said = page.get_by_test_id("conversation").locator("li", has_text="calculator allowed")
    said.get_by_role("button").click()
    wait_until(
        lambda: abs(video_time(page) - (MESSAGE_AT_S - 3)) < 0.3, 5, "the seek to the message"
    )

    flag = page.get_by_test_id("flag")
    expect(flag).to_have_class("flag selected")
    page.get_by_test_id("evidence-thumb").click()
    expect(page.get_by_test_id("enlarge")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("enlarge")).to_be_hidden()

    page.screenshot(path=str(tmp_path / "review-session.png"))
    flag.get_by_test_id("flag-note").fill("Phone visible in the left hand.")
    page.keyboard.press("Escape")  # leaves the note; keys act on the page again
    page.keyboard.press("c")
    expect(flag).to_have_attribute("data-status", "confirmed")
    expect(page.get_by_test_id("flag-counts")).to_have_text("0 pending · 1 confirmed · 0 dismissed")

    page.get_by_test_id("decision-note").fill("Used a phone during the exam.")
    page.get_by_test_id("decide-cheating").click()
    expect(page.get_by_test_id("current-decision")).to_contain_text("cheating")
    page.screenshot(path=str(tmp_path / "review.png"), full_page=True)

    factory.db.expire_all()
    violation = factory.db.scalar(select(Violation).where(Violation.session_id == session.id))
    assert violation is not None
    assert violation.review_status is ReviewStatus.CONFIRMED
    assert violation.review_note == "Phone visible in the left hand."
    assert violation.reviewed_by_id == reviewer.id
    decided = factory.db.get(ExamSession, session.id)
    assert decided is not None
    assert decided.decision is Decision.CHEATING
    assert decided.decision_note == "Used a phone during the exam."
    entries = factory.db.scalars(
        select(AuditEntry).where(AuditEntry.actor_id == reviewer.id).order_by(AuditEntry.created_at)
    ).all()
    actions = [(e.action, e.target_id) for e in entries]
    assert ("violation.review", str(violation.id)) in actions
    assert ("session.decision", str(session.id)) in actions


def test_the_review_page_is_for_reviewers_and_says_what_is_missing(
    browser: Browser, live_server: str, factory: Factory
) -> None:
    exam = factory.exam()
    session = sessions.current_for_candidate(db=factory.db, candidate=factory.candidate(exam))
    factory.db.commit()
    proctor = browser.new_context(base_url=live_server).new_page()
    sign_in(proctor, factory.user(Role.PROCTOR))
    answer = proctor.goto(f"/review/sessions/{session.id}")
    assert answer is not None
    assert answer.status == 403

    reviewer = browser.new_context(base_url=live_server).new_page()
    sign_in(reviewer, factory.user(Role.REVIEWER))
    answer = reviewer.goto(f"/review/sessions/{uuid.uuid4()}")
    assert answer is not None
    assert answer.status == 404
    reviewer.goto(f"/review/sessions/{session.id}")
    expect(reviewer.locator(".players")).to_contain_text("No recording for this attempt.")
    expect(reviewer.get_by_test_id("flags")).to_contain_text("No flags for this attempt.")


def test_a_flag_whose_evidence_could_not_be_stored_says_why(
    browser: Browser, live_server: str, factory: Factory
) -> None:
    exam = factory.exam()
    session = sessions.current_for_candidate(db=factory.db, candidate=factory.candidate(exam))
    flag = phone_flag(session.id, utcnow(), 3)
    flag.evidence_error = "no space left to store 'sessions/x/evidence/y.jpg' in /srv/storage"
    factory.db.add(flag)
    factory.db.commit()
    reviewer = browser.new_context(base_url=live_server).new_page()
    sign_in(reviewer, factory.user(Role.REVIEWER))
    reviewer.goto(f"/review/sessions/{session.id}")
    expect(reviewer.get_by_test_id("evidence-error")).to_have_text(
        "Evidence could not be stored: no space left to store 'sessions/x/evidence/y.jpg' in "
        "/srv/storage"
    )
    expect(reviewer.get_by_test_id("flag").locator(".flag-evidence")).to_have_text(
        "image not stored"
    )


def test_a_flag_after_a_reload_plays_where_it_was_recorded(
    browser: Browser, live_server: str, factory: Factory
) -> None:
    """A webcam recording of two runs, 6 s each, with a reload between them: the second run
    began 16 s into the attempt but is 6 s into the file. Its flag plays from the right frame,
    a flag from the break plays from where recording resumed, and the clock keeps the
    attempt's time."""
    exam = factory.exam()
    candidate = factory.candidate(exam, name="Ada")
    session = sessions.current_for_candidate(db=factory.db, candidate=candidate)
    for state in (SessionState.CHECKING, SessionState.ENROLLED, SessionState.RUNNING):
        sessions.move(session, state)
    factory.db.commit()
    started = utcnow() - timedelta(seconds=60)
    runs = [(0, started), (2, started + timedelta(seconds=16))]  # (part, its start)

    base = f"{live_server}/api/v1/take/{candidate.invite_token}/sessions/{session.id}/recordings"
    with httpx.Client() as client:
        csrf = client.get(f"{live_server}/api/v1/auth/csrf").json()["csrf_token"]
        for part, run_started in runs:
            data = webm(6)
            half = len(data) // 2
            for index, body in enumerate((data[:half], data[half:]), start=part):
                answer = client.put(
                    f"{base}/webcam/chunks/{index}",
                    content=body,
                    headers={
                        "X-CSRF-Token": csrf,
                        "Content-Type": "video/webm;codecs=vp8",
                        "X-Chunk-SHA256": hashlib.sha256(body).hexdigest(),
                        "X-Recording-Part": str(part),
                        "X-Chunk-Started-Ms": str(run_started.timestamp() * 1000),
                    },
                )
                assert answer.status_code == 201, answer.text
        sessions.move(session, SessionState.SUBMITTED)
        factory.db.commit()
        answer = client.post(
            f"{base}/webcam/complete",
            json={"chunks": 4, "recorded_s": 12},
            headers={"X-CSRF-Token": csrf},
        )
        assert answer.status_code == 200, answer.text

    def flag(at_s: float) -> Violation:
        violation = phone_flag(session.id, started + timedelta(seconds=at_s), 1)
        factory.db.add(violation)
        return violation

    after_reload, in_break = flag(20.0), flag(11.0)  # played from 3 s before: 17 s and 8 s
    factory.db.commit()

    page = browser.new_context(base_url=live_server).new_page()
    sign_in(page, factory.user(Role.REVIEWER))

    def assembled() -> dict[str, Any] | None:
        listing = page.request.get(f"/api/v1/sessions/{session.id}/recordings").json()
        return listing[0] if listing and listing[0]["ready"] else None

    webcam = wait_until(assembled, 30, "the recording to be assembled")
    resumed_at = webcam["parts"][1]["offset_s"]  # where the second run begins in the file
    assert resumed_at == pytest.approx(6.0, abs=0.15)

    page.goto(f"/review/sessions/{session.id}")
    wait_for_metadata(page)
    clock = page.get_by_test_id("clock")
    expect(clock).to_contain_text("/ 0:22")  # the attempt's time: 6 s, a 10 s break, 6 s
    expect(page.locator(".sync-note")).to_contain_text("stopped and resumed once")

    def marker(violation: Violation) -> Locator:
        return page.locator(f'[data-testid=marker][data-violation-id="{violation.id}"]')

    # The playhead is in the attempt's seconds (the clock shows them, floored).
    playhead = page.get_by_test_id("timeline")
    marker(after_reload).click()
    wait_until(
        lambda: abs(video_time(page) - (resumed_at + 1)) < 0.3, 5, "the seek past the reload"
    )
    expect(playhead).to_have_attribute("aria-valuenow", "17")
    marker(in_break).click()
    wait_until(lambda: abs(video_time(page) - resumed_at) < 0.3, 5, "the seek to the resumption")
    expect(playhead).to_have_attribute("aria-valuenow", "16")


def test_the_review_page_shows_the_conversation_both_ways(
    browser: Browser, live_server: str, factory: Factory
) -> None:
    exam = factory.exam()
    session = sessions.current_for_candidate(db=factory.db, candidate=factory.candidate(exam))
    for sender, kind, body in (
        (Sender.CANDIDATE, MessageKind.HAND_RAISED, "Raised their hand"),
        (Sender.CANDIDATE, MessageKind.MESSAGE, "Can I go to the bathroom?"),
        (Sender.PROCTOR, MessageKind.MESSAGE, "Yes, the timer keeps running."),
        (Sender.PROCTOR, MessageKind.BROADCAST, "Five minutes left."),
    ):
        messages.write(db=factory.db, session_id=session.id, sender=sender, kind=kind, body=body)
    factory.db.commit()
    reviewer = browser.new_context(base_url=live_server).new_page()
    sign_in(reviewer, factory.user(Role.REVIEWER))
    reviewer.goto(f"/review/sessions/{session.id}")
    items = reviewer.get_by_test_id("conversation").locator("li")
    expect(items).to_have_count(4)
    expect(items.nth(0)).to_contain_text("Candidate raised their hand")
    expect(items.nth(1)).to_contain_text("Message from the candidate")
    expect(items.nth(1)).to_contain_text("Can I go to the bathroom?")
    expect(items.nth(2)).to_contain_text("Message from the proctor")
    expect(items.nth(2)).to_contain_text("Yes, the timer keeps running.")
    expect(items.nth(3)).to_contain_text("Message to everyone")


def test_the_attention_lane_shows_the_recorded_score_and_sums_it_up(
    browser: Browser, live_server: str, factory: Factory
) -> None:
    exam = factory.exam()
    session = sessions.current_for_candidate(db=factory.db, candidate=factory.candidate(exam))
    start = utcnow() - timedelta(minutes=5)
    samples = [(90, "focused"), (80, "focused"), (0, "away"), (50, "distracted")]
    for index, (score, label) in enumerate(samples):
        at = start + timedelta(seconds=5 * index)
        factory.db.add(AttentionSample(session_id=session.id, at=at, score=score, label=label))
    factory.db.commit()
    reviewer = browser.new_context(base_url=live_server).new_page()
    sign_in(reviewer, factory.user(Role.REVIEWER))
    reviewer.goto(f"/review/sessions/{session.id}")
    bars = reviewer.get_by_test_id("attention-sample")
    expect(bars).to_have_count(4)
    expect(bars.nth(2)).to_have_attribute("data-label", "away")
    expect(bars.nth(0)).to_have_attribute("data-score", "90")
    # Without a recording the lane spans the samples: the third starts half way.
    lane = reviewer.get_by_test_id("attention-lane").bounding_box()
    third = bars.nth(2).bounding_box()
    assert lane is not None
    assert third is not None
    assert abs(third["x"] - lane["x"] - lane["width"] / 2) < 2
    expect(reviewer.get_by_test_id("attention-summary")).to_have_text(
        "Focused 50% · distracted 25% · away 25% of the time; average attention 55"
    )


def test_an_attempt_without_attention_samples_has_no_lane(
    browser: Browser, live_server: str, factory: Factory
) -> None:
    exam = factory.exam()
    session = sessions.current_for_candidate(db=factory.db, candidate=factory.candidate(exam))
    factory.db.commit()
    reviewer = browser.new_context(base_url=live_server).new_page()
    sign_in(reviewer, factory.user(Role.REVIEWER))
    reviewer.goto(f"/review/sessions/{session.id}")
    expect(reviewer.get_by_test_id("flags")).to_contain_text("No flags for this attempt.")
    expect(reviewer.get_by_test_id("attention")).to_be_hidden()
    expect(reviewer.get_by_test_id("identity-gaps")).to_have_count(0)  # checked all along


def test_the_review_page_says_when_identity_was_not_checked(
    browser: Browser, live_server: str, factory: Factory, settings: Settings
) -> None:
    session = recorded_session(factory, settings, live_server)
    flag = factory.db.scalars(select(Violation).where(Violation.session_id == session.id)).one()
    recording_start = flag.started_at - timedelta(seconds=FLAG_AT_S)
    # Off from 3 s to 9 s into the recording: a quarter in, half the timeline long.
    reason = "identity checks off: the enrolment photo could not be embedded again"
    entry = identity_gaps.record_off(db=factory.db, session_id=session.id, reason=reason)
    entry.created_at = recording_start + timedelta(seconds=3)
    entry = identity_gaps.record_on(db=factory.db, session_id=session.id, seconds=6)
    entry.created_at = recording_start + timedelta(seconds=9)
    factory.db.commit()
    page = browser.new_context(base_url=live_server).new_page()
    sign_in(page, factory.user(Role.REVIEWER))

    def ready() -> bool:
        listing = page.request.get(f"/api/v1/sessions/{session.id}/recordings").json()
        return len(listing) == 2 and all(r["ready"] for r in listing)

    wait_until(ready, 30, "the recordings to be assembled")
    page.goto(f"/review/sessions/{session.id}")
    [gap] = identity_gaps.gaps(db=factory.db, session=session)
    expect(page.get_by_test_id("identity-gaps")).to_contain_text(gap.describe(ZoneInfo("UTC")))
    wait_for_metadata(page)
    band = page.get_by_test_id("identity-gap").bounding_box()
    bar = page.get_by_test_id("timeline").bounding_box()
    assert band is not None
    assert bar is not None
    assert abs(band["x"] - bar["x"] - bar["width"] * 3 / SECONDS) < 3
    assert abs(band["width"] - bar["width"] * 6 / SECONDS) < 3
