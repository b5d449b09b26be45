from __future__ import annotations

import pytest

from openproctor.domains.exams.policy import ExamPolicy, Severity, ViolationKind
from openproctor.rules.engine import QUIET_S, Condition, EventType, SessionRules

K = ViolationKind
FACE_KINDS = {K.NO_FACE, K.MULTIPLE_FACES}


def policy(**rules: dict[str, object]) -> ExamPolicy:
    return ExamPolicy.model_validate({"rules": rules})


def run(
    rules: SessionRules, seconds: range, conditions: list[Condition]
) -> list[tuple[str, float]]:
    events = []
    for t in seconds:
        for event in rules.observe(float(t), conditions, FACE_KINDS).events:
            events.append(
                (
                    event.type.value,
                    event.started_at if event.type is EventType.OPENED else event.ended_at,
                )
            )
    return events


def test_a_condition_opens_only_after_its_debounce() -> None:
    rules = SessionRules(ExamPolicy())  # no_face: 3 s debounce
    two_seconds = run(rules, range(0, 3), [Condition(K.NO_FACE)])
    assert two_seconds == []
    third = rules.observe(3.0, [Condition(K.NO_FACE)], FACE_KINDS)
    assert [(e.type, e.kind, e.started_at, e.severity) for e in third.events] == [
        (EventType.OPENED, K.NO_FACE, 0.0, Severity.MEDIUM)
    ]


def test_brief_flickers_never_open() -> None:
    rules = SessionRules(ExamPolicy())  # no_face: 3 s debounce
    for t in range(30):
        conditions = [Condition(K.NO_FACE)] if t % 4 == 0 else []  # one frame in four
        assert rules.observe(float(t), conditions, FACE_KINDS).events == []
    assert rules.risk_score == 0


def test_short_gaps_do_not_restart_the_debounce() -> None:
    rules = SessionRules(ExamPolicy())
    events = []
    for t in range(6):
        conditions = [Condition(K.NO_FACE)] if t != 2 else []  # one missed frame at 2 s
        events += rules.observe(float(t), conditions, FACE_KINDS).events
    assert [(e.type, e.started_at) for e in events] == [(EventType.OPENED, 0.0)]


def test_one_missed_detection_does_not_split_a_violation() -> None:
    rules = SessionRules(
        policy(
            multiple_faces={"min_duration_s": 0, "cooldown_s": 10, "severity": "high", "weight": 25}
        )
    )
    two = [Condition(K.MULTIPLE_FACES, details={"faces": 2})]
    assert [e.type for e in rules.observe(0.0, two, FACE_KINDS).events] == [EventType.OPENED]
    assert rules.observe(1.0, [], FACE_KINDS).events == []  # gap of 1 s < QUIET_S
    assert rules.observe(2.0, two, FACE_KINDS).events == []
    closed = []
    for t in range(3, 3 + int(QUIET_S) + 1):
        closed += rules.observe(float(t), [], FACE_KINDS).events
    assert [(e.type, e.started_at, e.ended_at, e.details) for e in closed] == [
        (EventType.CLOSED, 0.0, 2.0, {"faces": 2})
    ]


def test_cooldown_keeps_a_pair_from_reopening_at_once() -> None:
    rules = SessionRules(
        policy(
            tab_switch={"min_duration_s": 0, "cooldown_s": 5, "severity": "medium", "weight": 10}
        )
    )
    kinds = {K.TAB_SWITCH}
    hidden = [Condition(K.TAB_SWITCH)]
    assert rules.observe(0.0, hidden, kinds, quiet_s=0).events[0].type is EventType.OPENED
    closed = rules.observe(1.0, [], kinds, quiet_s=0).events  # signals close at once
    assert [(e.type, e.ended_at) for e in closed] == [(EventType.CLOSED, 1.0)]
    assert rules.observe(4.0, hidden, kinds, quiet_s=0).events == []  # cooling down until 6 s
    reopened = rules.observe(6.0, hidden, kinds, quiet_s=0).events
    assert [(e.type, e.started_at) for e in reopened] == [(EventType.OPENED, 6.0)]


def test_labels_are_tracked_separately_and_unevaluated_kinds_stay_open() -> None:
    rules = SessionRules(ExamPolicy())
    phone, book = (
        Condition(K.PROHIBITED_OBJECT, "cell phone"),
        Condition(K.PROHIBITED_OBJECT, "book"),
    )
    objects = FACE_KINDS | {K.PROHIBITED_OBJECT}
    rules.observe(0.0, [phone, book], objects)
    opened = rules.observe(1.0, [phone, book], objects).events
    assert sorted(e.label or "" for e in opened) == ["book", "cell phone"]
    # Frames without an object pass do not close them, however long.
    for t in range(2, 20):
        assert rules.observe(float(t), [], FACE_KINDS).events == []
    assert len(rules.open_kinds()) == 2
    closed = rules.observe(20.0, [phone], objects).events
    assert [(e.type, e.label) for e in closed] == [(EventType.CLOSED, "book")]


def test_pulses_open_and_close_at_once_and_respect_cooldown() -> None:
    rules = SessionRules(ExamPolicy())  # copy_paste: cooldown 5 s
    paste = Condition(K.COPY_PASTE, "paste")
    first = rules.pulse(10.0, paste).events
    assert [(e.type, e.started_at, e.ended_at) for e in first] == [
        (EventType.OPENED, 10.0, None),
        (EventType.CLOSED, 10.0, 10.0),
    ]
    assert rules.pulse(12.0, paste).events == []
    assert len(rules.pulse(15.0, paste).events) == 2


def test_disabled_kinds_raise_nothing() -> None:
    rules = SessionRules(
        policy(
            looking_away={
                "enabled": False,
                "min_duration_s": 0,
                "cooldown_s": 0,
                "severity": "low",
                "weight": 5,
            }
        )
    )
    for t in range(10):
        assert rules.observe(float(t), [Condition(K.LOOKING_AWAY)], {K.LOOKING_AWAY}).events == []


def test_risk_combines_weights_and_stays_below_100() -> None:
    rules = SessionRules(ExamPolicy())
    scores = []
    for t in range(0, 600, 30):
        rules.pulse(float(t), Condition(K.TAB_SWITCH))  # weight 10
        scores.append(rules.risk_score)
    assert scores == sorted(scores)
    assert scores[0] == pytest.approx(10)
    assert scores[1] == pytest.approx(19)
    assert scores[-1] < 100


def test_auto_termination_is_off_by_default_and_follows_the_override() -> None:
    heavy = Condition(K.MULTIPLE_FACES)
    default = SessionRules(ExamPolicy())
    overridden = SessionRules(ExamPolicy(), auto_terminate=True)
    outcomes = []
    for t in range(0, 400, 20):
        default.observe(float(t), [heavy], FACE_KINDS)
        default.observe(float(t) + 1, [heavy], FACE_KINDS)
        default.observe(float(t) + 5, [], FACE_KINDS)
        overridden.observe(float(t), [heavy], FACE_KINDS)
        overridden.observe(float(t) + 1, [heavy], FACE_KINDS)
        outcomes.append(overridden.observe(float(t) + 5, [], FACE_KINDS))
    assert default.risk_score >= 90
    assert not default.observe(500.0, [], FACE_KINDS).terminate
    assert outcomes[-1].terminate
    assert not outcomes[0].terminate


def test_close_all_ends_everything_open() -> None:
    rules = SessionRules(ExamPolicy())
    rules.observe(0.0, [Condition(K.MULTIPLE_FACES)], FACE_KINDS)
    rules.observe(1.0, [Condition(K.MULTIPLE_FACES)], FACE_KINDS)
    closed = rules.close_all(9.0).events
    assert [(e.type, e.kind, e.ended_at) for e in closed] == [
        (EventType.CLOSED, K.MULTIPLE_FACES, 9.0)
    ]
    assert rules.open_kinds() == []


def test_detections_add_up_over_a_violation_and_start_afresh_with_the_next() -> None:
    rules = SessionRules(ExamPolicy())  # tab_switch: no debounce, 5-s cool-down
    signals = {K.TAB_SWITCH}

    def left(*by: str) -> list[Condition]:
        return [Condition(K.TAB_SWITCH, details={"detections": list(by), "n": len(by)})]

    opened = rules.observe(0.0, left("window"), signals, quiet_s=0).events
    assert [(e.type, e.details) for e in opened] == [
        (EventType.OPENED, {"detections": ["window"], "n": 1})
    ]
    rules.observe(0.1, left("tab", "window"), signals, quiet_s=0)
    rules.observe(2.0, left("tab"), signals, quiet_s=0)
    closed = rules.observe(3.0, [], signals, quiet_s=0).events
    # Later details replace earlier ones; what saw it adds up.
    assert [(e.type, e.details) for e in closed] == [
        (EventType.CLOSED, {"detections": ["tab", "window"], "n": 1})
    ]
    again = rules.observe(20.0, left("tab"), signals, quiet_s=0).events
    assert again[0].details == {"detections": ["tab"], "n": 1}
    assert rules.risk_score == pytest.approx(19.0)  # two violations of weight 10


def test_a_condition_that_knows_when_it_began_is_dated_from_then() -> None:
    rules = SessionRules(ExamPolicy())  # camera_off: 2-s debounce
    gone = Condition(K.CAMERA_OFF, "camera", since=100.0)
    opened = rules.observe(105.0, [gone], {K.CAMERA_OFF}, quiet_s=0).events
    assert [(e.type, e.started_at) for e in opened] == [(EventType.OPENED, 100.0)]
    # A `since` in the future (a clock step) is taken as now.
    later = SessionRules(ExamPolicy())
    assert later.observe(50.0, [gone], {K.CAMERA_OFF}, quiet_s=0).events == []


def test_an_exempt_kind_never_opens_while_others_still_do() -> None:
    """The accommodation's exemption check: exempt kinds are not tracked, and add no risk."""
    signals = {K.TAB_SWITCH, K.FULLSCREEN_EXIT}
    exempt = SessionRules(ExamPolicy(), exempt=frozenset({K.TAB_SWITCH}))
    plain = SessionRules(ExamPolicy())
    held = [Condition(K.TAB_SWITCH, "tab"), Condition(K.FULLSCREEN_EXIT)]
    opened = {
        name: [e.kind for e in rules.observe(0.0, held, signals, quiet_s=0).events]
        for name, rules in (("exempt", exempt), ("plain", plain))
    }
    assert opened == {
        "exempt": [K.FULLSCREEN_EXIT],
        "plain": [K.TAB_SWITCH, K.FULLSCREEN_EXIT],
    }
    assert not exempt.has_pending()
    assert exempt.pulse(1.0, Condition(K.TAB_SWITCH, "reload")).events == []
    assert (round(exempt.risk_score), round(plain.risk_score)) == (10, 19)  # weights 10 each
