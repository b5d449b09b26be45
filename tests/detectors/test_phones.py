"""Phone evidence: the object model's phone scores with the hand and head cues, k of n passes.

The composites are generated from clean fixtures only: the real hand in id_obama_1.jpg (US
government photo, public domain) is cut out along its landmarks and pasted, sized to the face,
at the ear of astronaut.jpg (NASA, public domain) or id_obama_2.jpg holding a drawn phone, or on
the chin. No cleanly licensed photo of a hand holding a phone was found inside a registry
package (mediapipe, scikit-image, @tensorflow-models/hand-pose-detection and handpose ship none),
so the phone is drawn (tools/phone_composites.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from openproctor.detectors.analyzer import Analyzer, Baseline
from openproctor.detectors.base import Box, FaceResult, Frame, Hand, PhoneEvidence
from openproctor.detectors.config import PhoneConfig
from openproctor.detectors.detections import Detections
from openproctor.detectors.phones import PhoneHistory, at_ear, evidence, held, with_phone
from openproctor.tools.phone_composites import Placement, composite

CONFIG = PhoneConfig()
# A face 100 px wide: eyes at y=140, ears at (100, 160) and (200, 160), chin at y=220.
FACE = FaceResult(
    Box(100, 100, 200, 220),
    0.9,
    np.array([[130, 140], [170, 140], [150, 165], [150, 190], [100, 160], [200, 160]], np.float32),
)


def hand(cx: float, cy: float, size: float = 45.0, spread_deg: float = 10.0) -> Hand:
    """A hand held up (fingers up) whose landmarks centre on (cx, cy), wrist to middle knuckle
    `size`, index and little fingers `spread_deg` apart."""
    points = np.zeros((21, 3), np.float32)
    points[0, :2] = (0, size)
    for i, knuckle in enumerate((5, 9, 13, 17)):
        base = np.array([(i - 1) * 0.3 * size, 0.0])
        tilt = math.radians(spread_deg / 2) * (i - 1.5) / 1.5
        along = np.array([math.sin(tilt), -math.cos(tilt)])
        for j in range(4):
            points[knuckle + j, :2] = base + along * 0.3 * size * j
    for j in range(1, 5):  # the thumb, out to the side
        points[j, :2] = (-0.3 * size * j, size * (1 - 0.2 * j))
    points[:, :2] += np.array([cx, cy], np.float32) - points[:, :2].mean(axis=0)
    (x1, y1), (x2, y2) = points[:, :2].min(axis=0), points[:, :2].max(axis=0)
    return Hand(Box(float(x1), float(y1), float(x2), float(y2)), 0.9, 0.9, points)


def test_a_gripping_hand_beside_the_head_at_ear_height_is_at_the_ear() -> None:
    assert at_ear(hand(215, 185), FACE, CONFIG.ear_reach)
    assert at_ear(hand(85, 180), FACE, CONFIG.ear_reach)  # the other ear


@pytest.mark.parametrize(
    ("what", "the_hand"),
    [
        ("on the chin", hand(150, 235)),
        ("over the mouth", hand(160, 190)),
        ("raised above the head to ask", hand(230, 40)),
        ("open, fingers spread, beside the head", hand(215, 185, spread_deg=60)),
        ("someone else's, far behind", hand(215, 185, size=10)),
        ("at shoulder height", hand(260, 330)),
    ],
)
def test_other_hands_near_the_face_are_not_at_the_ear(what: str, the_hand: Hand) -> None:
    assert not at_ear(the_hand, FACE, CONFIG.ear_reach), what


def phones(*rows: tuple[float, tuple[float, float, float, float]]) -> Detections:
    return Detections.of([box for _, box in rows], [s for s, _ in rows], ["cell phone"] * len(rows))


def test_a_phone_in_a_hand_or_under_a_bowed_head_gains_and_the_best_counts() -> None:
    found = phones((0.25, (300, 300, 330, 360)), (0.3, (20, 20, 50, 70)))
    lone = evidence(found, (), FACE, False, CONFIG)
    assert (round(lone.score, 3), lone.cues, lone.phone) == (0.3, ("detected",), False)
    in_hand = evidence(found, (hand(320, 380),), FACE, False, CONFIG)
    assert round(in_hand.score, 3) == round(0.25 + CONFIG.held_bonus, 3)
    assert in_hand.cues == ("detected", "in_hand")
    assert in_hand.phone
    assert in_hand.box == Box(300, 300, 330, 360)
    # Head bowed: the phone below the face gains, the one above it does not.
    looked = evidence(found, (), FACE, True, CONFIG)
    assert round(looked.score, 3) == round(0.25 + CONFIG.looked_at_bonus, 3)
    assert looked.cues == ("detected", "looked_at")


def test_a_hand_at_the_ear_is_weak_evidence_on_its_own() -> None:
    at_the_ear = hand(215, 185)
    found = evidence(Detections.empty(), (at_the_ear,), FACE, False, CONFIG)
    assert found == PhoneEvidence(CONFIG.weak_score, at_the_ear.box, ("hand_at_ear",), False)
    on_chin = evidence(Detections.empty(), (hand(150, 235),), FACE, False, CONFIG)
    assert on_chin.score == 0.0
    assert on_chin.box is None
    no_face = evidence(Detections.empty(), (at_the_ear,), None, False, CONFIG)
    assert no_face.score == 0.0


def test_held_means_touching_the_hand() -> None:
    the_hand = hand(100, 100)
    assert held(Box(110, 90, 130, 130), (the_hand,))
    assert not held(Box(300, 300, 330, 360), (the_hand,))


def test_weak_evidence_needs_k_of_the_last_n_passes() -> None:
    strong = PhoneEvidence(0.5, Box(0, 0, 10, 10), ("detected",), True)
    weak = PhoneEvidence(CONFIG.weak_score, Box(0, 0, 10, 10), ("hand_at_ear",), False)
    nothing = PhoneEvidence(0.0, None, (), False)
    history = PhoneHistory(CONFIG)  # 2 of 3
    assert [history.decide(e).phone for e in (weak, weak, nothing, weak, nothing)] == [
        False,
        True,
        False,
        True,  # weak, nothing, weak: 2 of the last 3
        False,
    ]
    history = PhoneHistory(CONFIG)
    assert [history.decide(e).phone for e in (strong, weak, nothing, nothing, weak)] == [
        True,
        True,  # the strong pass still counts among the last 3
        False,
        False,
        False,  # nothing, nothing, weak
    ]


def test_the_decision_replaces_the_phone_candidates() -> None:
    objects = Detections.of(
        [[0, 0, 10, 10], [20, 20, 30, 40], [50, 50, 60, 70]],
        [0.2, 0.9, 0.25],
        ["cell phone", "book", "cell phone"],
    )
    assert [o.label for o in with_phone(objects, PhoneEvidence(0.3, None, (), False))] == ["book"]
    decided = with_phone(objects, PhoneEvidence(0.45, Box(50, 50, 60, 70), ("detected",), True))
    assert [(o.label, round(o.score, 2)) for o in decided] == [("book", 0.9), ("cell phone", 0.45)]


@pytest.fixture(scope="module")
def scene(analyzer: Analyzer, image: Callable[[str], Frame]) -> Callable[[str, Placement], Frame]:
    """A fixture photo with id_obama_1's real hand pasted at the ear (with a phone) or chin."""
    hand_frame = image("id_obama_1")
    (real_hand,) = analyzer.hands(hand_frame)

    def make(name: str, where: Placement) -> Frame:
        frame = image(name)
        (face,) = analyzer.analyze(frame, 0, objects=False).faces
        return composite(frame, face, hand_frame, real_hand, where)

    return make


def test_a_phone_at_the_ear_is_found(
    analyzer: Analyzer, scene: Callable[[str, Placement], Frame]
) -> None:
    result = analyzer.analyze(scene("astronaut", "ear"), 0)
    assert result.phone is not None
    assert result.phone.phone
    assert {"in_hand", "hand_at_ear"} <= set(result.phone.cues)
    assert "prohibited_object" in result.flags
    assert result.objects.count("cell phone") == 1


def test_a_hand_at_the_ear_confirmed_over_passes_is_a_phone(
    analyzer: Analyzer, scene: Callable[[str, Placement], Frame]
) -> None:
    """The object model barely sees this phone behind the hand: the hand at the ear is the
    evidence, and it has to recur."""
    frame = scene("id_obama_2", "ear")
    history = PhoneHistory(analyzer.config.phones)
    first = analyzer.analyze(frame, 0, phones=history)
    assert first.phone is not None
    assert "hand_at_ear" in first.phone.cues
    second = analyzer.analyze(frame, 5000, phones=history)
    assert second.phone is not None
    assert second.phone.phone
    assert "prohibited_object" in second.flags


@pytest.mark.parametrize("name", ["id_obama_2", "pai_webcam_center"])
def test_a_hand_on_the_chin_is_no_phone_however_long(
    analyzer: Analyzer, scene: Callable[[str, Placement], Frame], name: str
) -> None:
    frame = scene(name, "chin")
    history = PhoneHistory(analyzer.config.phones)
    for i in range(analyzer.config.phones.confirm_window + 1):
        result = analyzer.analyze(frame, i * 5000, phones=history, baseline=Baseline())
        assert result.hands  # the hand is seen, and judged not at the ear
        assert result.phone is not None
        assert not result.phone.phone
        assert "hand_at_ear" not in result.phone.cues
        assert "prohibited_object" not in result.flags
