from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from openproctor.detectors.base import Box, Frame, ModelError, ObjectResult
from openproctor.detectors.config import CenterNetConfig, YoloConfig
from openproctor.detectors.objects_onnx import (
    CenterNetDetector,
    YoloDetector,
    decode_yolo,
    merge_objects,
)


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
    box = people[0].box
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
    shifted = Box(alone.box.x1 + 700, alone.box.y1 + 300, alone.box.x2 + 700, alone.box.y2 + 300)
    assert found.box.iou(shifted) > 0.7


def test_region_pass_skips_regions_too_small_to_see(
    person_crops: CenterNetDetector, image: Callable[[str], Frame]
) -> None:
    assert person_crops.detect_region(image("astronaut"), Box(0, 0, 10, 10)) == ()


def test_region_pass_keeps_only_its_labels(
    centernet: CenterNetDetector, image: Callable[[str], Frame]
) -> None:
    frame = image("astronaut")
    region = Box(0, 0, frame.shape[1], frame.shape[0])
    assert all(o.label == "cell phone" for o in centernet.detect_region(frame, region))


def test_merge_suppresses_overlaps_of_one_label() -> None:
    phone = ObjectResult("cell phone", 0.3, Box(10, 10, 50, 90))
    closer = ObjectResult("cell phone", 0.5, Box(12, 12, 52, 92))
    elsewhere = ObjectResult("cell phone", 0.28, Box(200, 10, 240, 90))
    book = ObjectResult("book", 0.4, Box(10, 10, 50, 90))
    assert merge_objects((phone, book), (closer, elsewhere)) == (closer, book, elsewhere)


def test_centernet_sees_a_cup_and_no_person_in_a_still_life(
    centernet: CenterNetDetector, image: Callable[[str], Frame]
) -> None:
    labels = {o.label for o in centernet.detect(image("noface_coffee"), 0)}
    assert "cup" in labels
    assert "person" not in labels


def test_centernet_on_a_blank_frame(centernet: CenterNetDetector) -> None:
    assert centernet.detect(np.zeros((480, 640, 3), np.uint8), 0) == ()


def _yolo_output() -> npt.NDArray[np.float32]:
    """Four candidates in a 64x64 input, classes (phone, book): two overlapping phones,
    one book and one phone too faint to keep."""
    boxes = [  # cx, cy, w, h, phone, book
        [20, 32, 10, 20, 0.9, 0.1],
        [21, 32, 10, 20, 0.8, 0.1],
        [45, 32, 12, 12, 0.05, 0.7],
        [10, 10, 4, 4, 0.2, 0.0],
    ]
    return np.array(boxes, np.float32).T[None]


def _tiny_yolo(path: Path) -> None:
    """A graph with a YOLO export's signature that always returns _yolo_output()."""
    out = _yolo_output()
    graph = helper.make_graph(
        [
            helper.make_node("ReduceSum", ["images"], ["total"], keepdims=0),
            helper.make_node("Mul", ["total", "zero"], ["nothing"]),
            helper.make_node("Add", ["boxes", "nothing"], ["output0"]),
        ],
        "tiny_yolo",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 64, 64])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(out.shape))],
        [
            numpy_helper.from_array(out, "boxes"),
            numpy_helper.from_array(np.array(0, np.float32), "zero"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def test_yolo_plugin_decodes_letterboxed_output(tmp_path: Path) -> None:
    path = tmp_path / "tiny.onnx"
    _tiny_yolo(path)
    detector = YoloDetector(YoloConfig(path=path, class_names=("cell phone", "book")), 1)
    # A 128x64 frame letterboxes into 64x64 at scale 0.5 with 16 px of padding top and bottom.
    objects = detector.detect(np.zeros((64, 128, 3), np.uint8), 0)
    assert [(o.label, round(o.score, 2)) for o in objects] == [("cell phone", 0.9), ("book", 0.7)]
    phone = objects[0].box
    assert phone.to_list() == [30.0, 12.0, 50.0, 52.0]
    book = objects[1].box
    assert book.to_list() == [78.0, 20.0, 102.0, 44.0]


def test_yolo_decoder_without_hits() -> None:
    empty = decode_yolo(
        _yolo_output()[0], ("cell phone", "book"), 0.95, 0.45, (0, 0), 1.0, (64, 64)
    )
    assert empty == ()


def test_yolo_plugin_checks_its_model(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        YoloDetector(YoloConfig(path=tmp_path / "none.onnx", class_names=("a",)), 1)
    path = tmp_path / "tiny.onnx"
    _tiny_yolo(path)
    with pytest.raises(ModelError, match="2 classes but 3 names"):
        YoloDetector(YoloConfig(path=path, class_names=("a", "b", "c")), 1)
