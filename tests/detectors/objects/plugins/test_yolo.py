from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from openproctor.detectors.base import ModelError
from openproctor.detectors.objects.plugins.yolo import YoloConfig, YoloDetector, decode_yolo


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
    detector = YoloDetector(tmp_path, YoloConfig(path=path, class_names=("cell phone", "book")), 1)
    # A 128x64 frame letterboxes into 64x64 at scale 0.5 with 16 px of padding top and bottom.
    objects = detector.detect(np.zeros((64, 128, 3), np.uint8), 0)
    assert [(o.label, round(o.score, 2)) for o in objects] == [("cell phone", 0.9), ("book", 0.7)]
    assert objects.xyxy.tolist() == [[30.0, 12.0, 50.0, 52.0], [78.0, 20.0, 102.0, 44.0]]


def test_yolo_decoder_without_hits() -> None:
    empty = decode_yolo(
        _yolo_output()[0], ("cell phone", "book"), 0.95, 0.45, (0, 0), 1.0, (64, 64)
    )
    assert len(empty) == 0


def test_yolo_plugin_checks_its_model(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        YoloDetector(tmp_path, YoloConfig(path=tmp_path / "none.onnx", class_names=("a",)), 1)
    path = tmp_path / "tiny.onnx"
    _tiny_yolo(path)
    with pytest.raises(ModelError, match="2 classes but 3 names"):
        YoloDetector(tmp_path, YoloConfig(path=path, class_names=("a", "b", "c")), 1)
