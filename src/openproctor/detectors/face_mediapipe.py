"""Face detection with MediaPipe's BlazeFace models, run directly on LiteRT.

The first pass runs on every frame: by default the full-range model (192x192, 3.5 ms on one
core, faces up to ~5 m); the short-range one (128x128, 1 ms) is faster but loses faces smaller
than about 1/8 of the frame width. The back-camera model (256x256) sees turned and small faces
the first pass misses, so `recheck` merges its faces in; the caller decides how often to pay
its ~8 ms.
Running the .tflite files ourselves, rather than through the `mediapipe` package, keeps the
detector stateless, loadable from DATA_DIR/models and free of mediapipe's numpy<2 pin.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from openproctor.detectors.base import Box, FaceResult, FloatArray, Frame, as_bgr
from openproctor.detectors.catalog import model_path
from openproctor.detectors.config import FaceConfig
from openproctor.detectors.tflite import TfliteModel

NMS_IOU = 0.3
# mediapipe clips raw scores to +-100; 80 keeps float32 exp() finite.
RAW_SCORE_LIMIT = 80.0


def ssd_anchors(size: int, layers: list[tuple[int, int]]) -> FloatArray:
    """Anchor centres, normalised, for (stride, anchors per cell) layers; sizes are fixed at 1.

    Follows mediapipe's SsdAnchorsCalculator for the BlazeFace graphs.
    """
    centres = []
    for stride, per_cell in layers:
        n = size // stride
        grid = (np.arange(n, dtype=np.float32) + 0.5) / n
        xs, ys = np.meshgrid(grid, grid)
        cells = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(cells, per_cell, axis=0))
    return np.concatenate(centres, dtype=np.float32)


class BlazeFace:
    """One BlazeFace model with its anchors: frame in, scored boxes and keypoints out."""

    def __init__(self, path: Path, anchors: FloatArray, threads: int) -> None:
        self._model = TfliteModel(path, threads)
        self._size = self._model.input_hw[0]
        self._anchors = anchors

    def __call__(self, frame: Frame, min_score: float) -> list[FaceResult]:
        h, w = frame.shape[:2]
        size = self._size
        scale = size / max(h, w)
        nh, nw = max(round(h * scale), 1), max(round(w * scale), 1)
        pad_y, pad_x = (size - nh) // 2, (size - nw) // 2
        canvas = np.zeros((size, size, 3), np.uint8)
        canvas[pad_y : pad_y + nh, pad_x : pad_x + nw] = cv2.resize(
            frame, (nw, nh), interpolation=cv2.INTER_LINEAR
        )
        tensor = cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB).astype(np.float32) / 127.5 - 1.0
        outputs = self._model(tensor[None])
        raw = next(o for o in outputs if o.shape[-1] == 16)[0]
        logits = next(o for o in outputs if o.shape[-1] == 1)[0, :, 0]
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits, -RAW_SCORE_LIMIT, RAW_SCORE_LIMIT)))
        keep = np.flatnonzero(scores >= min_score)
        if keep.size == 0:
            return []
        # Raw values are input pixels: box centre and keypoints relative to the anchor centre,
        # then box width and height.
        raw = raw[keep].reshape(-1, 8, 2)
        wh = raw[:, 1] / scale
        xy = np.delete(raw, 1, axis=1) + self._anchors[keep, None, :] * size
        xy = (xy - [pad_x, pad_y]) / scale
        centre, keypoints = xy[:, 0], xy[:, 1:]
        corners = np.concatenate([centre - wh / 2, centre + wh / 2], axis=1)
        chosen = cv2.dnn.NMSBoxes(
            [[float(x1), float(y1), float(x2 - x1), float(y2 - y1)] for x1, y1, x2, y2 in corners],
            scores[keep].tolist(),
            min_score,
            NMS_IOU,
        )
        faces = []
        for i in np.asarray(chosen, dtype=int).reshape(-1):
            x1, y1, x2, y2 = np.clip(corners[i], 0, [w, h, w, h]).tolist()
            if x2 - x1 >= 1 and y2 - y1 >= 1:
                faces.append(
                    FaceResult(
                        Box(x1, y1, x2, y2), float(scores[keep][i]), keypoints[i].astype(np.float32)
                    )
                )
        return faces


FIRST_PASS = {
    "short_range": ("face_short_range", ssd_anchors(128, [(8, 2), (16, 6)])),
    "full_range": ("face_full_range", ssd_anchors(192, [(4, 1)])),
}


class FaceDetector:
    """The configured face detector: a first pass on every frame, back-camera recheck."""

    def __init__(self, model_dir: Path, config: FaceConfig, threads: int) -> None:
        self._config = config
        name, anchors = FIRST_PASS[config.first_pass]
        self._first = BlazeFace(model_path(model_dir, name), anchors, threads)
        self._back = BlazeFace(
            model_path(model_dir, "face_back"),
            ssd_anchors(256, [(16, 2), (32, 6)]),
            threads,
        )

    def detect(self, frame: Frame, ts_ms: int) -> tuple[FaceResult, ...]:
        """Faces from the first-pass model, most confident first."""
        faces = self._first(as_bgr(frame), self._config.min_score)
        return tuple(sorted(faces, key=lambda f: -f.score))

    def recheck(self, frame: Frame, faces: tuple[FaceResult, ...]) -> tuple[FaceResult, ...]:
        """`faces` merged with the back-camera model's, most confident first.

        Both sets go through one greedy suppression by score: the short-range model sometimes
        draws one weak box across two small faces, which the back model's sharper boxes beat.
        """
        candidates = sorted(
            (*faces, *self._back(as_bgr(frame), self._config.recheck_min_score)),
            key=lambda f: -f.score,
        )
        kept: list[FaceResult] = []
        for face in candidates:
            if not any(same_face(face.box, k.box) for k in kept):
                kept.append(face)
        return tuple(kept)


def same_face(a: Box, b: Box) -> bool:
    """Overlapping enough, or one box holding the other's centre."""

    def holds(outer: Box, inner: Box) -> bool:
        cx, cy = (inner.x1 + inner.x2) / 2, (inner.y1 + inner.y2) / 2
        return outer.x1 <= cx <= outer.x2 and outer.y1 <= cy <= outer.y2

    return a.iou(b) >= NMS_IOU or holds(a, b) or holds(b, a)
