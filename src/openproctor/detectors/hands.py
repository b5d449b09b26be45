"""Hands: MediaPipe's palm detector, then its 21 hand landmarks on a crop around each palm.

The two .tflite files come from the `mediapipe` 0.10.21 wheel (Apache-2.0), vendored in
weights/ and run directly on LiteRT: the mediapipe package itself pins numpy<2. The steps follow
MediaPipe's hand-tracking graph: the palm detector (192x192, letterboxed, RGB in 0..1) gives a
box and 7 palm keypoints; the hand crop is that box rotated so the wrist -> middle-finger line
points up, shifted half a box towards the fingers and enlarged 2.6x; the landmark model
(224x224) returns 21 points and a presence score on it.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from openproctor.detectors.base import Box, FloatArray, Frame, Hand, as_bgr
from openproctor.detectors.catalog import model_path
from openproctor.detectors.config import HandsConfig
from openproctor.detectors.face_mediapipe import RAW_SCORE_LIMIT, ssd_anchors
from openproctor.detectors.face_mesh import crop, to_frame
from openproctor.detectors.tflite import TfliteModel

PALM_ANCHORS = ssd_anchors(192, [(8, 2), (16, 6)])
PALM_NMS_IOU = 0.3
# Palm keypoints: 0 the wrist, 2 the middle finger's knuckle (MediaPipe's rotation pair).
PALM_WRIST, PALM_MIDDLE = 0, 2
HAND_CROP_SCALE, HAND_CROP_SHIFT = 2.6, 0.5


class HandDetector:
    """Palms, then landmarks for the most confident `config.max_hands` of them."""

    def __init__(self, model_dir: Path, config: HandsConfig, threads: int) -> None:
        self.config = config
        self._palm = TfliteModel(model_path(model_dir, "palm_detection"), threads)
        self._landmarks = TfliteModel(model_path(model_dir, "hand_landmark"), threads)

    def detect(self, frame: Frame) -> tuple[Hand, ...]:
        """Hands the landmark model confirms, most confident palm first."""
        image = as_bgr(frame)
        hands = []
        for score, box, keypoints in self.palms(image)[: self.config.max_hands]:
            hand = self._measure(image, score, box, keypoints)
            if hand is not None:
                hands.append(hand)
        return tuple(hands)

    def palms(self, frame: Frame) -> list[tuple[float, Box, FloatArray]]:
        """(score, box, 7 keypoints) of each palm at or above min_palm_score, best first."""
        h, w = frame.shape[:2]
        size = self._palm.input_hw[0]
        scale = size / max(h, w)
        nh, nw = max(round(h * scale), 1), max(round(w * scale), 1)
        pad_y, pad_x = (size - nh) // 2, (size - nw) // 2
        canvas = np.zeros((size, size, 3), np.uint8)
        canvas[pad_y : pad_y + nh, pad_x : pad_x + nw] = cv2.resize(frame, (nw, nh))
        tensor = cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
        outputs = self._palm(tensor[None])
        raw = next(o for o in outputs if o.shape[-1] == 18)[0]
        logits = next(o for o in outputs if o.shape[-1] == 1)[0, :, 0]
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits, -RAW_SCORE_LIMIT, RAW_SCORE_LIMIT)))
        keep = np.flatnonzero(scores >= self.config.min_palm_score)
        if keep.size == 0:
            return []
        # Raw values are input pixels: box centre and keypoints relative to the anchor centre,
        # then box width and height (as BlazeFace's).
        raw = raw[keep].reshape(-1, 9, 2)
        wh = raw[:, 1] / scale
        xy = np.delete(raw, 1, axis=1) + PALM_ANCHORS[keep, None, :] * size
        xy = (xy - [pad_x, pad_y]) / scale
        corners = np.concatenate([xy[:, 0] - wh / 2, xy[:, 0] + wh / 2], axis=1)
        chosen = cv2.dnn.NMSBoxes(
            [[float(a), float(b), float(c - a), float(d - b)] for a, b, c, d in corners],
            scores[keep].tolist(),
            self.config.min_palm_score,
            PALM_NMS_IOU,
        )
        palms = []
        for i in np.asarray(chosen, dtype=int).reshape(-1):
            x1, y1, x2, y2 = corners[i].tolist()
            if x2 - x1 >= 1 and y2 - y1 >= 1:
                palms.append((float(scores[keep][i]), Box(x1, y1, x2, y2), xy[i, 1:]))
        return sorted(palms, key=lambda p: -p[0])

    def _measure(self, frame: Frame, score: float, box: Box, keypoints: FloatArray) -> Hand | None:
        """The 21 landmarks on MediaPipe's hand crop around one palm; None if no hand there."""
        wrist, middle = keypoints[PALM_WRIST], keypoints[PALM_MIDDLE]
        # Rotate so that wrist -> middle knuckle points up in the crop.
        angle = math.pi / 2 + math.atan2(float(middle[1] - wrist[1]), float(middle[0] - wrist[0]))
        side = max(box.x2 - box.x1, box.y2 - box.y1)
        # Half a box towards the fingers: the crop's "up" in frame coordinates.
        up = np.array([math.sin(angle), -math.cos(angle)], np.float32)
        centre = np.array([(box.x1 + box.x2) / 2, (box.y1 + box.y2) / 2], np.float32)
        centre = centre + HAND_CROP_SHIFT * side * up
        size = self._landmarks.input_hw[0]
        patch, back = crop(frame, centre, HAND_CROP_SCALE * side, angle, size)
        tensor = cv2.cvtColor(patch, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
        # Outputs: landmarks in crop pixels, hand presence, handedness, world landmarks.
        points, presence_out = self._landmarks(tensor[None])[:2]
        presence = float(presence_out.ravel()[0])
        if presence < self.config.min_presence:
            return None
        landmarks = to_frame(points.reshape(21, 3).astype(np.float32), back)
        (x1, y1), (x2, y2) = landmarks[:, :2].min(axis=0), landmarks[:, :2].max(axis=0)
        if x2 - x1 < 1 or y2 - y1 < 1:
            return None
        return Hand(Box(float(x1), float(y1), float(x2), float(y2)), score, presence, landmarks)
