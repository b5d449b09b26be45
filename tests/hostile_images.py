"""Decompression bombs for tests: tiny real images whose headers claim a huge size."""

from __future__ import annotations

import zlib

import cv2
import numpy as np


def jpeg_declaring(width: int, height: int) -> bytes:
    """An 8x8 JPEG (about 630 bytes) whose frame header says width x height: a decoder that
    believes it allocates width * height * 3 bytes and spends seconds filling them."""
    small = bytes(cv2.imencode(".jpg", np.full((8, 8, 3), 128, np.uint8))[1])
    at = small.index(b"\xff\xc0") + 5  # marker (2), length (2), precision (1), height, width
    return small[:at] + height.to_bytes(2, "big") + width.to_bytes(2, "big") + small[at + 4 :]


def png_declaring(width: int, height: int) -> bytes:
    """An 8x8 PNG whose IHDR (with a correct CRC) says width x height."""
    small = bytes(cv2.imencode(".png", np.full((8, 8, 3), 128, np.uint8))[1])
    ihdr = b"IHDR" + width.to_bytes(4, "big") + height.to_bytes(4, "big") + small[24:29]
    return small[:12] + ihdr + zlib.crc32(ihdr).to_bytes(4, "big") + small[33:]
