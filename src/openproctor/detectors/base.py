"""The typed results every detector stage returns, and the frames it takes.

A detector is built once per worker process from its model files and then called once per frame.
Frames are BGR uint8 arrays (what OpenCV decodes), timestamps are monotonic milliseconds that
travel with the frame. Results are frozen dataclasses so they can cross a process boundary as
plain dicts (`to_dict`) without sharing numpy state.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import cv2
import numpy as np
import numpy.typing as npt

from openproctor.detectors.detections import Detections
from openproctor.detectors.persons import Persons

Frame = npt.NDArray[np.uint8]
FloatArray = npt.NDArray[np.float32]

Flag = Literal[
    "no_face",
    "multiple_faces",
    "prohibited_object",
    "extra_person",
    "looking_away",
    "eyes_closed",
    "identity_mismatch",
    "speech",
]
# The flags the face stage alone decides (no object pass, no identity check, no audio).
FACE_FLAGS: frozenset[Flag] = frozenset(
    {"no_face", "multiple_faces", "looking_away", "eyes_closed"}
)


class ModelError(RuntimeError):
    """A model file is missing or damaged; the message names the fix."""


@dataclass(frozen=True, slots=True)
class TextLine:
    """One line of text read from an image (detectors/ocr.py): what it says, the mean
    probability of its characters, and its axis-aligned box in pixels (x1, y1, x2, y2)."""

    text: str
    score: float
    box: tuple[float, float, float, float]


def as_bgr(frame: object) -> Frame:
    """Return a frame every detector accepts, or raise ValueError saying what is wrong.

    Grey frames are accepted (some webcams send them) and widened to three channels.
    """
    if not isinstance(frame, np.ndarray):
        raise ValueError(f"frame must be a numpy array, not {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise ValueError(f"frame must be uint8, not {frame.dtype}")
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[:, :, 0]
    if frame.ndim == 2:
        frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frame must be HxWx3 BGR, not shape {frame.shape}")
    if frame.shape[0] < 16 or frame.shape[1] < 16:
        raise ValueError(f"frame is too small to analyse: {frame.shape[1]}x{frame.shape[0]}")
    return np.ascontiguousarray(frame)


@dataclass(frozen=True, slots=True)
class Box:
    """Pixel corners in the frame, x1 < x2 and y1 < y2."""

    x1: float
    y1: float
    x2: float
    y2: float

    def __post_init__(self) -> None:
        if not (self.x2 > self.x1 and self.y2 > self.y1):
            raise ValueError(f"empty box {self}")

    @property
    def area(self) -> float:
        return (self.x2 - self.x1) * (self.y2 - self.y1)

    def iou(self, other: Box) -> float:
        w = min(self.x2, other.x2) - max(self.x1, other.x1)
        h = min(self.y2, other.y2) - max(self.y1, other.y1)
        inter = max(w, 0.0) * max(h, 0.0)
        return inter / (self.area + other.area - inter)

    @property
    def xyxy(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)

    def to_list(self) -> list[float]:
        return [round(self.x1, 1), round(self.y1, 1), round(self.x2, 1), round(self.y2, 1)]


@dataclass(frozen=True, slots=True)
class Pose:
    """Head rotation in degrees: yaw positive to the image right, pitch positive up."""

    yaw: float
    pitch: float
    roll: float


@dataclass(frozen=True, slots=True)
class Eyes:
    """Eye aspect ratios (lid gap over eye width) and whether both eyes are closed."""

    ear_left: float
    ear_right: float
    closed: bool


@dataclass(frozen=True, slots=True)
class Gaze:
    """Iris offset from the eye centre in eye widths, averaged over both eyes.

    x is positive towards the image right, y positive down; (0, 0) is looking straight ahead.
    """

    x: float
    y: float


@dataclass(frozen=True, slots=True)
class FaceMesh:
    """What the landmark stage measured on one face."""

    landmarks: FloatArray = field(repr=False)  # 468x3 pixels; z in the same scale as x
    presence: float
    pose: Pose
    eyes: Eyes
    gaze: Gaze


@dataclass(frozen=True, slots=True)
class FaceResult:
    box: Box
    score: float
    keypoints: FloatArray = field(repr=False)  # 6x2: eyes, nose, mouth, ears (pixels)
    mesh: FaceMesh | None = None
    embedding: FloatArray | None = field(default=None, repr=False)
    identity_distance: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"box": self.box.to_list(), "score": round(self.score, 3)}
        if self.mesh is not None:
            pose, eyes, gaze = self.mesh.pose, self.mesh.eyes, self.mesh.gaze
            out["pose"] = {
                "yaw": round(pose.yaw, 1),
                "pitch": round(pose.pitch, 1),
                "roll": round(pose.roll, 1),
            }
            out["eyes"] = {
                "ear_left": round(eyes.ear_left, 3),
                "ear_right": round(eyes.ear_right, 3),
                "closed": eyes.closed,
            }
            out["gaze"] = {"x": round(gaze.x, 3), "y": round(gaze.y, 3)}
        if self.identity_distance is not None:
            out["identity_distance"] = round(self.identity_distance, 3)
        return out


# Hand landmarks (MediaPipe's numbering): 0 the wrist, then four points per finger from the
# thumb (1-4) to the little finger (17-20), the last of each the fingertip.
WRIST = 0


@dataclass(frozen=True, slots=True)
class Hand:
    """One hand: its palm detection and the 21 landmarks measured on the hand crop."""

    box: Box  # the landmarks' extent in frame pixels
    palm_score: float
    presence: float  # the landmark model's own score that its crop holds a hand
    landmarks: FloatArray = field(repr=False)  # 21x3 frame pixels; z scales like x

    @property
    def centre(self) -> tuple[float, float]:
        x, y = self.landmarks[:, :2].mean(axis=0).tolist()
        return float(x), float(y)

    @property
    def size(self) -> float:
        """Wrist to middle-finger knuckle in pixels: a scale that does not change with the grip."""
        return float(np.linalg.norm(self.landmarks[9, :2] - self.landmarks[WRIST, :2]))

    @property
    def spread_deg(self) -> float:
        """Angle between the index and little fingers (knuckle to tip): an open hand, raised to
        ask or waving, spreads them; fingers round a phone lie together."""
        lm = self.landmarks[:, :2].astype(np.float64)
        index, little = lm[8] - lm[5], lm[20] - lm[17]
        cos = float(index @ little) / max(
            float(np.linalg.norm(index) * np.linalg.norm(little)), 1e-6
        )
        return math.degrees(math.acos(max(-1.0, min(1.0, cos))))

    def to_dict(self) -> dict[str, Any]:
        return {
            "box": self.box.to_list(),
            "palm_score": round(self.palm_score, 3),
            "presence": round(self.presence, 3),
            "spread_deg": round(self.spread_deg, 1),
        }


@dataclass(frozen=True, slots=True)
class PhoneEvidence:
    """The best phone evidence in one object pass: its score, where, and which cues made it.

    score is the object model's phone score plus the bonuses of the cues (held in a hand,
    looked at with the head bowed); a hand at the ear is a cue on its own. `phone` is the
    decision: this pass alone, or with the passes before it (PhoneHistory)."""

    score: float
    box: Box | None
    cues: tuple[str, ...]
    phone: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": round(self.score, 3),
            "box": None if self.box is None else self.box.to_list(),
            "cues": list(self.cues),
            "phone": self.phone,
        }


@dataclass(frozen=True, slots=True)
class FrameAnalysis:
    """Everything one frame (and the audio that came with it) showed, and what it cost."""

    ts_ms: int
    width: int
    height: int
    faces: tuple[FaceResult, ...]
    # Objects in the candidate's zone (and every "person" box): what may raise a flag.
    objects: Detections
    speech_prob: float | None
    timings_ms: dict[str, float]
    flags: tuple[Flag, ...]
    persons: Persons
    # Objects found outside the candidate's zone: reported, never flagged.
    background: Detections = field(default_factory=Detections.empty)
    hands: tuple[Hand, ...] = ()
    phone: PhoneEvidence | None = None  # only on frames that had an object pass

    def to_dict(self) -> dict[str, Any]:
        return {
            "ts_ms": self.ts_ms,
            "width": self.width,
            "height": self.height,
            "faces": [f.to_dict() for f in self.faces],
            "objects": self.objects.to_dicts(),
            "background": self.background.to_dicts(),
            "persons": self.persons.to_dict(),
            "speech_prob": None if self.speech_prob is None else round(self.speech_prob, 3),
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "flags": list(self.flags),
            "hands": [h.to_dict() for h in self.hands],
            "phone": None if self.phone is None else self.phone.to_dict(),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))
