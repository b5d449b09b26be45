"""The ID document check, inside an analysis worker: text lines (OCR) and the portrait.

Which face is the document's portrait: the face with the most lines of text beside it (to its
left or right, within BESIDE_GAP face widths, the line's middle within half a face height of
the face's top and bottom) and of a size that fits a printed card (PORTRAIT_TEXT_SHARE of the
face's height); at least MIN_LINES_BY_PORTRAIT of them. A card held under the chin has its
lines below the candidate's face, not beside it, and a card held by the cheek has print far
smaller than the face, so the candidate's own face is not taken for the portrait; nor is the
largest face when another is much smaller (LIVE_FACE_RATIO): a card's portrait is never larger
than the face of the person holding it. That person's face, the largest other face when clearly
bigger than the portrait, is the live face. The portrait's embedding is compared with the
session's enrolment embedding and with that live face; what decides is the web node's
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

# A card's lines are a tenth to a half of its portrait's face height (names, fields, titles).
PORTRAIT_TEXT_SHARE = (0.08, 0.6)
BESIDE_GAP = 4.0
MIN_LINES_BY_PORTRAIT = 2
LIVE_FACE_RATIO = 1.5


def beside(face: Box, line: TextLine) -> bool:
    """Whether a line could be printed next to this face on a card."""
    fw, fh = face.x2 - face.x1, face.y2 - face.y1
    x1, y1, x2, y2 = line.box
    share = (y2 - y1) / fh if fh > 0 else 0.0
    gap = max(x1 - face.x2, face.x1 - x2)  # negative when they overlap side by side
    return (
        PORTRAIT_TEXT_SHARE[0] <= share <= PORTRAIT_TEXT_SHARE[1]
        and 0 <= gap <= BESIDE_GAP * fw
        and face.y1 - fh / 2 <= (y1 + y2) / 2 <= face.y2 + fh / 2
    )


def _width(face: FaceResult) -> float:
    return face.box.x2 - face.box.x1


def pick_faces(
    faces: tuple[FaceResult, ...], lines: tuple[TextLine, ...]
) -> tuple[FaceResult | None, FaceResult | None]:
    """(the document's portrait, the live face holding it), either None when not found."""
    largest = max(faces, key=_width, default=None)
    smallest = min(faces, key=_width, default=None)
    candidates = [
        face
        for face in faces
        if not (
            face is largest
            and smallest is not None
            and _width(face) >= LIVE_FACE_RATIO * _width(smallest)
        )
    ]
    counts = {id(face): sum(beside(face.box, line) for line in lines) for face in candidates}
    ranked = sorted(
        (face for face in candidates if counts[id(face)] >= MIN_LINES_BY_PORTRAIT),
        key=lambda face: (-counts[id(face)], _width(face)),
    )
    if not ranked:
        return None, None
    portrait = ranked[0]
    others = [
        face
        for face in faces
        if face is not portrait and _width(face) >= LIVE_FACE_RATIO * _width(portrait)
    ]
    return portrait, max(others, key=_width, default=None)


def check_document(
    job: IdDocumentJob,
    read_text: Callable[[np.ndarray], tuple[tuple[TextLine, ...], dict[str, float]]],
    embedded_faces: Callable[[np.ndarray], tuple[FaceResult, ...]],
    *,
    embedder: str,
    max_distance: float,
    clock: Callable[[], float] = time.perf_counter,
) -> IdDocumentOutcome:
    """OCR and the portrait's distances for one document photo; clock times the stages."""
    start = clock()
    try:
        image = images.decode(job.image, images.STILL_LIMIT)
    except images.ImageRefused:
        return IdDocumentOutcome(decoded=False, max_distance=max_distance, embedder=embedder)
    timings = {"decode": (clock() - start) * 1000}
    lines, ocr_timings = read_text(image)
    timings.update(ocr_timings)
    start = clock()
    faces = embedded_faces(image)
    timings["faces"] = (clock() - start) * 1000
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
