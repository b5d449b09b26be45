"""Identity pairs for `openproctor eval`: scoring at a threshold, and generated variants.

The variants are what the issue's failures looked like: a photo letterboxed into a 640x480
webcam frame, and the face shrunk to 60 and 40 px wide as when a candidate leans back. A photo
is never paired with its own variants (that would only measure the resizing).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from openproctor.detectors.analyzer import Analyzer, EnrolmentError
from openproctor.detectors.base import Box, FloatArray, Frame
from openproctor.detectors.identity_dlib import distance
from openproctor.tools.eval_stats import rate, steps, sweep

WEBCAM_W, WEBCAM_H = 640, 480
FACE_WIDTHS = (60, 40)
# The identity sweep's thresholds: the whole region where same and different pairs meet.
SWEEP_THRESHOLDS = steps(0.30, 0.70, 0.05)


@dataclass(frozen=True, slots=True)
class Sample:
    name: str
    identity: str
    embedding: FloatArray
    photo: str  # the labelled photo it was made from


def letterboxed(frame: Frame, face: Box | None = None, face_width: float | None = None) -> Frame:
    """The photo on a black 640x480 frame: scaled to fit, or, given a face box, scaled so that
    face is `face_width` px wide and centred (the rest cut where it does not fit)."""
    h, w = frame.shape[:2]
    if face is None or face_width is None:
        scale = min(WEBCAM_W / w, WEBCAM_H / h)
        cx, cy = w / 2 * scale, h / 2 * scale
    else:
        scale = face_width / (face.x2 - face.x1)
        cx, cy = (face.x1 + face.x2) / 2 * scale, (face.y1 + face.y2) / 2 * scale
    small = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    canvas = np.zeros((WEBCAM_H, WEBCAM_W, 3), np.uint8)
    # The window of `small` that lands on the canvas, clipped to both.
    x0, y0 = round(cx) - WEBCAM_W // 2, round(cy) - WEBCAM_H // 2
    sx1, sy1 = max(x0, 0), max(y0, 0)
    sx2, sy2 = min(x0 + WEBCAM_W, small.shape[1]), min(y0 + WEBCAM_H, small.shape[0])
    canvas[sy1 - y0 : sy2 - y0, sx1 - x0 : sx2 - x0] = small[sy1:sy2, sx1:sx2]
    return canvas


def variants(analyzer: Analyzer, sample: Sample, frame: Frame, face: Box) -> list[Sample]:
    """The sample letterboxed and with the face 60 and 40 px wide; skips any whose face the
    detector no longer finds alone (a 40-px face in a group photo may vanish)."""
    frames = {"letterboxed": letterboxed(frame)}
    frames |= {f"face{px}": letterboxed(frame, face, px) for px in FACE_WIDTHS}
    out = []
    for kind, image in frames.items():
        try:
            embedding = analyzer.enrol(image).embedding
        except EnrolmentError:
            continue
        out.append(Sample(f"{sample.name}|{kind}", sample.identity, embedding, sample.photo))
    return out


def score(samples: list[Sample], threshold: float) -> dict[str, Any]:
    """Pairs right at `threshold`, the wrong ones, the gap a threshold must fall into, and the
    rates with 95 % intervals at `threshold` and across SWEEP_THRESHOLDS.

    The intervals treat pairs as independent, which they are not (each photo is in many
    pairs): read them as a lower bound on the uncertainty."""
    pairs, wrong = 0, []
    by_kind: dict[bool, list[float]] = {True: [], False: []}
    for a, b in itertools.combinations(samples, 2):
        if a.photo == b.photo:
            continue
        pairs += 1
        same, dist = a.identity == b.identity, distance(a.embedding, b.embedding)
        by_kind[same].append(dist)
        if (dist <= threshold) != same:
            wrong.append({"a": a.name, "b": b.name, "same": same, "distance": round(dist, 3)})
    return {
        "pairs": pairs,
        "correct": pairs - len(wrong),
        "accuracy": round((pairs - len(wrong)) / pairs, 3) if pairs else None,
        "threshold": threshold,
        "wrong": wrong,
        # The wider this gap, the safer any threshold inside it.
        "same_max": round(max(by_kind[True]), 3) if by_kind[True] else None,
        "different_min": round(min(by_kind[False]), 3) if by_kind[False] else None,
        "same_accepted": rate(sum(d <= threshold for d in by_kind[True]), len(by_kind[True])),
        "different_rejected": rate(sum(d > threshold for d in by_kind[False]), len(by_kind[False])),
        # positives: same-person pairs; negatives: different-person pairs.
        "sweep": sweep(by_kind[True], by_kind[False], SWEEP_THRESHOLDS, accept_below=True),
    }
