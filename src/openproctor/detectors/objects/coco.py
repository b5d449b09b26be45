"""What the bundled COCO detectors (plugins centernet and nanodet) share: the labels, per-class
score floors, the magnified face-region pass, merging passes, and onnxruntime sessions."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np
from pydantic import Field

from openproctor.detectors.base import Box, Frame
from openproctor.detectors.detections import Detections
from openproctor.detectors.fields import Score
from openproctor.detectors.objects.api import ObjectDetector, ObjectsPluginConfig

if TYPE_CHECKING:
    import onnxruntime as ort

COCO_LABELS = (
    "person",
    "bicycle",
    "car",
    "motorcycle",
    "airplane",
    "bus",
    "train",
    "truck",
    "boat",
    "traffic light",
    "fire hydrant",
    "stop sign",
    "parking meter",
    "bench",
    "bird",
    "cat",
    "dog",
    "horse",
    "sheep",
    "cow",
    "elephant",
    "bear",
    "zebra",
    "giraffe",
    "backpack",
    "umbrella",
    "handbag",
    "tie",
    "suitcase",
    "frisbee",
    "skis",
    "snowboard",
    "sports ball",
    "kite",
    "baseball bat",
    "baseball glove",
    "skateboard",
    "surfboard",
    "tennis racket",
    "bottle",
    "wine glass",
    "cup",
    "fork",
    "knife",
    "spoon",
    "bowl",
    "banana",
    "apple",
    "sandwich",
    "orange",
    "broccoli",
    "carrot",
    "hot dog",
    "pizza",
    "donut",
    "cake",
    "chair",
    "couch",
    "potted plant",
    "bed",
    "dining table",
    "toilet",
    "tv",
    "laptop",
    "mouse",
    "remote",
    "keyboard",
    "cell phone",
    "microwave",
    "oven",
    "toaster",
    "sink",
    "refrigerator",
    "book",
    "clock",
    "vase",
    "scissors",
    "teddy bear",
    "hair drier",
    "toothbrush",
)
MAX_OBJECTS = 100
NMS_IOU = 0.45


def onnx_session(path: Path, threads: int) -> ort.InferenceSession:
    import onnxruntime as ort  # here, in the worker process, not where configs are read

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class CocoConfig(ObjectsPluginConfig):
    """What the bundled COCO detectors share: score floors and the face-region pass."""

    min_score: Score = Field(
        default=0.3,
        title="Object score",
        description="Objects scored below this are dropped.",
    )
    class_min_score: dict[str, Score] = Field(
        default_factory=dict,
        title="Per-class scores",
        description="Overrides min_score per COCO label.",
    )

    crop_pass: bool = Field(
        default=True,
        title="Face-region pass",
        description=(
            "Run the detector a second time, magnified, on the region around and below the "
            "main face (a phone at the ear or in the hand); costs one more pass on frames with "
            "a face."
        ),
    )
    crop_labels: frozenset[str] = Field(
        default=frozenset({"cell phone"}),
        title="Face-region labels",
        description=(
            "Labels kept from the face-region pass; people and furniture cut by the crop's "
            "edges are better judged on the whole frame."
        ),
    )
    crop_min_score: Score = Field(
        default=0.3,
        title="Face-region score",
        description="Floor for the face-region pass, usually above the whole-frame floor.",
    )


CocoConfigT = TypeVar("CocoConfigT", bound=CocoConfig)


class CocoDetector(ObjectDetector[CocoConfigT]):
    """A bundled COCO model: one whole-frame pass, and optionally a magnified region pass."""

    def __init__(self, model_dir: Path, config: CocoConfigT, threads: int) -> None:
        super().__init__(model_dir, config, threads)
        floor = [config.class_min_score.get(label, config.min_score) for label in COCO_LABELS]
        self._min_score = np.array(floor, np.float32)

    def detect_region(self, frame: Frame, region: Box) -> Detections:
        """`crop_labels` objects in `region`, seen magnified; boxes in frame pixels.

        Objects touching a cut edge of the region (not the frame's own edge) are dropped: the
        model sees only part of them.
        """
        cfg = self.config
        h, w = frame.shape[:2]
        x1, y1 = max(int(region.x1), 0), max(int(region.y1), 0)
        x2, y2 = min(int(np.ceil(region.x2)), w), min(int(np.ceil(region.y2)), h)
        if x2 - x1 < 16 or y2 - y1 < 16:
            return Detections.empty()
        found = self.detect(frame[y1:y2, x1:x2], 0)
        margin = 2.0
        left, top, right, bottom = found.xyxy.T
        wanted = (
            np.isin(found.label, list(cfg.crop_labels))
            & (found.confidence >= cfg.crop_min_score)
            & ((x1 == 0) | (left > margin))
            & ((y1 == 0) | (top > margin))
            & ((x2 == w) | (right < x2 - x1 - margin))
            & ((y2 == h) | (bottom < y2 - y1 - margin))
        )
        return found[wanted].shifted(x1, y1)


def merge_objects(*passes: Detections) -> Detections:
    """Objects from several passes with same-label overlaps (IoU >= NMS_IOU) suppressed."""
    return Detections.merge(*passes).without_overlaps(NMS_IOU)
