"""The ID document check, inside an analysis worker: text lines (OCR) and the portrait.

Which face is the document's portrait: the face with the most lines of text beside it, of a
size that fits a printed card (PORTRAIT_TEXT_SHARE of the face's height); at least
MIN_LINES_BY_PORTRAIT of them, so a candidate's own face with no card in view is never taken
for one. In a camera frame the person holding the card is also there: the largest other face,
when clearly bigger than the portrait (LIVE_FACE_RATIO). The portrait's embedding is compared
with the session's enrolment embedding and with that live face; what decides is the web node's
(domains/iddoc/flows.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from openproctor.detectors.base import Box, FaceResult, TextLine
from openproctor.detectors.identity_dlib import distance
from openproctor.pipeline import images
from openproctor.pipeline.jobs import IdDocumentJob, IdDocumentOutcome

# A card's lines are a tenth to a half of its portrait's face height (names, fields, titles);
# the text of a poster or a screen behind the candidate is not, next to the candidate's face.
PORTRAIT_TEXT_SHARE = (0.08, 0.6)
# How far from the portrait its card's lines may be: face widths to either side, face heights
# above and below (a card's text runs beside its photo or under it).
NEAR_SIDE, NEAR_VERTICAL = 5.0, 2.5
MIN_LINES_BY_PORTRAIT = 2
LIVE_FACE_RATIO = 1.5


def _near(face: Box, line: TextLine) -> bool:
    fw, fh = face.x2 - face.x1, face.y2 - face.y1
    x1, y1, x2, y2 = line.box
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    share = (y2 - y1) / fh if fh > 0 else 0.0
    return (
        PORTRAIT_TEXT_SHARE[0] <= share <= PORTRAIT_TEXT_SHARE[1]
        and face.x1 - NEAR_SIDE * fw <= cx <= face.x2 + NEAR_SIDE * fw
        and face.y1 - NEAR_VERTICAL * fh <= cy <= face.y2 + NEAR_VERTICAL * fh
    )


def pick_faces(
    faces: tuple[FaceResult, ...], lines: tuple[TextLine, ...]
) -> tuple[FaceResult | None, FaceResult | None]:
    """(the document's portrait, the live face holding it), either None when not found."""
    counts = [sum(_near(face.box, line) for line in lines) for face in faces]
    ranked = sorted(
        (i for i, count in enumerate(counts) if count >= MIN_LINES_BY_PORTRAIT),
        key=lambda i: (-counts[i], faces[i].box.x2 - faces[i].box.x1),
    )
    if not ranked:
        return None, None
    portrait = faces[ranked[0]]
    width = portrait.box.x2 - portrait.box.x1
    others = [
        face
        for face in faces
        if face is not portrait and face.box.x2 - face.box.x1 >= LIVE_FACE_RATIO * width
    ]
    live = max(others, key=lambda face: face.box.x2 - face.box.x1, default=None)
    return portrait, live


def check_document(
    job: IdDocumentJob,
    read_text: Callable[[np.ndarray], tuple[tuple[TextLine, ...], dict[str, float]]],
    embedded_faces: Callable[[np.ndarray], tuple[FaceResult, ...]],
    *,
    embedder: str,
    max_distance: float,
) -> IdDocumentOutcome:
    """OCR and the portrait's distances for one document photo."""
    start = time.perf_counter()
    try:
        image = images.decode(job.image, images.STILL_LIMIT)
    except images.ImageRefused:
        return IdDocumentOutcome(decoded=False, max_distance=max_distance, embedder=embedder)
    timings = {"decode": (time.perf_counter() - start) * 1000}
    lines, ocr_timings = read_text(image)
    timings.update(ocr_timings)
    start = time.perf_counter()
    faces = embedded_faces(image)
    timings["faces"] = (time.perf_counter() - start) * 1000
    portrait, live = pick_faces(faces, lines)
    enrolment: float | None = None
    frame: float | None = None
    if portrait is not None and portrait.embedding is not None:
        # Embeddings of another model are not comparable (see live/identity.py).
        if job.reference is not None and job.reference_embedder in (None, embedder):
            enrolment = distance(portrait.embedding, np.asarray(job.reference, np.float32))
        if live is not None and live.embedding is not None:
            frame = distance(portrait.embedding, live.embedding)
    return IdDocumentOutcome(
        decoded=True,
        lines=lines,
        document_face=portrait.box.xyxy if portrait else None,
        live_face=live.box.xyxy if live else None,
        distance_enrolment=None if enrolment is None else round(enrolment, 4),
        distance_frame=None if frame is None else round(frame, 4),
        max_distance=max_distance,
        embedder=embedder,
        timings_ms={name: round(ms, 1) for name, ms in timings.items()},
    )
