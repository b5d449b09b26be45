from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from openproctor.detectors.analyzer import Analyzer
from openproctor.detectors.base import Frame
from openproctor.detectors.config import DetectorConfig
from openproctor.detectors.detections import Detections
from openproctor.detectors.persons import (
    PersonMask,
    Persons,
    ZoneConfig,
    count_persons,
    holds_face,
    in_zone,
)
from openproctor.detectors.segmentation import PersonSegmenter

FACE = (100.0, 50.0, 150.0, 100.0)  # 50x50 pixels


def test_every_face_is_a_person_and_only_bodies_without_one_add() -> None:
    two_faces = [FACE, (300.0, 60.0, 350.0, 110.0)]
    assert count_persons(two_faces, Detections.empty()) == Persons(faces=2, bodies=0)
    # A torso box starting at the shoulders holds the face above it; a body elsewhere adds one.
    torso = [60, 110, 200, 400]
    someone_else = [450, 80, 560, 400]
    bodies = Detections.of([torso, someone_else], [0.7, 0.5], ["person", "person"])
    assert count_persons([FACE], bodies) == Persons(faces=1, bodies=1)
    assert count_persons([FACE], bodies).count == 2
    # A person cut by the frame edge, face not visible, is still one person; other labels are not.
    assert count_persons([], bodies[np.array([1])]).count == 1
    assert count_persons([FACE], Detections.of([someone_else], [0.9], ["book"])).count == 1


def test_a_body_holds_a_face_above_or_inside_it_not_beside_or_far_above() -> None:
    assert holds_face((0, 0, 300, 400), FACE)
    assert holds_face((90, 120, 170, 400), FACE)  # starts 0.4 face heights under the chin
    assert not holds_face((90, 140, 170, 400), FACE)  # 0.8 face heights under: someone else
    assert not holds_face((160, 0, 300, 400), FACE)  # beside
    assert not holds_face((0, 0, 300, 60), FACE)  # ends above the face's centre


def _mask() -> PersonMask:
    """A 64x48 grid over a 640x480 frame: a person in the middle third of columns."""
    probability = np.zeros((48, 64), np.float32)
    probability[:, 21:43] = 0.9
    return PersonMask(probability, 640, 480)


def test_mask_shares_are_read_on_the_grid() -> None:
    shares = _mask().shares(np.array([[220.0, 100, 420, 200], [0, 0, 100, 100], [200, 0, 300, 10]]))
    assert shares[0] == pytest.approx(1.0)
    assert shares[1] == 0.0
    assert shares[2] == pytest.approx(0.9, abs=0.05)  # 1 of 10 columns off the person


def test_the_zone_keeps_what_is_on_the_person_or_face_sized_and_touching_it() -> None:
    face = (290.0, 60.0, 350.0, 120.0)  # 60x60, on the person
    objects = Detections.of(
        [
            [300, 300, 330, 330],  # small, on the person: a phone in the hand
            [20, 40, 40, 140],  # small, off the person: a book spine on a shelf
            [100, 200, 230, 380],  # large (6.5 face areas), 0.15 on the person: a book held out
            [0, 0, 200, 400],  # large but off the person: a shelf or a poster
            [0, 0, 100, 400],  # a person at the edge, off the mask: counted, never dropped
        ],
        [0.5] * 5,
        ["cell phone", "book", "book", "book", "person"],
    )
    kept = in_zone(objects, face, _mask(), ZoneConfig())
    assert kept.tolist() == [True, False, True, False, True]
    # Touching is not enough for a small object, nor size alone for a large one.
    strict = ZoneConfig(min_touch_share=0.2)
    assert in_zone(objects, face, _mask(), strict).tolist() == [True, False, False, False, True]


def test_segmentation_finds_the_person(model_dir: Path, image: Callable[[str], Frame]) -> None:
    mask = PersonSegmenter(model_dir, 1).mask(image("astronaut"))
    assert (mask.width, mask.height) == (512, 512)
    on_her, sky = mask.shares(np.array([[150.0, 250, 300, 400], [420, 0, 512, 80]]))
    assert on_her > 0.9
    assert sky < 0.1


def _with_cat(person: Frame, cat: Frame, width: int, x: int, y: int) -> Frame:
    frame = person.copy()
    small = cv2.resize(cat, (width, width * cat.shape[0] // cat.shape[1]))
    frame[y : y + small.shape[0], x : x + small.shape[1]] = small
    return frame


def test_an_object_behind_the_candidate_does_not_flag_the_same_in_front_does(
    model_dir: Path, image: Callable[[str], Frame]
) -> None:
    """A cat (CC0 fixture, a COCO label) made prohibited: pasted beside the astronaut's head in
    the background it is found but outside her zone; held against her chest it flags."""
    config = DetectorConfig(prohibited=frozenset({"cat"}))
    analyzer = Analyzer(model_dir, config)
    person, cat = image("astronaut"), image("chelsea")
    behind = analyzer.analyze(_with_cat(person, cat, 130, 380, 5), 0)
    assert "cat" in set(behind.background.label)
    assert "cat" not in set(behind.objects.label)
    assert "prohibited_object" not in behind.flags
    in_front = analyzer.analyze(_with_cat(person, cat, 200, 150, 330), 0)
    assert "cat" in set(in_front.objects.label)
    assert "prohibited_object" in in_front.flags
    # With the zone off, the background object flags as before.
    everywhere = Analyzer(model_dir, config.model_copy(update={"zone": ZoneConfig(enabled=False)}))
    assert "prohibited_object" in everywhere.analyze(_with_cat(person, cat, 130, 380, 5), 0).flags
