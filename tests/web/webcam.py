"""Videos for Chromium's fake webcam (--use-file-for-fake-video-capture), made from the clean
photos in tests/fixtures: Y4M, the format Chromium plays at the rate its header gives."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

FIXTURES = Path(__file__).parent.parent / "fixtures"


GROUND = (40, 40, 40)  # dark grey, as in a dim room
LIT_GROUND = (150, 150, 150)  # a lit wall: a portrait with a dark background passes the light check


def letterboxed(
    photo: Path | bytes,
    width: int = 640,
    height: int = 480,
    ground: tuple[int, int, int] = GROUND,
) -> Image.Image:
    """The photo (a file, or an encoded image) scaled into width x height on a grey ground, as
    the fake webcam shows it."""
    image = Image.open(io.BytesIO(photo) if isinstance(photo, bytes) else photo).convert("RGB")
    scale = min(width / image.width, height / image.height)
    image = image.resize((round(image.width * scale), round(image.height * scale)))
    canvas = Image.new("RGB", (width, height), ground)
    canvas.paste(image, ((width - image.width) // 2, (height - image.height) // 2))
    return canvas


def webcam_jpeg(name: str) -> bytes:
    """A fixture photo as the candidate's page would send it at enrolment (640x480 JPEG)."""
    out = io.BytesIO()
    letterboxed(FIXTURES / name).save(out, "JPEG", quality=90)
    return out.getvalue()


def _yuv420(photo: Path | bytes, width: int, height: int, ground: tuple[int, int, int]) -> bytes:
    """The photo letterboxed into width x height, as one planar 4:2:0 frame."""
    canvas = letterboxed(photo, width, height, ground)
    ycbcr = np.asarray(canvas.convert("YCbCr"))
    planes = [ycbcr[:, :, 0]] + [
        ycbcr[:, :, c].reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3)).astype(np.uint8)
        for c in (1, 2)
    ]
    return b"".join(plane.tobytes() for plane in planes)


def write_y4m(
    segments: Sequence[tuple[str | bytes, float]],
    target: Path,
    *,
    fps: int = 2,
    width: int = 640,
    height: int = 480,
    ground: tuple[int, int, int] = GROUND,
) -> Path:
    """A video showing each photo (a fixture's name, or an encoded image such as a card held
    to the camera) for its number of seconds, in order (it loops)."""
    with target.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for name, seconds in segments:
            photo = FIXTURES / name if isinstance(name, str) else name
            frame = b"FRAME\n" + _yuv420(photo, width, height, ground)
            for _ in range(max(1, round(seconds * fps))):
                out.write(frame)
    return target
