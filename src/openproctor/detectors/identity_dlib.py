"""1:1 identity: dlib's ResNet 128-d face embedding and the L2 distance between two of them.

Faces come from our face detector; dlib's 5-point shape predictor aligns the 150-px chip the
network takes (~1 ms), so where the face sits in the frame (letterboxing, leaning back) changes
only the chip's sharpness. The network runs either in dlib (`dlib`, ~80 ms a face on one core)
or, the default, converted to ONNX (`resnet_onnx`, tools/convert_face_api.py: the same weights,
8-bit quantised by face-api.js, embeddings within 0.04 of dlib's) in ~9 ms. The ONNX model also
embeds the chip's mirror image and averages the two (~15 ms in all), which on the evaluation
set widens the gap between same- and different-person distances (README, "Identity").
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import cv2
import dlib
import numpy as np

from openproctor.detectors.base import Box, FloatArray, Frame, as_bgr
from openproctor.detectors.catalog import model_path
from openproctor.detectors.config import IdentityConfig
from openproctor.detectors.objects.coco import onnx_session

# dlib's face chip: 150 px with 25 % of the face added on each side.
CHIP_SIZE, CHIP_PADDING = 150, 0.25


def distance(a: FloatArray, b: FloatArray) -> float:
    """L2 distance between embeddings: same person ~0.2-0.45, different ~0.6-0.9."""
    return float(np.linalg.norm(np.asarray(a, np.float32) - np.asarray(b, np.float32)))


class Embedder(Protocol):
    def embed(self, frame: Frame, box: Box) -> FloatArray:
        """The 128-d embedding of the face in `box`."""
        ...


def _rgb(frame: Frame) -> Frame:
    return np.asarray(cv2.cvtColor(as_bgr(frame), cv2.COLOR_BGR2RGB), np.uint8)


class _Aligner:
    """dlib's 5-point shape predictor, for the chip both embedders start from."""

    def __init__(self, model_dir: Path) -> None:
        self._shape = dlib.shape_predictor(str(model_path(model_dir, "dlib_shape5")))

    def shape(self, rgb: Frame, box: Box) -> dlib.full_object_detection:
        return self._shape(rgb, dlib.rectangle(int(box.x1), int(box.y1), int(box.x2), int(box.y2)))


class DlibEmbedder:
    def __init__(self, model_dir: Path) -> None:
        self._aligner = _Aligner(model_dir)
        self._net = dlib.face_recognition_model_v1(str(model_path(model_dir, "dlib_resnet")))

    def embed(self, frame: Frame, box: Box) -> FloatArray:
        rgb = _rgb(frame)
        shape = self._aligner.shape(rgb, box)
        return np.asarray(self._net.compute_face_descriptor(rgb, shape), np.float32)


class OnnxEmbedder:
    def __init__(self, model_dir: Path, threads: int, *, flip: bool) -> None:
        self._aligner = _Aligner(model_dir)
        self._session = onnx_session(model_path(model_dir, "face_resnet"), threads)
        self._flip = flip

    def embed(self, frame: Frame, box: Box) -> FloatArray:
        rgb = _rgb(frame)
        chip = np.asarray(
            dlib.get_face_chip(rgb, self._aligner.shape(rgb, box), CHIP_SIZE, CHIP_PADDING),
            np.float32,
        )
        batch = np.stack([chip, chip[:, ::-1]]) if self._flip else chip[None]
        # The graph takes one chip at a time (a fixed batch of 1).
        outputs = [self._session.run(None, {"image": one[None]})[0][0] for one in batch]
        return np.asarray(np.mean(outputs, axis=0), np.float32)


def build_embedder(model_dir: Path, config: IdentityConfig, threads: int) -> Embedder:
    if config.model == "dlib":
        return DlibEmbedder(model_dir)
    return OnnxEmbedder(model_dir, threads, flip=config.flip)
