"""Every image that enters the server is measured from its header before any pixel is decoded.

A JPEG or PNG of a few hundred bytes can declare 30000x30000 pixels; decoding it takes gigabytes
and many seconds of CPU (a decompression bomb). So live frames, enrolment photos, /detect_faces/
images, evidence and report thumbnails all go through `check` (or `decode`, which checks first):
the declared width and height are read from the JPEG frame header (SOFn) or the PNG IHDR chunk,
and an image larger than its limit, or with a header that cannot be read, is refused.

Limits: a live frame or enrolment photo may be as large as the exam policy's frame size (what
the hello message tells the browser to send); images that come with no policy (/detect_faces/,
stored evidence, reports) at most STILL_LIMIT. Either way round: a phone held upright sends
portrait pictures.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_START = b"\xff\xd8"
# Frame headers of every JPEG coding process (C4 DHT, C8 JPG and CC DAC are not frames).
JPEG_FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers that stand alone, without a length: TEM and the restart markers.
JPEG_STANDALONE_MARKERS = frozenset({0x01, *range(0xD0, 0xD8)})
JPEG_START_OF_SCAN = 0xDA
# A browser or camera JPEG has a handful of segments before its frame header (APPn, DQT) and
# one scan (progressive ones about ten); far more is an attempt to make reading or decoding slow.
MAX_JPEG_SEGMENTS = 64
MAX_JPEG_SCANS = 100


@dataclass(frozen=True, slots=True)
class ImageSize:
    width: int
    height: int

    def fits(self, limit: ImageSize) -> bool:
        """Whether this size fits in `limit`, either way round."""
        return (self.width <= limit.width and self.height <= limit.height) or (
            self.width <= limit.height and self.height <= limit.width
        )

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"


# The documented cap for images that come with no exam policy: 4K UHD, a 25 MB decode.
STILL_LIMIT = ImageSize(3840, 2160)


class ImageRefused(ValueError):
    """An image that is not decoded; the text says why, for the client."""

    status_code = 422  # what an HTTP route answers


class ImageTooLarge(ImageRefused):
    """The header declares more pixels than the limit."""

    status_code = 413


def declared_size(data: bytes) -> ImageSize:
    """Width and height from the JPEG or PNG header, without decoding any pixel."""
    if data.startswith(PNG_SIGNATURE):
        return _png_size(data)
    if data.startswith(JPEG_START):
        return _jpeg_size(data)
    raise ImageRefused("not a JPEG or PNG image")


def check(data: bytes, limit: ImageSize) -> ImageSize:
    """The image's declared size; ImageRefused if its header is unreadable or it exceeds limit."""
    size = declared_size(data)
    if not size.fits(limit):
        raise ImageTooLarge(f"the image declares {size} pixels; at most {limit} is accepted")
    return size


def decode(data: bytes, limit: ImageSize) -> npt.NDArray[np.uint8]:
    """The image's BGR pixels, decoded only once its header passed `check`."""
    check(data, limit)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ImageRefused("the image data is damaged")
    return np.asarray(image, np.uint8)


def _png_size(data: bytes) -> ImageSize:
    # The signature, then IHDR first: length 13, "IHDR", width, height (big-endian u32), ...
    header = data[len(PNG_SIGNATURE) : len(PNG_SIGNATURE) + 16]
    if len(header) < 16 or header[:8] != b"\x00\x00\x00\x0dIHDR":
        raise ImageRefused("the PNG header is truncated or damaged")
    return _nonzero(int.from_bytes(header[8:12], "big"), int.from_bytes(header[12:16], "big"))


def _jpeg_size(data: bytes) -> ImageSize:
    position = len(JPEG_START)
    for _ in range(MAX_JPEG_SEGMENTS):
        if data[position : position + 1] != b"\xff":
            raise ImageRefused("the JPEG header is truncated or damaged")
        while data[position : position + 1] == b"\xff":  # fill bytes may precede a marker
            position += 1
        if position + 3 > len(data):
            raise ImageRefused("the JPEG header is truncated")
        marker = data[position]
        position += 1
        if marker in JPEG_STANDALONE_MARKERS:
            continue
        if marker == JPEG_START_OF_SCAN:
            raise ImageRefused("the JPEG has no frame header before its image data")
        length = int.from_bytes(data[position : position + 2], "big")
        if marker in (0x00, 0xD8, 0xD9) or length < 2 or position + length > len(data):
            raise ImageRefused("the JPEG header is truncated or damaged")
        if marker in JPEG_FRAME_MARKERS:
            if length < 8:
                raise ImageRefused("the JPEG frame header is damaged")
            # Length (2), sample precision (1), height (2), width (2), ...
            height = int.from_bytes(data[position + 3 : position + 5], "big")
            width = int.from_bytes(data[position + 5 : position + 7], "big")
            # In entropy-coded data a 0xFF byte is followed by 0x00, so every FFDA starts a scan.
            if data.count(b"\xff\xda") > MAX_JPEG_SCANS:
                raise ImageRefused(f"the JPEG has more than {MAX_JPEG_SCANS} scans")
            return _nonzero(width, height)
        position += length
    raise ImageRefused(f"the JPEG has more than {MAX_JPEG_SEGMENTS} segments before its frame")


def _nonzero(width: int, height: int) -> ImageSize:
    if width == 0 or height == 0:
        raise ImageRefused("the image declares no size")
    return ImageSize(width, height)
