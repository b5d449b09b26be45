"""Who is in the frame: persons from faces and bodies together, and the candidate's zone.

numpy and pydantic only (no model runtime), so the web process can read results and settings.

Persons: every face counts as a person, and a body box (the object model's "person") adds one
only when it holds none of the faces. Neither detector alone is enough: the body model misses
people the face model sees clearly (two men side by side, a group), and sees people whose face
is turned away or cut by the frame edge.

The zone: an object raises prohibited_object only when it is with the candidate, not somewhere
behind them. It is in the zone when most of its box lies on the people the segmentation model
finds (a phone in the hand, on the lap or on the desk against the body), or when it is about as
large as the candidate's face or larger, so at the candidate's distance from the camera or
nearer, and touches the person (a book held out beside the body, a laptop on the desk against
the arms). A book spine or a poster behind the candidate is smaller than the face; several
spines boxed together can be face-sized, but they lie off the person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import Field

from openproctor.detectors.detections import Detections
from openproctor.detectors.fields import DetectorSettings, Score

BoxLike = Sequence[float]

# A body holds a face when the face's centre is inside the body box's columns and the body
# starts no lower than this many face heights under the face (CenterNet often boxes only the
# torso, from the shoulders down) and reaches below the face's centre.
BODY_TOP_BELOW_FACE = 0.5


@dataclass(frozen=True, slots=True)
class Persons:
    """How many people one frame shows: faces, plus bodies that hold no face."""

    faces: int
    bodies: int

    @property
    def count(self) -> int:
        return self.faces + self.bodies

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "faces": self.faces, "bodies": self.bodies}


def holds_face(body: BoxLike, face: BoxLike) -> bool:
    """Whether the body box can be the body of the face box (both x1, y1, x2, y2)."""
    bx1, by1, bx2, by2 = body
    fx1, fy1, fx2, fy2 = face
    cx, cy = (fx1 + fx2) / 2, (fy1 + fy2) / 2
    return bx1 <= cx <= bx2 and by1 <= fy2 + BODY_TOP_BELOW_FACE * (fy2 - fy1) and by2 >= cy


def count_persons(faces: Sequence[BoxLike], objects: Detections) -> Persons:
    """Faces, and the "person" boxes among `objects` holding none of them."""
    bodies = objects[objects.label == "person"]
    lone = sum(not any(holds_face(body, face) for face in faces) for body in bodies.xyxy.tolist())
    return Persons(faces=len(faces), bodies=lone)


class ZoneConfig(DetectorSettings):
    """Which objects are with the candidate (and may raise prohibited_object)."""

    enabled: bool = Field(
        default=True,
        title="Candidate's zone",
        description=(
            "Objects raise prohibited_object only in the candidate's zone: on the segmented "
            "people or as large as the face (a bookshelf or poster behind the candidate does "
            "not); off, every object found counts. Frames without a face have no zone: every "
            "object counts."
        ),
    )
    min_mask_share: Score = Field(
        default=0.5,
        title="Share on the person",
        description=(
            "An object whose box lies on the segmented people by this share or more is in the "
            "zone: phones in hand, on the lap or on the desk in front 1.0 on the evaluation "
            "set, shelf books behind the candidate 0.0-0.26 (in the shelf composites 13 of "
            "4,671 background detections reached 0.5, all scored 0.25 or less)."
        ),
    )
    min_touch_share: Score = Field(
        default=0.1,
        title="Share on the person of a near object",
        description=(
            "A face-sized object counts only if this share of its box lies on the segmented "
            "people (a book held beside the body covers the hand or arm): several shelf spines "
            "boxed together are face-sized too, but off the person (0.0-0.03 in the shelf "
            "composites)."
        ),
    )
    min_face_areas: float = Field(
        default=0.6,
        ge=0.0,
        title="Size of a near object",
        description=(
            "An object whose box is at least this many times the candidate's face box is near "
            "the camera and in the zone if it also touches the person (min_touch_share): books "
            "held up 1.8-2.2 face areas on the evaluation set, a laptop on the desk 1.75, single "
            "shelf spines behind 0.1-0.4 (several boxed together reach 2.2)."
        ),
    )


@dataclass(frozen=True, slots=True)
class PersonMask:
    """The segmentation model's person probability on a coarse grid covering the frame."""

    probability: npt.NDArray[np.float32]  # (rows, cols), 0..1
    width: int
    height: int

    def shares(self, xyxy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """For each box (frame pixels), the share of its grid cells that show a person."""
        rows, cols = self.probability.shape
        on = self.probability >= 0.5
        out = np.zeros(len(xyxy))
        for i, (x1, y1, x2, y2) in enumerate(xyxy.tolist()):
            c1, c2 = _cells(x1, x2, self.width, cols)
            r1, r2 = _cells(y1, y2, self.height, rows)
            out[i] = float(on[r1:r2, c1:c2].mean())
        return out


def _cells(start: float, stop: float, size: int, cells: int) -> tuple[int, int]:
    """The grid cells a pixel span covers: at least one, within the grid."""
    first = min(max(int(start / size * cells), 0), cells - 1)
    last = min(max(int(np.ceil(stop / size * cells)), first + 1), cells)
    return first, last


def in_zone(
    objects: Detections, face: BoxLike, mask: PersonMask, config: ZoneConfig
) -> npt.NDArray[np.bool_]:
    """Which objects are in the zone of the candidate whose face box is `face`; "person" boxes
    always are (they are counted as persons, not judged as objects)."""
    fx1, fy1, fx2, fy2 = face
    sizes = (objects.xyxy[:, 2] - objects.xyxy[:, 0]) * (objects.xyxy[:, 3] - objects.xyxy[:, 1])
    large = sizes >= config.min_face_areas * (fx2 - fx1) * (fy2 - fy1)
    shares = mask.shares(objects.xyxy)
    near = (shares >= config.min_mask_share) | (large & (shares >= config.min_touch_share))
    result: npt.NDArray[np.bool_] = near | (objects.label == "person")
    return result
