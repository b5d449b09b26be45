"""Frame outcomes, browser signals and audio as the rule engine's conditions: no database."""

from __future__ import annotations

import struct
from dataclasses import replace

import pytest

from openproctor.detectors.detections import Detections
from openproctor.domains.exams.policy import IDENTITY_CHECKS, ExamPolicy, ViolationKind
from openproctor.live.protocol import Signal
from openproctor.pipeline.gates import Gate
from openproctor.pipeline.jobs import FrameOutcome
from openproctor.rules.conditions import (
    BrowserSignals,
    Link,
    frame_conditions,
    loudness,
    prohibited_in_view,
    signal_conditions,
    speech_conditions,
)
from openproctor.rules.engine import Condition, EventType, SessionRules

K = ViolationKind
BOX = (0.0, 0.0, 10.0, 10.0)
ANALYSED = FrameOutcome("s", 1, 0.0, Gate.ANALYSED, face_boxes=(BOX,))
FACE_PASS = {
    K.NO_FACE,
    K.MULTIPLE_FACES,
    K.LOOKING_AWAY,
    K.EYES_CLOSED,
    K.CAMERA_COVERED,
    K.FROZEN_VIDEO,
}


def kinds(conditions: list[Condition]) -> list[tuple[str, str | None]]:
    return [(c.kind.value, c.label) for c in conditions]


def test_a_plain_frame_decides_the_face_kinds_only() -> None:
    conditions, evaluated = frame_conditions(ANALYSED, ["cell phone"])
    assert conditions == []
    assert evaluated == FACE_PASS


@pytest.mark.parametrize(
    ("flag", "kind"),
    [
        ("no_face", "no_face"),
        ("looking_away", "looking_away"),
        ("eyes_closed", "eyes_closed"),
        ("identity_mismatch", "identity_mismatch"),
    ],
)
def test_face_and_identity_flags_raise_their_kind(flag: str, kind: str) -> None:
    outcome = replace(ANALYSED, flags=(flag,), identity_distance=0.9, identity_ran=True)
    conditions, _ = frame_conditions(outcome, [])
    assert kinds(conditions) == [(kind, None)]
    assert conditions[0].details["faces"] == 1


def test_the_worker_object_and_speech_flags_are_not_taken() -> None:
    # The exam's own list decides objects (below); speech comes with the audio.
    outcome = replace(ANALYSED, flags=("prohibited_object", "extra_person", "speech", "odd"))
    assert frame_conditions(outcome, ["cell phone"])[0] == []


def test_identity_holds_and_closes_only_when_it_ran() -> None:
    mismatch = replace(ANALYSED, flags=("identity_mismatch",), identity_distance=0.8)
    # An unchanged frame repeats the last check's flags: neither a condition nor evaluated.
    assert frame_conditions(mismatch, []) == ([], FACE_PASS)
    conditions, evaluated = frame_conditions(replace(mismatch, identity_ran=True), [])
    assert K.IDENTITY_MISMATCH in evaluated
    assert conditions[0].details["distance"] == 0.8


def test_objects_follow_the_exam_list_best_score_per_label() -> None:
    found = Detections.of(
        [BOX] * 5,
        [0.61, 0.8123, 0.9, 0.9, 0.7],
        ["cell phone", "cell phone", "cup", "person", "person"],
    )
    # Two persons (faces and bodies counted by the worker), whatever the person boxes say.
    outcome = replace(ANALYSED, objects=found, persons=2, objects_ran=True)
    conditions, evaluated = frame_conditions(outcome, ["cell phone", "book"])
    assert kinds(conditions) == [("prohibited_object", "cell phone"), ("extra_person", None)]
    assert conditions[0].details == {"score": 0.812}
    assert conditions[1].details == {"persons": 2, "faces": 1, "detections": ["persons"]}
    assert {K.PROHIBITED_OBJECT, K.EXTRA_PERSON} <= evaluated
    alone = replace(outcome, persons=1)
    assert kinds(frame_conditions(alone, ["cell phone"])[0]) == [
        ("prohibited_object", "cell phone")
    ]
    # Without an object pass the same boxes (repeated from an earlier frame) decide nothing.
    conditions, evaluated = frame_conditions(replace(outcome, objects_ran=False), ["cell phone"])
    assert conditions == []
    assert K.PROHIBITED_OBJECT not in evaluated


def test_a_covered_camera_decides_only_covered_and_frozen() -> None:
    covered = replace(ANALYSED, gate=Gate.COVERED, flags=("no_face",), frozen=True)
    conditions, evaluated = frame_conditions(covered, [])
    assert kinds(conditions) == [("camera_covered", None)]
    assert evaluated == {K.CAMERA_COVERED, K.FROZEN_VIDEO}
    conditions, _ = frame_conditions(replace(ANALYSED, frozen=True), [])
    assert kinds(conditions) == [("frozen_video", None)]


NOW = 1000.0
GRACE_S = 5.0
HERE = Link(connected=True, since=NOW - 60, last_frame_at=NOW - 1)


def held(
    signals: BrowserSignals, policy: ExamPolicy | None = None, link: Link = HERE
) -> list[tuple[str, str | None]]:
    return kinds(
        signal_conditions(signals, policy or ExamPolicy(), link, now=NOW, fps=1.0, grace_s=GRACE_S)
    )


def test_the_tab_and_the_window_are_one_condition_with_both_detections() -> None:
    signals = BrowserSignals()
    assert held(signals) == []
    for signal in (Signal.TAB_HIDDEN, Signal.WINDOW_BLUR, Signal.FULLSCREEN_EXIT):
        assert signals.heard(signal, None) is None
    conditions = signal_conditions(signals, ExamPolicy(), HERE, now=NOW, fps=1.0, grace_s=GRACE_S)
    assert kinds(conditions) == [("tab_switch", None), ("fullscreen_exit", None)]
    assert conditions[0].details == {"detections": ["tab", "window"]}
    for signal in (Signal.TAB_VISIBLE, Signal.WINDOW_FOCUS, Signal.FULLSCREEN_ENTER):
        signals.heard(signal, None)
    assert held(signals) == []
    # A blur alone (another window, an assistive tool) is still leaving the exam page.
    signals.heard(Signal.WINDOW_BLUR, None)
    alone = signal_conditions(signals, ExamPolicy(), HERE, now=NOW, fps=1.0, grace_s=GRACE_S)
    assert kinds(alone) == [("tab_switch", None)]
    assert alone[0].details == {"detections": ["window"]}


def test_devices_screens_and_the_connection() -> None:
    signals = BrowserSignals()
    signals.heard(Signal.SCREENS, 2)
    signals.heard(Signal.CAMERA_ENDED, None)
    signals.heard(Signal.MICROPHONE_ENDED, None)
    signals.heard(Signal.SCREEN_SHARE_STOPPED, None)
    recorded = ExamPolicy(record_screen=True)
    network = Link(connected=False, since=NOW - 1, page_closed=False, last_frame_at=NOW - 2)
    assert held(signals, recorded, network) == [
        ("multiple_screens", None),
        ("camera_off", "camera"),
        ("camera_off", "microphone"),
        ("screen_share_stopped", None),
        ("connection_lost", None),
    ]
    signals.heard(Signal.SCREENS, 1)
    signals.heard(Signal.CAMERA_RESTORED, None)  # the page has its camera and microphone
    signals.heard(Signal.SCREEN_SHARE_STARTED, None)
    assert held(signals, recorded) == []


def test_a_page_gone_within_the_grace_holds_nothing_and_beyond_it_left_when_it_went() -> None:
    def gone(for_s: float) -> list[Condition]:
        link = Link(connected=False, since=NOW - for_s, page_closed=True, last_frame_at=NOW - 9)
        return signal_conditions(
            BrowserSignals(), ExamPolicy(), link, now=NOW, fps=1.0, grace_s=GRACE_S
        )

    assert gone(GRACE_S - 0.1) == []  # a reload: not a lost connection either
    away = gone(GRACE_S + 0.1)
    assert kinds(away) == [("tab_switch", None), ("camera_off", "camera")]
    assert [(c.details, c.since) for c in away] == [({"detections": ["page"]}, NOW - 5.1)] * 2


def test_the_camera_stalls_after_five_seconds_or_three_frame_intervals() -> None:
    def stalled(now: float, *, fps: float = 1.0, since: float = 0.0) -> bool:
        return Link(connected=True, since=since, last_frame_at=100.0).camera_stalled(now, fps)

    assert not stalled(104.9)
    assert stalled(105.1)
    assert not stalled(105.1, fps=0.5)  # 6 s at 0.5 fps
    # A page that (re)connected has the time to send its first frame again.
    assert not stalled(110.0, since=106.0)
    assert stalled(111.1, since=106.0)
    assert not Link(connected=True, since=0.0).camera_stalled(500.0, 1.0)  # no frame yet
    assert not Link(connected=False, since=0.0, last_frame_at=1.0).camera_stalled(500.0, 1.0)


def test_what_the_policy_does_not_ask_for_raises_nothing() -> None:
    signals = BrowserSignals()
    signals.heard(Signal.FULLSCREEN_EXIT, None)
    signals.heard(Signal.SCREEN_SHARE_STOPPED, None)
    signals.heard(Signal.SCREENS, True)  # not a count
    relaxed = ExamPolicy(require_fullscreen=False, record_screen=False)
    assert held(signals, relaxed) == []


def test_copy_cut_and_paste_are_pulses() -> None:
    signals = BrowserSignals()
    pulses = [signals.heard(s, None) for s in (Signal.COPY, Signal.CUT, Signal.PASTE)]
    assert [(p.kind, p.label) for p in pulses if p] == [
        (K.COPY_PASTE, "copy"),
        (K.COPY_PASTE, "cut"),
        (K.COPY_PASTE, "paste"),
    ]
    assert held(signals) == []


def test_loudness_and_speech() -> None:
    silence = struct.pack("<4h", 0, 0, 0, 0)
    loud = struct.pack("<4h", 16384, -16384, 16384, -16384)
    assert loudness(silence) == 0.0
    assert loudness(loud) == pytest.approx(0.5)
    assert loudness(loud + b"\x01") == pytest.approx(0.5)  # an odd trailing byte is dropped
    assert loudness(b"") == 0.0
    assert kinds(speech_conditions(0.7, 0.5)) == [("speech", None)]
    assert speech_conditions(0.4, 0.5) == []


def _identity_run(
    distances: list[float | None], policy: ExamPolicy, *, interval_s: float = 30.0
) -> list[float]:
    """Feeds an identity check every interval_s (None: a passing one) with a still frame each
    second in between that repeats the last check's flags; returns when mismatches opened."""
    rules = SessionRules(policy)
    opened = []
    last = ANALYSED
    for i, distance in enumerate(distances):
        failed = distance is not None
        last = replace(
            ANALYSED,
            flags=("identity_mismatch",) if failed else (),
            identity_distance=distance if failed else 0.3,
            identity_ran=True,
        )
        for second in range(int(interval_s)):
            outcome = last if second == 0 else replace(last, identity_ran=False)
            conditions, evaluated = frame_conditions(outcome, [])
            events = rules.observe(i * interval_s + second, conditions, evaluated).events
            opened += [e.started_at for e in events if e.type is EventType.OPENED]
    return opened


def test_identity_mismatch_opens_only_after_consecutive_failed_checks() -> None:
    policy = ExamPolicy()
    assert policy.rules[K.IDENTITY_MISMATCH].min_checks == IDENTITY_CHECKS == 3
    # One failed check on a still picture: its repeated flags do not pass the 5-s debounce.
    assert _identity_run([0.8, None, None], policy) == []
    # Two failed, a pass, two failed: never three in a row.
    assert _identity_run([0.8, 0.7, None, 0.8, 0.9, None], policy) == []
    # The third failure in a row opens it, dated from the first.
    assert _identity_run([None, 0.8, 0.7, 0.9], policy) == [30.0]
    # With checks every second, the time debounce still asks for 5 s.
    fast = _identity_run([0.8] * 8, policy, interval_s=1.0)
    assert fast == [0.0]


def test_prohibited_in_view_only_for_what_the_object_pass_decides() -> None:
    phone = Detections.of([[0, 0, 5, 5]], [0.6], ["cell phone"])
    seen = replace(ANALYSED, objects=phone, objects_ran=True, flags=("looking_away",))
    assert prohibited_in_view(frame_conditions(seen, ["cell phone"])[0])
    # The same phone is not on this exam's list; a face-pass condition does not count.
    assert not prohibited_in_view(frame_conditions(seen, ["book"])[0])
    assert prohibited_in_view(frame_conditions(replace(seen, persons=2), [])[0])
    two = replace(ANALYSED, face_boxes=(BOX, BOX), persons=2, flags=("multiple_faces",))
    assert not prohibited_in_view(frame_conditions(two, [])[0])  # no object pass: faces only
    assert prohibited_in_view(frame_conditions(replace(two, objects_ran=True), [])[0])


def test_two_faces_and_two_persons_are_one_condition() -> None:
    two = replace(ANALYSED, face_boxes=(BOX, BOX), persons=2, flags=("multiple_faces",))
    conditions, evaluated = frame_conditions(two, [])
    assert kinds(conditions) == [("multiple_faces", None)]
    assert conditions[0].details == {"faces": 2, "detections": ["faces"]}
    conditions, evaluated = frame_conditions(replace(two, objects_ran=True), [])
    assert kinds(conditions) == [("multiple_faces", None)]
    assert conditions[0].details == {"faces": 2, "persons": 2, "detections": ["faces", "persons"]}
    assert K.EXTRA_PERSON in evaluated  # decided: absent, so an open one closes
    # A second person only the bodies see (the face turned away) is extra_person.
    turned = replace(ANALYSED, persons=2, objects_ran=True)
    assert kinds(frame_conditions(turned, [])[0]) == [("extra_person", None)]


def test_a_second_person_seen_by_faces_and_persons_opens_one_violation_counted_once() -> None:
    """Two people at 1 frame/s, an object pass every 5 s: one violation, both detections,
    risk counted once (before the merge: multiple_faces and extra_person, risk 43.75)."""
    rules = SessionRules(ExamPolicy())
    two = replace(ANALYSED, face_boxes=(BOX, BOX), persons=2, flags=("multiple_faces",))
    events = []
    for second in range(20):
        outcome = replace(two, objects_ran=second % 5 == 0)
        events += rules.observe(float(second), *frame_conditions(outcome, [])).events
    events += rules.close_all(20.0).events
    assert [(e.type.value, e.kind.value) for e in events] == [
        ("opened", "multiple_faces"),
        ("closed", "multiple_faces"),
    ]
    assert events[1].details["detections"] == ["faces", "persons"]
    assert rules.risk_score == ExamPolicy().rules[K.MULTIPLE_FACES].weight == 25


def test_a_second_person_keeps_the_kind_of_the_violation_open_for_them() -> None:
    """Seen from behind first (bodies only), then facing the camera; then a frame whose face
    pass misses them while the object pass still counts two: one violation all along."""
    rules = SessionRules(ExamPolicy())
    behind = replace(ANALYSED, persons=2, objects_ran=True)
    facing = replace(ANALYSED, face_boxes=(BOX, BOX), persons=2, flags=("multiple_faces",))
    frames = [behind] * 3 + [facing, replace(facing, objects_ran=True)] * 3 + [behind] * 2
    events = []
    for second, outcome in enumerate(frames):
        open_kinds = {kind for kind, _ in rules.open_kinds()}
        held, evaluated = frame_conditions(outcome, [], open_kinds=open_kinds)
        events += rules.observe(float(second), held, evaluated).events
    events += rules.close_all(float(len(frames))).events
    assert [(e.type.value, e.kind.value) for e in events] == [
        ("opened", "extra_person"),
        ("closed", "extra_person"),
    ]
    assert events[1].details["detections"] == ["faces", "persons"]
    assert rules.risk_score == 25
