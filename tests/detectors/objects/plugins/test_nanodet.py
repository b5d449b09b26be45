from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from openproctor.detectors.analyzer import Analyzer
from openproctor.detectors.base import Box, Frame
from openproctor.detectors.objects import build as build_objects
from openproctor.detectors.objects.coco import COCO_LABELS
from openproctor.detectors.objects.plugins.nanodet import (
    NanoDetConfig,
    NanoDetDetector,
    decode_nanodet,
)
from openproctor.settings import Settings


@pytest.fixture(scope="module")
def nanodet(model_dir: Path) -> NanoDetDetector:
    return NanoDetDetector(model_dir, NanoDetConfig(), 1)


def test_nanodet_finds_both_people(nanodet: NanoDetDetector, image: Callable[[str], Frame]) -> None:
    frame = image("fr_two_people")
    found = nanodet.detect(frame, 0)
    people = found[found.label == "person"]
    left, right = people.xyxy[:, 0], people.xyxy[:, 2]
    assert len(people) >= 2
    width = frame.shape[1]
    assert right[np.argmin(left)] < 0.6 * width < right[np.argmax(left)]
    assert np.all((left >= 0) & (left < right) & (right <= width))


def test_nanodet_sees_a_cup_and_no_person_in_a_still_life(
    nanodet: NanoDetDetector, image: Callable[[str], Frame]
) -> None:
    labels = {o.label for o in nanodet.detect(image("noface_coffee"), 0)}
    assert "cup" in labels
    assert "person" not in labels


def test_nanodet_on_a_blank_frame(nanodet: NanoDetDetector) -> None:
    assert len(nanodet.detect(np.zeros((480, 640, 3), np.uint8), 0)) == 0


def test_nanodet_region_pass_returns_frame_pixels(
    model_dir: Path, image: Callable[[str], Frame]
) -> None:
    config = NanoDetConfig(crop_labels=frozenset({"person"}), crop_min_score=0.5)
    detector = NanoDetDetector(model_dir, config, 1)
    astronaut = image("astronaut")
    frame = np.full((1200, 1600, 3), 90, np.uint8)
    frame[300:812, 700:1212] = astronaut
    (alone,) = [o for o in detector.detect(astronaut, 0) if o.label == "person"]
    (found,) = detector.detect_region(frame, Box(600, 200, 1312, 1200))
    x1, y1, x2, y2 = alone.box
    assert found.label == "person"
    assert Box(*found.box).iou(Box(x1 + 700, y1 + 300, x2 + 700, y2 + 300)) > 0.7


def _level(side: int, bins: int) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    return np.zeros((side * side, 80), np.float32), np.zeros((side * side, 4 * bins), np.float32)


def test_decoder_reads_distances_from_the_cell_centre() -> None:
    """A 64 px input with strides 8 and 16; edge distributions peaked on one bin."""
    fine, coarse = _level(8, 5), _level(4, 5)
    phone, person = COCO_LABELS.index("cell phone"), COCO_LABELS.index("person")
    # Stride 8, cell (x=2, y=1), centre (20, 12): left 1, top 1, right 2, bottom 3 strides.
    fine[0][1 * 8 + 2, phone] = 0.9
    fine[1][1 * 8 + 2] = np.eye(5)[[1, 1, 2, 3]].ravel() * 50
    # A weaker phone on the next cell (centre 28, 12) describes the same box: suppressed.
    fine[0][1 * 8 + 3, phone] = 0.6
    fine[1][1 * 8 + 3] = np.eye(5)[[2, 1, 1, 3]].ravel() * 50
    # Stride 16, cell (3, 3), centre (56, 56): an even split of bins 2 and 3 is 2.5 strides.
    coarse[0][15, person] = 0.8
    coarse[1][15] = np.tile([0, 0, 50, 50, 0], 4)
    floors = np.full(80, 0.5, np.float32)
    objects = decode_nanodet([*fine, *coarse], floors, 64, (2.0, 1.0))
    assert [(o.label, round(o.score, 2)) for o in objects] == [("cell phone", 0.9), ("person", 0.8)]
    assert objects.xyxy[0].tolist() == [24.0, 4.0, 72.0, 36.0]
    # The person's box is clipped to the 128x64 frame.
    assert objects.xyxy[1].tolist() == [32.0, 16.0, 128.0, 64.0]
    floors[phone] = 0.95
    assert [o.label for o in decode_nanodet([*fine, *coarse], floors, 64, (1.0, 1.0))] == ["person"]


def test_environment_selects_nanodet(
    monkeypatch: pytest.MonkeyPatch, model_dir: Path, image: Callable[[str], Frame]
) -> None:
    monkeypatch.setenv("OPENPROCTOR_DETECTORS__OBJECTS__TYPE", "nanodet")
    monkeypatch.setenv("OPENPROCTOR_DETECTORS__IDENTITY__ENABLED", "false")
    config = Settings().detectors
    assert config.objects == NanoDetConfig()
    assert isinstance(build_objects(config.objects, model_dir, 1), NanoDetDetector)
    result = Analyzer(model_dir, config).analyze(image("fr_two_people"), 0)
    assert result.persons.count >= 2
    assert "extra_person" in result.flags
    assert "objects_crop" in result.timings_ms
