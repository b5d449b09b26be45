"""Evidence images: the frame that opened a violation, raw and with the detections drawn."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import cv2

from openproctor.detectors.detections import BoxTuple, DetectedObject
from openproctor.pipeline import images

FACE_COLOUR = (80, 200, 80)  # BGR
EXTRA_FACE_COLOUR = (60, 60, 230)
OBJECT_COLOUR = (0, 160, 255)


def annotate(jpeg: bytes, faces: Sequence[BoxTuple], objects: Iterable[DetectedObject]) -> bytes:
    """The frame with face boxes (the candidate green, others red) and labelled objects.

    Returns the raw JPEG unchanged if it is refused or cannot be decoded, so evidence is never
    lost (a live frame was checked against the exam's frame size when it arrived).
    """
    try:
        image = images.decode(jpeg, images.STILL_LIMIT)
    except images.ImageRefused:
        return jpeg
    thickness = max(2, image.shape[1] // 320)
    for index, (x1, y1, x2, y2) in enumerate(faces):
        colour = FACE_COLOUR if index == 0 else EXTRA_FACE_COLOUR
        cv2.rectangle(image, (int(x1), int(y1)), (int(x2), int(y2)), colour, thickness)
    for found in objects:
        if found.label == "person":
            continue
        x1, y1, x2, y2 = (int(v) for v in found.box)
        cv2.rectangle(image, (x1, y1), (x2, y2), OBJECT_COLOUR, thickness)
        caption = f"{found.label} {found.score:.2f}"
        cv2.putText(
            image,
            caption,
            (x1 + 3, max(y1 - 6, 14)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.5,
            OBJECT_COLOUR,
            1,
            cv2.LINE_AA,
        )
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return encoded.tobytes() if ok else jpeg
