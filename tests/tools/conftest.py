"""The offline tools are tried on the detectors' fixture images, and on a video made of them."""

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from openproctor.detectors.base import Frame
from tests.detectors.conftest import image

__all__ = ["image", "video"]


@pytest.fixture(scope="session")
def video(tmp_path_factory: pytest.TempPathFactory, image: Callable[[str], Frame]) -> Path:
    """Two seconds of 10 fps MJPEG: one second of a face, one second of a coffee cup."""
    path = tmp_path_factory.mktemp("video") / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10, (640, 480))
    for name in ("pai_webcam_center", "noface_coffee"):
        still = image(name)
        scale = min(640 / still.shape[1], 480 / still.shape[0])
        small = cv2.resize(still, (round(still.shape[1] * scale), round(still.shape[0] * scale)))
        frame = np.zeros((480, 640, 3), np.uint8)  # pillarbox, as a webcam shows a portrait
        x, y = (640 - small.shape[1]) // 2, (480 - small.shape[0]) // 2
        frame[y : y + small.shape[0], x : x + small.shape[1]] = small
        for _ in range(10):
            writer.write(frame)
    writer.release()
    return path
