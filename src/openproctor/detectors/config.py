"""Which detectors run and with what thresholds; plain pydantic so settings can embed it.

Importing this module must stay cheap: it is read by the web process, which never loads a model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

Score = Annotated[float, Field(ge=0.0, le=1.0)]


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TrackingConfig(_Config):
    """How a FaceTracker follows faces across consecutive frames of one video stream."""

    detect_every: Annotated[int, Field(ge=1, le=100)] = Field(
        default=5,
        title="Detection interval",
        description=(
            "The face detector runs at least on every Nth frame, so a new face is found within "
            "N frames even when nothing else triggers it; 1 turns tracking off."
        ),
    )
    min_presence: Score = Field(
        default=0.5,
        title="Tracking presence",
        description=(
            "A tracked face whose mesh presence falls below this is lost and the detector runs "
            "on the same frame (MediaPipe's min_tracking_confidence)."
        ),
    )
    max_shift: Annotated[float, Field(gt=0.0, le=1.0)] = Field(
        default=0.25,
        title="Largest tracked move",
        description=(
            "A face whose crop moved more than this fraction of its side between two frames was "
            "measured on a stale crop: the detector runs on the same frame instead."
        ),
    )
    max_gap_ms: Annotated[int, Field(ge=0)] = Field(
        default=2500,
        title="Largest frame gap",
        description="Frames further apart than this (or out of order) are not tracked across.",
    )
    motion_fraction: Score = Field(
        default=0.04,
        title="Scene change",
        description=(
            "Share of a 64x48 grey thumbnail, outside the tracked faces, that may change (by "
            "more than motion_level) since the last detection before the detector runs again: "
            "a person walking in must not wait for the next periodic detection."
        ),
    )
    motion_level: Annotated[int, Field(ge=1, le=255)] = Field(
        default=24,
        title="Changed pixel",
        description="Grey-level difference at which a thumbnail pixel counts as changed.",
    )


class FaceConfig(_Config):
    first_pass: Literal["full_range", "short_range"] = Field(
        default="full_range",
        title="First-pass face model",
        description=(
            "BlazeFace run on every frame: full_range (192 px, 3.5 ms, faces up to ~5 m) or "
            "short_range (128 px, 1 ms, but it loses faces under ~1/8 of the frame width)."
        ),
    )
    min_score: Score = Field(
        default=0.5,
        title="Face score",
        description="Faces the first-pass model scores below this are dropped.",
    )
    recheck_min_score: Score = Field(
        default=0.75,
        title="Second-pass face score",
        description=(
            "The back-camera model only adds faces the first model missed, so it needs a higher "
            "bar: it scores a coffee cup 0.71."
        ),
    )
    mesh_faces: Annotated[int, Field(ge=0, le=8)] = Field(
        default=1,
        title="Faces with a mesh",
        description="Pose, eyes and gaze are measured for this many faces, most confident first.",
    )
    ear_closed: Annotated[float, Field(gt=0.0, lt=1.0)] = Field(
        default=0.15,
        title="Eye aspect ratio for closed",
        description="Both eyes below this count as closed: open 0.18-0.4, shut 0.03-0.09.",
    )
    max_yaw_deg: Annotated[float, Field(gt=0.0, le=90.0)] = Field(
        default=30.0,
        title="Largest yaw",
        description="Head turned further than this (from the baseline) is looking away.",
    )
    max_pitch_deg: Annotated[float, Field(gt=0.0, le=90.0)] = Field(
        default=25.0,
        title="Largest pitch",
        description="Head tilted further than this (from the baseline) is looking away.",
    )
    tracking: TrackingConfig = Field(
        default_factory=TrackingConfig,
        title="Tracking",
        description="Used only for calls that pass a FaceTracker (video streams).",
    )
    max_gaze: Annotated[float, Field(gt=0.0, le=0.5)] = Field(
        default=0.1,
        title="Largest gaze offset",
        description=(
            "Iris offset from the baseline, in eye widths: looking ahead spans about +-0.09, "
            "eyes turned aside -0.12."
        ),
    )


class IdentityConfig(_Config):
    enabled: bool = Field(
        default=True,
        title="Identity check",
        description="Compute a 128-d dlib embedding of the main face (about 90 ms a face).",
    )
    max_distance: Annotated[float, Field(gt=0.0, lt=2.0)] = Field(
        default=0.5,
        title="Same-person distance",
        description=(
            "L2 distance at or below which two embeddings are the same person; on our "
            "evaluation set same-person pairs reach 0.42 and different people start at 0.59."
        ),
    )


class CocoConfig(_Config):
    """What the bundled COCO detectors share: score floors and the face-region pass."""

    min_score: Score = Field(
        default=0.3,
        title="Object score",
        description="Objects scored below this are dropped.",
    )
    class_min_score: dict[str, Score] = Field(
        default_factory=dict,
        title="Per-class scores",
        description="Overrides min_score per COCO label.",
    )

    crop_pass: bool = Field(
        default=True,
        title="Face-region pass",
        description=(
            "Run the detector a second time, magnified, on the region around and below the "
            "main face (a phone at the ear or in the hand); costs one more pass on frames with "
            "a face."
        ),
    )
    crop_labels: frozenset[str] = Field(
        default=frozenset({"cell phone"}),
        title="Face-region labels",
        description=(
            "Labels kept from the face-region pass; people and furniture cut by the crop's "
            "edges are better judged on the whole frame."
        ),
    )
    crop_min_score: Score = Field(
        default=0.3,
        title="Face-region score",
        description="Floor for the face-region pass, usually above the whole-frame floor.",
    )


class CenterNetConfig(CocoConfig):
    """CenterNet-MobileNetV3 at 512 px (~47 ms a pass on one core): the default."""

    type: Literal["centernet"] = "centernet"
    class_min_score: dict[str, Score] = Field(
        default_factory=lambda: {"person": 0.4, "cell phone": 0.27, "book": 0.24},
        title="Per-class scores",
        description=(
            "Overrides min_score per COCO label: phones in hand score 0.24-0.35, and weak "
            "second 'person' peaks on one body reach 0.33."
        ),
    )
    crop_min_score: Score = Field(
        default=0.3,
        title="Face-region score",
        description=(
            "Floor for the face-region pass, above the whole-frame floor: objects cut by the "
            "crop edge and magnified texture score up to 0.28 there on frames without a phone."
        ),
    )


class NanoDetConfig(CocoConfig):
    """NanoDet at 416 px (~43 ms a pass on one core), the alternative bundled COCO detector."""

    type: Literal["nanodet"] = "nanodet"
    class_min_score: dict[str, Score] = Field(
        default_factory=lambda: {"person": 0.5, "cell phone": 0.27, "book": 0.24},
        title="Per-class scores",
        description=(
            "Overrides min_score per COCO label: phones in hand score 0.19-0.28 on the whole "
            "frame (a phone drawn on a book cover 0.44), and people cut by the frame's edge or "
            "half hidden behind the candidate reach 0.49."
        ),
    )
    crop_min_score: Score = Field(
        default=0.3,
        title="Face-region score",
        description=(
            "Floor for the face-region pass, above the whole-frame floor: on frames without a "
            "phone it scores up to 0.24 there, a phone held up 0.47."
        ),
    )


class YoloConfig(_Config):
    type: Literal["yolo"] = "yolo"
    path: Path = Field(
        title="ONNX file",
        description="A YOLOv8/YOLO11-format export: input 1x3xHxW in 0..1, output 1x(4+C)xN.",
    )
    class_names: tuple[str, ...] = Field(
        title="Class names",
        description="One label per class channel, in the model's order.",
    )
    min_score: Score = Field(default=0.35, title="Object score", description="Drop below this.")
    iou: Score = Field(default=0.45, title="NMS overlap", description="Suppression IoU.")


def _objects_type(value: object) -> str:
    """The plugin an objects config names; without a type (say one environment variable that
    changes a threshold) it is the default detector's."""
    if isinstance(value, dict):
        return str(value.get("type", "centernet"))
    return str(getattr(value, "type", "centernet"))


ObjectsConfig = Annotated[
    Annotated[CenterNetConfig, Tag("centernet")]
    | Annotated[NanoDetConfig, Tag("nanodet")]
    | Annotated[YoloConfig, Tag("yolo")],
    Discriminator(_objects_type),
]


class DetectorConfig(_Config):
    """The detector set one analyzer builds; one analyzer per worker process."""

    threads: Annotated[int, Field(ge=1, le=64)] = Field(
        default=1,
        title="Threads per model",
        description="Inference threads each model may use; workers scale out by process.",
    )
    face: FaceConfig = Field(
        default_factory=FaceConfig, title="Faces", description="Face detection, pose and eyes."
    )
    identity: IdentityConfig = Field(
        default_factory=IdentityConfig, title="Identity", description="1:1 face verification."
    )
    objects: ObjectsConfig | None = Field(
        default_factory=CenterNetConfig,
        title="Objects",
        description=(
            "COCO object detector: centernet (default), nanodet, or yolo with your own ONNX "
            "file; null turns it off."
        ),
    )
    prohibited: frozenset[str] = Field(
        default=frozenset({"cell phone", "book", "laptop"}),
        title="Prohibited objects",
        description="Object labels that raise prohibited_object.",
    )
    speech: bool = Field(
        default=True, title="Voice activity", description="Run Silero VAD on audio chunks."
    )
    min_speech: Score = Field(
        default=0.5,
        title="Speech probability",
        description="Audio at or above this raises speech.",
    )
