"""Which detectors run and with what thresholds; plain pydantic so settings can embed it.

Importing this module must stay cheap: it is read by the web process, which never loads a model.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from openproctor.detectors.fields import DetectorSettings, Score
from openproctor.detectors.objects import ObjectsConfig, default_objects_config
from openproctor.detectors.persons import ZoneConfig


class TrackingConfig(DetectorSettings):
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
    eyes_unchanged_diff: Annotated[float, Field(ge=0.0, le=255.0)] = Field(
        default=3.5,
        title="Unchanged eyes",
        description=(
            "On a tracked face, eyes whose middles (iris and lids, blurred grey) differ by less "
            "than this mean grey level from the ones the iris model last read keep that reading "
            "(open or closed, gaze) instead of a new iris pass; 0 reads them on every frame. "
            "On the evaluation videos, frame pairs 0.5-1 s apart whose eyes closed, opened or "
            "turned past the gaze limit differ by 5.6 or more; steady eyes 1.7-2.9 (median)."
        ),
    )
    eyes_reuse_max: Annotated[int, Field(ge=0, le=10)] = Field(
        default=1,
        title="Frames an eye reading stands",
        description=(
            "At most this many frames in a row keep an earlier reading of the eyes, however "
            "alike they look (1: the iris model reads at least every other frame)."
        ),
    )


class FaceConfig(DetectorSettings):
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
    min_presence: Score = Field(
        default=0.45,
        title="Face plausibility",
        description=(
            "A detected face counts only if the face-mesh model's presence score reaches this "
            "(real faces 0.63-1.0 on the evaluation set and its 40-px variants, a cat, a clock "
            "or a cup held over the face 0.00-0.24; 0.45 is the middle of that gap) or its "
            "landmarks show a bowed head; 0 counts every detection."
        ),
    )
    head_down_deg: Annotated[float, Field(gt=0.0, le=90.0)] = Field(
        default=40.0,
        title="Bowed-head pitch",
        description=(
            "A face whose mesh reads the head pitched down further than this counts even at a "
            "low presence score (writing on the desk: presence 0.04-0.15, pitch -50; non-faces "
            "-25 to +27, upright faces -36 to +14)."
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


class IdentityConfig(DetectorSettings):
    enabled: bool = Field(
        default=True,
        title="Identity check",
        description="Compute a 128-d embedding of the main face and compare it with the enrolment.",
    )
    model: Literal["resnet_onnx", "dlib"] = Field(
        default="resnet_onnx",
        title="Identity model",
        description=(
            "dlib's face ResNet run by ONNX Runtime (resnet_onnx, ~9 ms a face, ~15 with flip) "
            "or by dlib itself (dlib, ~80 ms); both embed dlib's aligned 150-px face chip and "
            "share the distance scale."
        ),
    )
    flip: bool = Field(
        default=True,
        title="Mirror-image average",
        description=(
            "resnet_onnx also embeds the mirrored chip and averages the two: a second ~7 ms "
            "pass that widened the same/different-person gap on the evaluation set."
        ),
    )
    max_distance: Annotated[float, Field(gt=0.0, lt=2.0)] = Field(
        default=0.5,
        title="Same-person distance",
        description=(
            "L2 distance at or below which two embeddings are the same person: the middle of "
            "the gap between same-person pairs (up to 0.44) and different people (from 0.58) "
            "on the evaluation set with letterboxed and 40-px-face variants (resnet_onnx, flip)."
        ),
    )

    @property
    def embedder(self) -> str:
        """What makes the embeddings, stored with each enrolment: embeddings from different
        models (or with and without flip) are 0.07-0.12 apart on the same photo, so they are
        never compared with each other."""
        return f"{self.model}+flip" if self.model == "resnet_onnx" and self.flip else self.model


class HandsConfig(DetectorSettings):
    """MediaPipe's palm detector and hand landmarks, run with the object pass (phone evidence)."""

    enabled: bool = Field(
        default=True,
        title="Hands",
        description="Find hands (palm detector + 21 landmarks) on frames that get an object pass.",
    )
    min_palm_score: Score = Field(
        default=0.5,
        title="Palm score",
        description="Palms the detector scores below this are ignored (MediaPipe's own default).",
    )
    min_presence: Score = Field(
        default=0.5,
        title="Hand presence",
        description="A palm counts as a hand only if the landmark model's presence reaches this.",
    )
    max_hands: Annotated[int, Field(ge=0, le=8)] = Field(
        default=2,
        title="Hands measured",
        description="Landmarks are measured for this many palms, most confident first.",
    )


class PhoneConfig(DetectorSettings):
    """How the object model's phone scores and the hand cues add up to a phone.

    Chosen on `openproctor eval` with its phone sweep: real phones score 0.24-0.37 on the object
    model alone, objects that are not phones up to 0.26 here and 0.30-0.34 on unseen images, so
    the cues, not the score alone, make the margin."""

    min_score: Score = Field(
        default=0.4,
        title="Phone score",
        description=(
            "Evidence at or above this is a phone at once: the object model's phone score plus "
            "the bonuses below. Real phones score 0.44-0.55 with their cues on the evaluation "
            "set, everything else at most 0.26 there and 0.34 on unseen images (no cue)."
        ),
    )
    held_bonus: Score = Field(
        default=0.2,
        title="Held in a hand",
        description="Added to a phone the object model finds in or touching a detected hand.",
    )
    looked_at_bonus: Score = Field(
        default=0.1,
        title="Looked at",
        description=(
            "Added to a phone below the face while the head is bowed by head_down_deg or more "
            "from the candidate's baseline (a phone on the desk or in the lap being read)."
        ),
    )
    head_down_deg: Annotated[float, Field(gt=0.0, le=90.0)] = Field(
        default=20.0,
        title="Bowed head",
        description="Head pitch below the baseline from which the candidate looks down.",
    )
    weak_score: Score = Field(
        default=0.35,
        title="Weak phone score",
        description=(
            "Evidence from this up to min_score counts only when confirm_passes of the last "
            "confirm_window object passes of the same stream had it too; a gripping hand at "
            "the ear (the object model rarely sees the phone behind it) scores this. Above the "
            "0.34 unseen non-phones score, which would recur on every pass of a still scene."
        ),
    )
    confirm_passes: Annotated[int, Field(ge=1, le=10)] = Field(
        default=2,
        title="Passes to confirm",
        description="Object passes with weak evidence that make a phone (k of n).",
    )
    confirm_window: Annotated[int, Field(ge=1, le=10)] = Field(
        default=3,
        title="Passes looked back",
        description="The last n object passes of a stream counted for confirm_passes.",
    )
    ear_reach: Annotated[float, Field(gt=0.0, le=3.0)] = Field(
        default=0.8,
        title="Hand at the ear",
        description=(
            "A hand counts as at the ear when its centre lies within this many face widths of "
            "an ear, beside the face (not on the chin or mouth), between eye and chin height, "
            "and is not open (a raised hand has four stretched fingers)."
        ),
    )


class DetectorConfig(DetectorSettings):
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
        default_factory=default_objects_config,
        title="Objects",
        description=(
            "Object detector, a plugin chosen by its type (detectors/objects/plugins/): "
            "centernet (default), nanodet, or yolo with your own ONNX file; null turns it off."
        ),
    )
    hands: HandsConfig = Field(
        default_factory=HandsConfig,
        title="Hands",
        description="Hands for phone evidence; they run only with the object pass.",
    )
    phones: PhoneConfig = Field(
        default_factory=PhoneConfig,
        title="Phones",
        description="Phone evidence from the object model and the hands, across object passes.",
    )
    prohibited: frozenset[str] = Field(
        default=frozenset({"cell phone", "book", "laptop"}),
        title="Prohibited objects",
        description="Object labels that raise prohibited_object.",
    )
    zone: ZoneConfig = Field(
        default_factory=ZoneConfig,
        title="Candidate's zone",
        description="Where an object must be to raise prohibited_object (detectors/persons.py).",
    )
    speech: bool = Field(
        default=True, title="Voice activity", description="Run Silero VAD on audio chunks."
    )
    min_speech: Score = Field(
        default=0.5,
        title="Speech probability",
        description="Audio at or above this raises speech.",
    )
