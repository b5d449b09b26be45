"""The live messages' builders and the vocabulary the pages read."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from openproctor.domains.exams.policy import KIND_LABELS, PROMPT_TEXTS, ExamPolicy, ViolationKind
from openproctor.domains.sessions.clock import Clock
from openproctor.domains.sessions.models import SessionState
from openproctor.live import messages
from openproctor.live.runtime import CandidateSummary
from openproctor.rules.prompts import PromptChange


def test_every_kind_has_a_label_and_the_pages_get_the_final_states() -> None:
    assert set(KIND_LABELS) == set(ViolationKind)
    assert len(set(KIND_LABELS.values())) == len(KIND_LABELS)  # no two kinds read the same
    assert messages.VOCABULARY["final_states"] == ["expired", "submitted", "terminated"]
    assert messages.VOCABULARY["kinds"]["tab_switch"] == "Left the tab"


def test_hello_carries_the_prompts_showing_now() -> None:
    prompt = messages.prompt(PromptChange(ViolationKind.SPEECH, True, 10.0))
    assert prompt == {
        "type": "prompt",
        "kind": "speech",
        "text": PROMPT_TEXTS[ViolationKind.SPEECH],
        "shown": True,
    }
    hello = messages.hello(
        session_id=uuid.uuid4(),
        state=SessionState.RUNNING,
        fps=1.0,
        policy=ExamPolicy(),
        clock=None,
        history=[],
        prompts=[prompt],
    )
    assert hello["prompts"] == [prompt]


def test_hello_gives_the_frame_size_and_the_clock_read_now() -> None:
    session_id = uuid.uuid4()
    start = datetime.now(UTC) - timedelta(minutes=30)
    clock = Clock(
        started_at=start,
        duration=timedelta(hours=1),
        closes_at=start + timedelta(days=1),
        paused=timedelta(0),
        paused_since=start + timedelta(minutes=10),  # paused ever since: 50 minutes left
        extra=timedelta(0),
    )
    hello = messages.hello(
        session_id=session_id,
        state=SessionState.PAUSED,
        fps=1.0,
        policy=ExamPolicy(frame_width=320, frame_height=240),
        clock=clock,
        history=[],
        prompts=[],
    )
    assert (hello["width"], hello["height"]) == (320, 240)
    assert hello["session_id"] == str(session_id)
    assert hello["clock"] is not None
    assert hello["clock"]["paused"] is True
    assert hello["clock"]["left_s"] == pytest.approx(50 * 60)
    no_clock = messages.hello(
        session_id=session_id,
        state=SessionState.ENROLLED,
        fps=1.0,
        policy=ExamPolicy(),
        clock=None,
        history=[],
        prompts=[],
    )
    assert no_clock["clock"] is None


def test_load_is_degraded_below_the_full_rate() -> None:
    assert messages.load(factor=1.0, fps=1.0, deferring=False)["degraded"] is False
    slowed = messages.load(factor=0.48999, fps=0.49, deferring=True)
    assert (slowed["degraded"], slowed["factor"], slowed["deferring"]) == (True, 0.49, True)


def test_a_not_connected_tile_has_no_frames_and_no_open_violations() -> None:
    tile = CandidateSummary(
        candidate_id="c",
        session_id=None,
        name="Ada",
        email="a@x",
        state="invited",
        risk_score=0.0,
        auto_terminate=False,
        stage="invited",
    ).to_json()
    assert tile["connected"] is False
    assert tile["open_violations"] == []
    assert tile["frames"] == {"received": 0, "analysed": 0, "skipped": 0, "rejected": 0}
