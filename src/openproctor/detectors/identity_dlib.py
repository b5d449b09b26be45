"""1:1 identity: dlib's ResNet 128-d face embedding and the L2 distance between two of them.

Faces come from our face detector; dlib's 5-point shape predictor only aligns the crop the
network expects (~1 ms). The network costs ~90 ms a face on one core, so the analyzer embeds
only the main face, and callers decide how often to ask.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import dlib
import numpy as np

from openproctor.detectors.base import Box, FloatArray, Frame, as_bgr
from openproctor.detectors.catalog import model_path


def distance(a: FloatArray, b: FloatArray) -> float:
    """L2 distance between embeddings: same person ~0.2-0.45, different ~0.7-0.9."""
    return float(np.linalg.norm(np.asarray(a, np.float32) - np.asarray(b, np.float32)))


class IdentityEmbedder:
    def __init__(self, model_dir: Path) -> None:
        self._shape = dlib.shape_predictor(str(model_path(model_dir, "dlib_shape5")))
        self._net = dlib.face_recognition_model_v1(str(model_path(model_dir, "dlib_resnet")))

    def embed(self, frame: Frame, box: Box) -> FloatArray:
        """The 128-d embedding of the face in `box`."""
        rgb = cv2.cvtColor(as_bgr(frame), cv2.COLOR_BGR2RGB)
        rect = dlib.rectangle(int(box.x1), int(box.y1), int(box.x2), int(box.y2))
        shape = self._shape(rgb, rect)
        return np.asarray(self._net.compute_face_descriptor(rgb, shape), np.float32)
