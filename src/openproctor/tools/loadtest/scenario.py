"""What each simulated candidate shows, and when: the frames and the script of scenes."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

SAMPLES = Path(__file__).parent.parent.parent / "samples"
FRAME_SIZE = (640, 480)
# Prime, so a session skipping frames rarely analyses the same variant twice in a row (which
# the frozen-video gate would rightly flag).
VARIANTS = 31
SCRIPT_START_S = 8.0
SCRIPT_LENGTH_S = 6.0
PHASE_STEP = (math.sqrt(5) - 1) / 2  # golden ratio: consecutive candidates land far apart


def frame_variants() -> dict[str, list[bytes]]:
    """Each sample scene letterboxed to 640x480, in a few slightly shifted versions."""
    rng = np.random.default_rng(7)
    scenes: dict[str, list[bytes]] = {}
    for scene, name in (
        ("one", "pai_webcam_center"),
        ("two", "fr_two_people"),
        ("none", "noface_coffee"),
    ):
        image = cv2.imread(str(SAMPLES / f"{name}.jpg"))
        if image is None:
            raise RuntimeError(f"sample {name} is missing from {SAMPLES}")
        scale = min(FRAME_SIZE[0] / image.shape[1], FRAME_SIZE[1] / image.shape[0])
        resized = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        variants = []
        h, w = resized.shape[:2]
        dx, dy = (FRAME_SIZE[0] - w) // 2, (FRAME_SIZE[1] - h) // 2
        for _ in range(VARIANTS):
            canvas = np.full((FRAME_SIZE[1], FRAME_SIZE[0], 3), 40, np.uint8)
            shift = np.array([[1, 0, rng.uniform(-6, 6)], [0, 1, rng.uniform(-4, 4)]], np.float32)
            canvas[dy : dy + h, dx : dx + w] = cv2.warpAffine(
                resized, shift, (w, h), borderMode=cv2.BORDER_REPLICATE
            )
            variants.append(
                cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes()
            )
        scenes[scene] = variants
    return scenes


def scene_at(index: int, elapsed: float) -> str:
    scripted = SCRIPT_START_S <= elapsed < SCRIPT_START_S + SCRIPT_LENGTH_S
    if scripted and index % 10 == 0:
        return "two"
    if scripted and index % 10 == 1:
        return "none"
    return "one"
