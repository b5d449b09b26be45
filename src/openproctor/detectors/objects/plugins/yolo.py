"""Your own YOLOv8/YOLO11-format ONNX export, with its own class names."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from pydantic import Field

from openproctor.detectors.base import FloatArray, Frame, ModelError, as_bgr
from openproctor.detectors.detections import Detections
from openproctor.detectors.fields import Score
from openproctor.detectors.objects.api import ObjectDetector, ObjectsPluginConfig
from openproctor.detectors.objects.coco import onnx_session


class YoloConfig(ObjectsPluginConfig):
    type: Literal["yolo"] = "yolo"
    path: Path = Field(
        title="ONNX file",
        description="A YOLOv8/YOLO11-format export: input 1x3xHxW in 0..1, output 1x(4+C)xN.",
    )
    class_names: tuple[str, ...] = Field(
        title="Class names",
        description="One label per class channel, in the model's order.",
    )
    min_score: Score = Field(default=0.35, title="Object score", description="Drop below this.")
    iou: Score = Field(default=0.45, title="NMS overlap", description="Suppression IoU.")


class YoloDetector(ObjectDetector[YoloConfig]):
    """Any YOLOv8/YOLO11-format ONNX export: 1x3xHxW RGB in 0..1 in, 1x(4+C)xN out."""

    config_type = YoloConfig

    def __init__(self, model_dir: Path, config: YoloConfig, threads: int) -> None:
        super().__init__(model_dir, config, threads)
        if not config.path.is_file():
            raise ModelError(f"YOLO model {config.path} does not exist")
        self._session = onnx_session(config.path, threads)
        self._input = self._session.get_inputs()[0]
        self._hw = (int(self._input.shape[2]), int(self._input.shape[3]))
        n_out = self._session.get_outputs()[0].shape[1]
        if isinstance(n_out, int) and n_out != 4 + len(config.class_names):
            raise ModelError(
                f"{config.path} has {n_out - 4} classes but {len(config.class_names)} names"
            )

    def detect(self, frame: Frame, ts_ms: int) -> Detections:
        frame = as_bgr(frame)
        (th, tw), (h, w) = self._hw, frame.shape[:2]
        scale = min(th / h, tw / w)
        nh, nw = max(round(h * scale), 1), max(round(w * scale), 1)
        pad_y, pad_x = (th - nh) // 2, (tw - nw) // 2
        canvas = np.full((th, tw, 3), 114, np.uint8)  # Ultralytics' letterbox grey
        canvas[pad_y : pad_y + nh, pad_x : pad_x + nw] = cv2.resize(frame, (nw, nh))
        x = cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB).transpose(2, 0, 1)[None]
        (out,) = self._session.run(None, {self._input.name: x.astype(np.float32) / 255.0})
        return decode_yolo(
            out[0],
            self.config.class_names,
            self.config.min_score,
            self.config.iou,
            (pad_x, pad_y),
            scale,
            (w, h),
        )


def decode_yolo(
    out: FloatArray,
    names: Sequence[str],
    min_score: float,
    iou: float,
    pad: tuple[float, float],
    scale: float,
    frame_wh: tuple[int, int],
) -> Detections:
    """Decode one (4+C)xN YOLO output: centre-size boxes in input pixels, then class scores."""
    scores_all = out[4:].T
    classes = scores_all.argmax(axis=1)
    scores = scores_all[np.arange(classes.size), classes]
    keep = np.flatnonzero(scores >= min_score)
    if keep.size == 0:
        return Detections.empty()
    cx, cy, bw, bh = out[:4, keep]
    x1 = (cx - bw / 2 - pad[0]) / scale
    y1 = (cy - bh / 2 - pad[1]) / scale
    boxes = np.stack([x1, y1, bw / scale, bh / scale], axis=1)
    chosen = cv2.dnn.NMSBoxesBatched(
        boxes.tolist(), scores[keep].tolist(), classes[keep].tolist(), min_score, iou
    )
    w, h = frame_wh
    kept = np.asarray(chosen, dtype=np.intp).reshape(-1)
    bx1, by1, bw_, bh_ = boxes[kept].T
    x2, y2 = np.minimum(bx1 + bw_, w), np.minimum(by1 + bh_, h)
    bx1, by1 = np.maximum(bx1, 0.0), np.maximum(by1, 0.0)
    seen = (x2 > bx1) & (y2 > by1)
    found = Detections.of(
        np.stack([bx1, by1, x2, y2], axis=1)[seen],
        scores[keep][kept][seen],
        [names[c] for c in classes[keep][kept][seen]],
    )
    return found.by_confidence()
