"""One frame in, one FrameAnalysis out: faces -> mesh -> identity -> objects, hands and the
phone evidence -> the candidate's zone and persons (+ audio).

Build one Analyzer per worker process (loading takes ~0.5 s); it holds no per-candidate state,
so frames from many sessions can go through the same instance. Per-candidate inputs (the
enrolment embedding, pose baseline and, for video streams, the FaceTracker and PhoneHistory)
travel with each call.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from openproctor.detectors.base import (
    Box,
    FaceMesh,
    FaceResult,
    Flag,
    FloatArray,
    Frame,
    FrameAnalysis,
    Hand,
    PhoneEvidence,
    as_bgr,
)
from openproctor.detectors.config import DetectorConfig
from openproctor.detectors.detections import Detections
from openproctor.detectors.face_mediapipe import FaceDetector, same_face
from openproctor.detectors.face_mesh import (
    EyeReading,
    FaceMeshDetector,
    Roi,
    face_of_mesh,
    head_pose,
    is_face,
    roi_of_face,
    roi_of_landmarks,
)
from openproctor.detectors.hands import HandDetector
from openproctor.detectors.identity_dlib import build_embedder
from openproctor.detectors.objects import build as build_objects
from openproctor.detectors.objects.coco import CocoDetector, merge_objects
from openproctor.detectors.persons import count_persons, in_zone
from openproctor.detectors.phones import PhoneHistory, evidence, held, with_phone
from openproctor.detectors.references import ReferenceSet
from openproctor.detectors.segmentation import PersonSegmenter
from openproctor.detectors.tracking import FaceTracker
from openproctor.detectors.vad_silero import VoiceActivityDetector


@dataclass(frozen=True, slots=True)
class Baseline:
    """How the candidate sat at enrolment; pose and gaze are judged relative to it."""

    yaw: float = 0.0
    pitch: float = 0.0
    gaze_x: float = 0.0

    @classmethod
    def of(cls, mesh: FaceMesh) -> Baseline:
        return cls(mesh.pose.yaw, mesh.pose.pitch, mesh.gaze.x)


@dataclass(frozen=True, slots=True)
class Enrolment:
    embedding: FloatArray
    baseline: Baseline
    face: FaceResult


class EnrolmentError(ValueError):
    """The enrolment photo does not show exactly one usable face."""


# The face-region object pass: face widths either side, face heights above and below the face
# box (a phone at the ear, held up, or in the hands in front of the chest).
REGION_SIDE, REGION_ABOVE, REGION_BELOW = 2.5, 1.5, 2.5
# Regions covering more of the frame than this gain too little magnification to be worth a pass.
REGION_MAX_SHARE = 0.7


def face_region(face: Box, width: int, height: int) -> Box | None:
    """Where a phone at the ear or in the hand shows, clipped to the frame; None if too large."""
    fw, fh = face.x2 - face.x1, face.y2 - face.y1
    cx = (face.x1 + face.x2) / 2
    x1, x2 = max(cx - REGION_SIDE * fw, 0.0), min(cx + REGION_SIDE * fw, float(width))
    y1, y2 = max(face.y1 - REGION_ABOVE * fh, 0.0), min(face.y2 + REGION_BELOW * fh, float(height))
    if x2 - x1 < 1 or y2 - y1 < 1 or (x2 - x1) * (y2 - y1) > REGION_MAX_SHARE * width * height:
        return None
    return Box(x1, y1, x2, y2)


class Analyzer:
    def __init__(
        self,
        model_dir: Path,
        config: DetectorConfig,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        """clock times the stages (`timings_ms`), in seconds: wall time by default; the cost
        benchmark uses process CPU time, which other load on the machine does not inflate."""
        self.config = config
        self._clock = clock
        threads = config.threads
        self._faces = FaceDetector(model_dir, config.face, threads)
        self._mesh = FaceMeshDetector(
            model_dir,
            config.face.ear_closed,
            threads,
            eyes_unchanged_diff=config.face.tracking.eyes_unchanged_diff,
            eyes_reuse_max=config.face.tracking.eyes_reuse_max,
        )
        self._identity = (
            build_embedder(model_dir, config.identity, threads) if config.identity.enabled else None
        )
        self._objects = (
            build_objects(config.objects, model_dir, threads) if config.objects else None
        )
        self._hands = (
            HandDetector(model_dir, config.hands, threads)
            if config.hands.enabled and config.objects
            else None
        )
        self._segmenter = (
            PersonSegmenter(model_dir, threads) if self._objects and config.zone.enabled else None
        )
        self._vad = VoiceActivityDetector(model_dir) if config.speech else None

    def analyze(
        self,
        frame: object,
        ts_ms: int,
        *,
        recheck: bool = True,
        objects: bool = True,
        reference: FloatArray | ReferenceSet | None = None,
        baseline: Baseline | None = None,
        audio: npt.NDArray[np.float32] | None = None,
        tracker: FaceTracker | None = None,
        phones: PhoneHistory | None = None,
    ) -> FrameAnalysis:
        """Analyse one BGR frame (and optionally the 16 kHz audio chunk that came with it).

        recheck and objects let a live loop run the costly stages on some frames only;
        reference is the candidate's enrolment embedding (or their ReferenceSet: the face is
        compared with the nearest reference), baseline their enrolment pose.
        tracker is the state of the video stream this frame belongs to: with it, the face
        detector (and recheck) run only on the frames the tracker asks for and the mesh follows
        the faces on the others; it is updated in place. phones is the same stream's phone
        evidence over its object passes (weak evidence must recur there); updated in place.
        """
        image = as_bgr(frame)
        timings: dict[str, float] = {}

        @contextmanager
        def stage(name: str) -> Iterator[None]:
            start = self._clock()
            yield
            timings[name] = timings.get(name, 0.0) + (self._clock() - start) * 1000

        faces: tuple[FaceResult, ...] | None = None
        if tracker is not None:
            with stage("track"):
                rois = tracker.plan(image, ts_ms)
            if rois:
                with stage("mesh"):
                    faces = self._follow(image, rois, tracker)
                if faces is None:
                    tracker.lost()
        if faces is None:
            with stage("face"):
                faces = self._faces.detect(image, ts_ms)
            if recheck:
                with stage("face_recheck"):
                    faces = self._faces.recheck(image, faces)
            eyes = None
            if faces:
                with stage("mesh"):
                    faces, eyes = self._plausible(image, faces)
            if tracker is not None:
                tracker.eyes = eyes
        if tracker is not None:
            with stage("track"):
                tracker.update(image, ts_ms, faces)
        if faces and reference is not None and self._identity is not None:
            references = (
                reference if isinstance(reference, ReferenceSet) else ReferenceSet(reference)
            )
            with stage("identity"):
                embedding = self._identity.embed(image, faces[0].box)
                main = replace(
                    faces[0], embedding=embedding, identity_distance=references.distance(embedding)
                )
                faces = (main, *faces[1:])
        found = background = Detections.empty()
        hands: tuple[Hand, ...] = ()
        phone: PhoneEvidence | None = None
        if objects and self._objects is not None:
            with stage("objects"):
                found = self._objects.detect(image, ts_ms)
            region = face_region(faces[0].box, image.shape[1], image.shape[0]) if faces else None
            crop = self._objects if isinstance(self._objects, CocoDetector) else None
            if region is not None and crop is not None and crop.config.crop_pass:
                with stage("objects_crop"):
                    found = merge_objects(found, crop.detect_region(image, region))
            if self._hands is not None:
                with stage("hands"):
                    hands = self._hands.detect(image)
            phone = self._phone(found, hands, faces, baseline or Baseline())
            if phones is not None:
                phone = phones.decide(phone)
            found = with_phone(found, phone)
            if faces and self._segmenter is not None:
                with stage("segmentation"):
                    mask = self._segmenter.mask(image)
                # What is in a hand is with the candidate, wherever the hand is.
                in_hand = [held(Box(*map(float, box)), hands) for box in found.xyxy]
                near = in_zone(found, faces[0].box.xyxy, mask, self.config.zone) | np.array(
                    in_hand, dtype=np.bool_
                )
                found, background = found[near], found[~near]
        speech_prob = None
        if audio is not None and self._vad is not None:
            with stage("vad"):
                speech_prob = self._vad.speech_prob(audio)

        analysis = FrameAnalysis(
            ts_ms=ts_ms,
            width=image.shape[1],
            height=image.shape[0],
            faces=faces,
            objects=found,
            speech_prob=speech_prob,
            timings_ms=timings,
            flags=(),
            hands=hands,
            phone=phone,
            persons=count_persons([face.box.xyxy for face in faces], found),
            background=background,
        )
        return replace(analysis, flags=self._flags(analysis, baseline or Baseline()))

    def hands(self, frame: object) -> tuple[Hand, ...]:
        """The hands in a frame (none when hands are off)."""
        return self._hands.detect(as_bgr(frame)) if self._hands is not None else ()

    def _phone(
        self,
        found: Detections,
        hands: tuple[Hand, ...],
        faces: tuple[FaceResult, ...],
        baseline: Baseline,
    ) -> PhoneEvidence:
        """This pass's phone evidence, judged against the main face and how far it is bowed."""
        cfg = self.config.phones
        main = faces[0] if faces else None
        pitch = main.mesh.pose.pitch if main is not None and main.mesh is not None else None
        head_down = pitch is not None and pitch - baseline.pitch <= -cfg.head_down_deg
        return evidence(found, hands, main, head_down, cfg)

    def _plausible(
        self, image: Frame, faces: tuple[FaceResult, ...]
    ) -> tuple[tuple[FaceResult, ...], EyeReading | None]:
        """The detections the face-mesh model also takes for faces (`is_face`); the first
        `mesh_faces` of them keep their mesh (pose, eyes, gaze). Also the iris model's reading
        of the first face's eyes, for a tracker to follow them."""
        cfg = self.config.face
        kept: list[FaceResult] = []
        eyes: EyeReading | None = None
        for face in faces:
            measured = sum(f.mesh is not None for f in kept) < cfg.mesh_faces
            if not measured and cfg.min_presence == 0:
                kept.append(face)  # nothing to check and nothing to measure: skip the mesh run
                continue
            landmarks, presence = self._mesh.landmarks(image, roi_of_face(face))
            if is_face(presence, head_pose(landmarks), cfg.min_presence, cfg.head_down_deg):
                mesh = None
                if measured:
                    mesh, reading = self._mesh.complete(image, landmarks, presence)
                    if eyes is None:
                        eyes = reading
                kept.append(replace(face, mesh=mesh))
        return tuple(kept), eyes

    def _follow(
        self, image: Frame, rois: tuple[Roi, ...], tracker: FaceTracker
    ) -> tuple[FaceResult, ...] | None:
        """The tracked faces measured on their crops, or None as soon as one is lost. The first
        face's eyes keep the tracker's last reading while they look the same."""
        cfg = tracker.config
        h, w = image.shape[:2]
        faces: list[FaceResult] = []
        eyes = None
        for roi in rois:
            if faces:
                mesh = self._mesh.measure_roi(image, roi)
            else:
                mesh, eyes = self._mesh.follow(image, roi, tracker.eyes)
            if mesh.presence < cfg.min_presence:
                return None
            face = face_of_mesh(mesh, w, h)
            if face is None or any(same_face(face.box, f.box) for f in faces):
                return None
            moved = roi_of_landmarks(mesh.landmarks)
            if math.hypot(moved.cx - roi.cx, moved.cy - roi.cy) > cfg.max_shift * roi.side:
                return None
            faces.append(face)
        tracker.eyes = eyes
        return tuple(faces)

    def enrol(self, frame: object) -> Enrolment:
        """Embedding and pose baseline from a photo that shows exactly one face."""
        if self._identity is None:
            raise EnrolmentError("identity is disabled in the detector config")
        image = as_bgr(frame)
        faces = self._plausible(image, self._faces.recheck(image, self._faces.detect(image, 0)))[0]
        if len(faces) != 1:
            raise EnrolmentError(f"the photo must show exactly one face, it shows {len(faces)}")
        face = faces[0]
        mesh = face.mesh or self._mesh.measure(image, face)
        embedding = self._identity.embed(image, face.box)
        face = replace(face, mesh=mesh, embedding=embedding)
        return Enrolment(embedding, Baseline.of(mesh), face)

    def embedded_faces(self, frame: object) -> tuple[FaceResult, ...]:
        """Every face in a still (both detector passes, the mesh's plausibility check), each
        with its identity embedding: an ID document and the person holding it."""
        if self._identity is None:
            raise EnrolmentError("identity is disabled in the detector config")
        image = as_bgr(frame)
        faces = self._plausible(image, self._faces.recheck(image, self._faces.detect(image, 0)))[0]
        return tuple(
            replace(face, embedding=self._identity.embed(image, face.box)) for face in faces
        )

    def _flags(self, a: FrameAnalysis, baseline: Baseline) -> tuple[Flag, ...]:
        cfg = self.config
        flags: list[Flag] = []
        if not a.faces:
            flags.append("no_face")
        if len(a.faces) >= 2:
            flags.append("multiple_faces")
        if any(label in cfg.prohibited for label in a.objects.label):
            flags.append("prohibited_object")
        if a.persons.count >= 2:
            flags.append("extra_person")
        mesh = a.faces[0].mesh if a.faces else None
        if mesh is not None:
            turned = (
                abs(mesh.pose.yaw - baseline.yaw) > cfg.face.max_yaw_deg
                or abs(mesh.pose.pitch - baseline.pitch) > cfg.face.max_pitch_deg
            )
            # Closed eyes have no meaningful iris position.
            glancing = (
                not mesh.eyes.closed and abs(mesh.gaze.x - baseline.gaze_x) > cfg.face.max_gaze
            )
            if turned or glancing:
                flags.append("looking_away")
            if mesh.eyes.closed:
                flags.append("eyes_closed")
        distance_ = a.faces[0].identity_distance if a.faces else None
        if distance_ is not None and distance_ > cfg.identity.max_distance:
            flags.append("identity_mismatch")
        if a.speech_prob is not None and a.speech_prob >= cfg.min_speech:
            flags.append("speech")
        return tuple(flags)
