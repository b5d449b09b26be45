from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from openproctor.detectors.base import Box, Frame
from openproctor.detectors.detections import Detections
from openproctor.detectors.objects.coco import merge_objects
from openproctor.detectors.objects.plugins.centernet import CenterNetConfig, CenterNetDetector


@pytest.fixture(scope="module")
def centernet(model_dir: Path) -> CenterNetDetector:
    return CenterNetDetector(model_dir, CenterNetConfig(), 1)


def test_centernet_finds_the_person(
    centernet: CenterNetDetector, image: Callable[[str], Frame]
) -> None:
    frame = image("astronaut")
    objects = centernet.detect(frame, 0)
    people = [o for o in objects if o.label == "person"]
    assert len(people) == 1
    box = Box(*people[0].box)
    assert 0 <= box.x1 < box.x2 <= frame.shape[1]
    assert box.area > 0.3 * frame.shape[0] * frame.shape[1]


@pytest.fixture(scope="module")
def person_crops(model_dir: Path) -> CenterNetDetector:
    """The face-region pass made to keep people, which the fixtures have (they have no phone)."""
    config = CenterNetConfig(crop_labels=frozenset({"person"}), crop_min_score=0.4)
    return CenterNetDetector(model_dir, config, 1)


def test_region_pass_returns_frame_pixels(
    person_crops: CenterNetDetector, image: Callable[[str], Frame]
) -> None:
    astronaut = image("astronaut")
    frame = np.full((1200, 1600, 3), 90, np.uint8)
    frame[300:812, 700:1212] = astronaut
    (alone,) = [o for o in person_crops.detect(astronaut, 0) if o.label == "person"]
    # The region reaches the frame's bottom edge, so the body cut there still counts.
    (found,) = person_crops.detect_region(frame, Box(600, 200, 1312, 1200))
    assert found.label == "person"
    x1, y1, x2, y2 = alone.box
    assert Box(*found.box).iou(Box(x1 + 700, y1 + 300, x2 + 700, y2 + 300)) > 0.7


def test_region_pass_skips_regions_too_small_to_see(
    person_crops: CenterNetDetector, image: Callable[[str], Frame]
) -> None:
    assert len(person_crops.detect_region(image("astronaut"), Box(0, 0, 10, 10))) == 0


def test_region_pass_keeps_only_its_labels(
    centernet: CenterNetDetector, image: Callable[[str], Frame]
) -> None:
    frame = image("astronaut")
    region = Box(0, 0, frame.shape[1], frame.shape[0])
    assert all(o.label == "cell phone" for o in centernet.detect_region(frame, region))


def test_merge_suppresses_overlaps_of_one_label() -> None:
    first = Detections.of([[10, 10, 50, 90], [10, 10, 50, 90]], [0.3, 0.4], ["cell phone", "book"])
    second = Detections.of(
        [[12, 12, 52, 92], [200, 10, 240, 90]], [0.5, 0.28], ["cell phone", "cell phone"]
    )
    merged = merge_objects(first, second)
    assert [(o.label, o.score) for o in merged] == [
        ("cell phone", 0.5),  # the closer phone, over the first pass's one
        ("book", 0.4),  # on the same spot, but another label
        ("cell phone", 0.28),  # elsewhere
    ]


def test_centernet_sees_a_cup_and_no_person_in_a_still_life(
    centernet: CenterNetDetector, image: Callable[[str], Frame]
) -> None:
    labels = {o.label for o in centernet.detect(image("noface_coffee"), 0)}
    assert "cup" in labels
    assert "person" not in labels


def test_centernet_on_a_blank_frame(centernet: CenterNetDetector) -> None:
    assert len(centernet.detect(np.zeros((480, 640, 3), np.uint8), 0)) == 0
