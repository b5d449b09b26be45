"""MediaPipe's palm detector and hand landmarks on real hands in the clean fixtures.

id_obama_1.jpg (US government photo, public domain, via ageitgey/face_recognition, MIT) shows his
right hand on his left sleeve, arms crossed: a real hand with the fingers together.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from openproctor.detectors.base import Frame
from openproctor.detectors.config import HandsConfig
from openproctor.detectors.hands import HandDetector


@pytest.fixture(scope="module")
def hands(model_dir: Path) -> HandDetector:
    return HandDetector(model_dir, HandsConfig(), 1)


def test_a_real_hand_gets_21_landmarks_on_it(
    hands: HandDetector, image: Callable[[str], Frame]
) -> None:
    (hand,) = hands.detect(image("id_obama_1"))
    assert hand.palm_score > 0.7
    assert hand.presence > 0.6
    assert hand.landmarks.shape == (21, 3)
    # The hand rests on his sleeve at about (360, 480) of the 512x640 fixture.
    assert 300 < hand.centre[0] < 420
    assert 440 < hand.centre[1] < 520
    assert hand.box.x1 <= hand.landmarks[:, 0].min()
    assert hand.landmarks[:, 1].max() <= hand.box.y2
    assert hand.spread_deg < 30  # fingers together, round the sleeve


def test_no_hands_where_there_are_none(hands: HandDetector, image: Callable[[str], Frame]) -> None:
    assert hands.detect(image("astronaut")) == ()
    assert hands.detect(np.zeros((480, 640, 3), np.uint8)) == ()


def test_the_landmark_model_confirms_each_palm(
    model_dir: Path, image: Callable[[str], Frame]
) -> None:
    """Palms the landmark model does not take for hands are dropped (id_biden_1: his hand
    under the crossed arm is a palm at ~0.7 but a hand at ~0.2)."""
    frame = image("id_biden_1")
    assert HandDetector(model_dir, HandsConfig(), 1).palms(frame)
    assert HandDetector(model_dir, HandsConfig(), 1).detect(frame) == ()
    assert HandDetector(model_dir, HandsConfig(min_presence=0.0), 1).detect(frame)
