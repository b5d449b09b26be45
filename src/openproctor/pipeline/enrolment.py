"""Whether a photo can be a candidate's identity reference: a webcam enrolment photo must show
one lit, near, frontal face with open eyes (the guidance speaks to the candidate); a registered
reference photo (an ID-style portrait taken by someone else) need only show exactly one face,
and its refusal speaks to the staff who uploaded it."""

from __future__ import annotations

import numpy as np

from openproctor.detectors.analyzer import Analyzer, EnrolmentError
from openproctor.pipeline.gates import shrink
from openproctor.pipeline.jobs import EnrolOutcome

# Enrolment asks for a face that later frames can be compared with: one, lit, frontal, near.
ENROL_MAX_YAW = 20.0
ENROL_MIN_FACE_WIDTH = 0.12
ENROL_DARK_MEAN = 45.0


def judge(analyzer: Analyzer, frame: np.ndarray | None, *, reference: bool = False) -> EnrolOutcome:
    """The verdict on one photo (None: it could not be decoded)."""
    if frame is None:
        if reference:
            return EnrolOutcome(False, "the image could not be decoded")
        return EnrolOutcome(False, "The camera picture could not be read. Please try again.")
    if reference:
        return _reference(analyzer, frame)
    if float(shrink(frame).mean()) < ENROL_DARK_MEAN:
        return EnrolOutcome(
            False, "It is too dark to see your face. Turn on a light or face a window."
        )
    try:
        enrolment = analyzer.enrol(frame)
    except EnrolmentError:
        faces = len(analyzer.analyze(frame, 0, objects=False).faces)
        if faces == 0:
            return EnrolOutcome(
                False,
                "We cannot see your face. Sit facing the camera, about an arm's length away, "
                "with your whole face in the picture.",
            )
        return EnrolOutcome(
            False,
            "We can see more than one face. Please make sure you are alone in front of the camera.",
        )
    face = enrolment.face
    mesh = face.mesh
    if (face.box.x2 - face.box.x1) / frame.shape[1] < ENROL_MIN_FACE_WIDTH:
        return EnrolOutcome(False, "Please move a little closer to the camera.")
    if mesh is not None and abs(mesh.pose.yaw) > ENROL_MAX_YAW:
        return EnrolOutcome(False, "Please turn your head to look straight at the camera.")
    if mesh is not None and mesh.eyes.closed:
        return EnrolOutcome(False, "Please keep your eyes open and look at the camera.")
    baseline = enrolment.baseline
    return EnrolOutcome(
        True,
        "Thank you, your face is enrolled.",
        tuple(float(x) for x in enrolment.embedding),
        (baseline.yaw, baseline.pitch, baseline.gaze_x),
        analyzer.config.identity.embedder,
    )


def _reference(analyzer: Analyzer, frame: np.ndarray) -> EnrolOutcome:
    try:
        enrolment = analyzer.enrol(frame)
    except EnrolmentError:
        faces = len(analyzer.analyze(frame, 0, objects=False).faces)
        return EnrolOutcome(
            False, "no face found in the photo" if faces == 0 else f"the photo shows {faces} faces"
        )
    return EnrolOutcome(
        True,
        "reference photo embedded",
        tuple(float(x) for x in enrolment.embedding),
        embedder=analyzer.config.identity.embedder,
    )
