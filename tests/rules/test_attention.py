"""The attention score over a window of glances (pure: times are given)."""

from __future__ import annotations

from openproctor.pipeline.jobs import FaceLook
from openproctor.rules.attention import (
    FOCUSED_FROM,
    WINDOW_S,
    Attention,
    AttentionWindow,
    glance,
)

AHEAD = FaceLook(yaw=2.0, pitch=-1.0, gaze_x=0.01, gaze_y=0.0, eyes_open=True)
HEAD_TURNED = FaceLook(yaw=40.0, pitch=0.0, gaze_x=0.0, gaze_y=0.0, eyes_open=True)
EYES_ASIDE = FaceLook(yaw=1.0, pitch=0.0, gaze_x=-0.15, gaze_y=0.0, eyes_open=True)
EYES_SHUT = FaceLook(yaw=0.0, pitch=0.0, gaze_x=0.0, gaze_y=0.0, eyes_open=False)
FPS = 2


def run(window: AttentionWindow, start: float, seconds: float, **seen: object) -> Attention:
    """Feeds `seconds` of frames at FPS from `start`; the score after the last."""
    frames = round(seconds * FPS)
    at = start
    for i in range(frames):
        at = start + i / FPS
        window.add(glance(at, **{"faces": 1, "look": AHEAD, "page_in_front": True, **seen}))  # type: ignore[arg-type]
    score = window.score(at)
    assert score is not None
    return score


def test_looking_at_the_screen_is_focused() -> None:
    assert run(AttentionWindow(), 0, 20) == Attention(100, "focused")


def test_looking_away_lowers_it_and_returning_restores_it() -> None:
    window = AttentionWindow()
    assert run(window, 0, 20).label == "focused"
    away = run(window, 20, 5, look=HEAD_TURNED)
    assert away.score < FOCUSED_FROM
    assert away.label == "distracted"
    back = run(window, 25, 15)
    assert back.label == "focused"
    assert back.score > away.score + 30


def test_eyes_turned_aside_or_shut_count_as_not_looking() -> None:
    assert run(AttentionWindow(), 0, 20, look=EYES_ASIDE) == Attention(0, "distracted")
    assert run(AttentionWindow(), 0, 20, look=EYES_SHUT) == Attention(0, "distracted")


def test_a_small_turn_costs_nothing_and_a_half_turn_half() -> None:
    slight = FaceLook(yaw=-12.0, pitch=10.0, gaze_x=0.05, gaze_y=0.0, eyes_open=True)
    assert run(AttentionWindow(), 0, 20, look=slight).score == 100
    half = FaceLook(yaw=22.5, pitch=0.0, gaze_x=0.0, gaze_y=0.0, eyes_open=True)
    assert run(AttentionWindow(), 0, 20, look=half).score == 50


def test_a_blink_barely_moves_it() -> None:
    window = AttentionWindow()
    run(window, 0, 20)
    window.add(glance(20.0, faces=1, look=EYES_SHUT, page_in_front=True))
    after = run(window, 20.5, 1)
    assert after.label == "focused"
    assert after.score >= 95


def test_no_face_is_away() -> None:
    window = AttentionWindow()
    run(window, 0, 20)
    assert run(window, 20, 7, faces=0, look=None).label == "away"  # within 7 s
    assert run(window, 27, 15, faces=0, look=None) == Attention(0, "away")


def test_a_hidden_exam_page_lowers_it_to_away() -> None:
    window = AttentionWindow()
    run(window, 0, 20)
    hidden = run(window, 20, 8, page_in_front=False)
    assert hidden.score < 50
    assert hidden.label == "away"


def test_a_face_without_a_mesh_counts_as_present() -> None:
    assert run(AttentionWindow(), 0, 10, look=None) == Attention(100, "focused")


def test_nothing_analysed_in_the_window_is_unknown_not_away() -> None:
    window = AttentionWindow()
    assert window.score(0.0) is None
    run(window, 0, 5)
    assert window.score(5 + WINDOW_S) is None


def test_a_late_answer_for_an_older_frame_is_ignored() -> None:
    window = AttentionWindow()
    run(window, 0, 10)
    window.add(glance(3.0, faces=0, look=None, page_in_front=True))
    score = window.score(10.0)
    assert score == Attention(100, "focused")
