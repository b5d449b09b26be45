"""Which pixels show people: MediaPipe's selfie segmentation (256x256, ~4 ms on one core).

Run on LiteRT like the face models; the mask stays on the model's 256x256 grid (the zone needs
box shares, not a full-size mask).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from openproctor.detectors.base import Frame
from openproctor.detectors.catalog import model_path
from openproctor.detectors.persons import PersonMask
from openproctor.detectors.tflite import TfliteModel


class PersonSegmenter:
    def __init__(self, model_dir: Path, threads: int) -> None:
        self._model = TfliteModel(model_path(model_dir, "selfie_segmentation"), threads)

    def mask(self, frame: Frame) -> PersonMask:
        """The person probability of a BGR frame, squeezed to the model's square input as
        MediaPipe's selfie segmentation graph does (no letterbox)."""
        h, w = frame.shape[:2]
        rows, cols = self._model.input_hw
        rgb = cv2.cvtColor(cv2.resize(frame, (cols, rows)), cv2.COLOR_BGR2RGB)
        (probability,) = self._model((rgb.astype(np.float32) / 255.0)[None])
        return PersonMask(np.asarray(probability[0, :, :, 0], np.float32), w, h)
