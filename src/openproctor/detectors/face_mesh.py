"""Face landmarks, head pose, eye openness and gaze from MediaPipe's Face Mesh and Iris models.

The mesh model runs on a crop around each face, rotated so the eyes are level (as MediaPipe's
own graph does). The crop comes from a face detection (`measure`) or, when a caller tracks a
face across video frames, from the previous frame's landmarks (`measure_roi` with
`roi_of_landmarks`); the detector itself keeps no state between frames. On a followed face
the caller may also pass the last EyeReading: eyes that look the same keep it instead of a new
iris pass (`follow`). Pose comes straight from the mesh's 3-D landmarks; its pitch depends on
the face's shape, so callers compare pose against the candidate's own enrolment baseline rather
than against zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from openproctor.detectors.base import (
    Box,
    Eyes,
    FaceMesh,
    FaceResult,
    FloatArray,
    Frame,
    Gaze,
    Pose,
)
from openproctor.detectors.catalog import model_path
from openproctor.detectors.tflite import TfliteModel

Affine = npt.NDArray[np.float64]

FACE_ROI_SCALE = 1.5
EYE_ROI_SCALE = 2.3
# Mesh indices. "Right" and "left" are the person's: their right eye is on the image left.
RIGHT_EYE_CORNERS = (33, 133)
LEFT_EYE_CORNERS = (362, 263)
FOREHEAD, CHIN = 10, 152
# The iris model's first 16 contour points: 0 and 8 are the corners, 1-7 the lower lid and
# 9-15 the upper lid. These six are the classic eye-aspect-ratio points p1..p6.
EAR_CONTOUR = (0, 11, 13, 8, 5, 3)
# Mesh points standing in for BlazeFace's six keypoints: eyes (corner pairs), nose tip, mouth
# (lip pair), right and left tragion.
KEYPOINT_GROUPS = ((33, 133), (362, 263), (1,), (13, 14), (234,), (454,))


# An eye's aspect ratio and gaze offset (along, across its corner line).
EyeValues = tuple[float, float, float]


def eye_centres(patches: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """The middle of each eye crop (stacked, grey), blurred: the iris and lids, which move
    when eyes close or turn, without the brows and the skin around. Blurring first keeps a
    sensor's pixel noise out of the comparison."""
    size = patches.shape[1]
    blurred = cv2.GaussianBlur(patches, (5, 5), 0)
    eyes = blurred.reshape(-1, size, size)
    middle = eyes[:, size // 4 : 3 * size // 4, 3 * size // 16 : 13 * size // 16]
    return np.ascontiguousarray(middle)


@dataclass(frozen=True, slots=True)
class EyeReading:
    """The iris model's last reading of a tracked face's eyes: the middles of the two eye
    crops it read (`eye_centres`; the person's right eye, then the mirrored left) and what it
    read on each."""

    centres: npt.NDArray[np.uint8] = field(repr=False)
    right: EyeValues
    left: EyeValues
    reused: int = 0  # frames since, that took this reading over

    def unchanged(self, centres: npt.NDArray[np.uint8], *, max_diff: float) -> bool:
        """Whether `centres` show the same eyes: a mean grey difference below max_diff."""
        diff = np.abs(centres.astype(np.int16) - self.centres.astype(np.int16))
        return float(diff.mean()) < max_diff


@dataclass(frozen=True, slots=True)
class Roi:
    """A square face crop: centre and side in frame pixels, angle in radians (eyes level)."""

    cx: float
    cy: float
    side: float
    angle: float


def roi_of_face(face: FaceResult) -> Roi:
    """The crop MediaPipe takes around a detection: 1.5x its box, rotated by the eye line."""
    right_eye, left_eye = face.keypoints[0], face.keypoints[1]
    dx, dy = left_eye - right_eye
    box = face.box
    return Roi(
        (box.x1 + box.x2) / 2,
        (box.y1 + box.y2) / 2,
        FACE_ROI_SCALE * max(box.x2 - box.x1, box.y2 - box.y1),
        math.atan2(float(dy), float(dx)),
    )


def roi_of_landmarks(landmarks: FloatArray) -> Roi:
    """The crop for the next video frame: the landmarks' extent in the eye-aligned frame, 1.5x.

    This is how MediaPipe's face-mesh graph tracks a face between detections.
    """
    ex, ey = landmarks[LEFT_EYE_CORNERS[1], :2] - landmarks[RIGHT_EYE_CORNERS[0], :2]
    angle = math.atan2(float(ey), float(ex))
    c, s = math.cos(angle), math.sin(angle)
    xy = landmarks[:, :2].astype(np.float64)
    # Coordinates along and across the eye line.
    u = xy[:, 0] * c + xy[:, 1] * s
    v = -xy[:, 0] * s + xy[:, 1] * c
    mu, mv = (u.min() + u.max()) / 2, (v.min() + v.max()) / 2
    side = FACE_ROI_SCALE * max(float(u.max() - u.min()), float(v.max() - v.min()))
    return Roi(float(mu * c - mv * s), float(mu * s + mv * c), side, angle)


def face_of_mesh(mesh: FaceMesh, width: int, height: int) -> FaceResult | None:
    """A FaceResult for a tracked face: landmark extent as box, presence as score.

    None when less than half of the landmark extent lies inside the frame.
    """
    xy = mesh.landmarks[:, :2]
    (x1, y1), (x2, y2) = xy.min(axis=0).tolist(), xy.max(axis=0).tolist()
    cx1, cy1, cx2, cy2 = max(x1, 0.0), max(y1, 0.0), min(x2, float(width)), min(y2, float(height))
    if cx2 - cx1 < 1 or cy2 - cy1 < 1:
        return None
    if (cx2 - cx1) * (cy2 - cy1) < 0.5 * (x2 - x1) * (y2 - y1):
        return None
    keypoints = np.array([xy[list(g)].mean(axis=0) for g in KEYPOINT_GROUPS], np.float32)
    return FaceResult(Box(cx1, cy1, cx2, cy2), mesh.presence, keypoints, mesh=mesh)


def is_face(presence: float, pose: Pose, min_presence: float, head_down_deg: float) -> bool:
    """Whether the mesh model takes what a detector boxed for a real face.

    Its presence score is ~1 on faces and ~0 on cats, clocks or cups the detector boxed. It also
    falls on real heads bowed far forward (writing on the desk: 0.04-0.15), where the landmarks
    still say so: a non-face gets a near-frontal mean shape (pitch within +-27 deg on the
    evaluation set), a bowed head a pitch past -45.
    """
    return presence >= min_presence or pose.pitch <= -head_down_deg


def crop(
    frame: Frame, centre: FloatArray, side: float, angle: float, out: int
) -> tuple[Frame, Affine]:
    """A square `out`x`out` crop of `side` pixels around `centre`, rotated by -`angle` radians.

    Returns the crop and the affine map from crop pixels back to frame pixels.
    """
    m = np.asarray(
        cv2.getRotationMatrix2D(
            (float(centre[0]), float(centre[1])), math.degrees(angle), out / side
        ),
        np.float64,
    )
    m[:, 2] += out / 2 - centre
    patch = cv2.warpAffine(
        frame, m, (out, out), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
    )
    return np.asarray(patch, np.uint8), np.asarray(cv2.invertAffineTransform(m), np.float64)


def to_frame(points: FloatArray, back: Affine) -> FloatArray:
    """Map crop (x, y[, z]) points to the frame; z scales like x."""
    out = points.copy()
    out[:, :2] = points[:, :2] @ back[:, :2].T + back[:, 2]
    if points.shape[1] > 2:
        out[:, 2] = points[:, 2] * math.hypot(back[0, 0], back[1, 0])
    return out


def eye_aspect_ratio(p: FloatArray) -> float:
    """(two lid gaps) / (2 x corner distance) over the six EYE points, in the image plane."""
    width = float(np.linalg.norm(p[0, :2] - p[3, :2]))
    gaps = float(np.linalg.norm(p[1, :2] - p[5, :2]) + np.linalg.norm(p[2, :2] - p[4, :2]))
    return gaps / (2 * width) if width > 0 else 0.0


def head_pose(landmarks: FloatArray) -> Pose:
    """Yaw, pitch and roll from the face's own axes in the mesh's 3-D landmarks."""
    ex = landmarks[LEFT_EYE_CORNERS[1]] - landmarks[RIGHT_EYE_CORNERS[0]]
    ex /= np.linalg.norm(ex)
    ey = landmarks[CHIN] - landmarks[FOREHEAD]
    ey -= ex * float(ex @ ey)
    ey /= np.linalg.norm(ey)
    # x right, y down, z away from the camera: the face normal points at the camera.
    normal = -np.cross(ex, ey)
    return Pose(
        yaw=math.degrees(math.atan2(normal[0], -normal[2])),
        pitch=math.degrees(math.atan2(-normal[1], math.hypot(normal[0], normal[2]))),
        roll=math.degrees(math.atan2(ex[1], ex[0])),
    )


def gaze_offset(
    corner_a: FloatArray, corner_b: FloatArray, iris: FloatArray
) -> tuple[float, float]:
    """Iris position along (x) and across (y) the corner-to-corner line, from its middle."""
    axis = corner_b - corner_a
    length2 = float(axis @ axis)
    rel = iris - corner_a
    along = float(rel @ axis) / length2 - 0.5
    across = float(axis[0] * rel[1] - axis[1] * rel[0]) / length2
    return along, across


class FaceMeshDetector:
    """Measures pose, eyes and gaze on faces a face detector found."""

    def __init__(
        self,
        model_dir: Path,
        ear_closed: float,
        threads: int,
        *,
        eyes_unchanged_diff: float = 0.0,
        eyes_reuse_max: int = 0,
    ) -> None:
        """eyes_unchanged_diff, eyes_reuse_max: on a followed face (`follow`), eyes whose crops
        changed by less than the diff since the iris model last read them keep that reading,
        for at most reuse_max frames in a row (0: the iris model reads every frame)."""
        self._mesh = TfliteModel(model_path(model_dir, "face_landmark"), threads)
        self._iris = TfliteModel(model_path(model_dir, "iris_landmark"), threads, batch=2)
        self._ear_closed = ear_closed
        self._eyes_unchanged_diff = eyes_unchanged_diff
        self._eyes_reuse_max = eyes_reuse_max

    def measure(self, frame: Frame, face: FaceResult) -> FaceMesh:
        return self.measure_roi(frame, roi_of_face(face))

    def measure_roi(self, frame: Frame, roi: Roi) -> FaceMesh:
        """Landmarks, pose, eyes and gaze of the face in `roi`; `presence` says if one is there."""
        return self.complete(frame, *self.landmarks(frame, roi))[0]

    def follow(
        self, frame: Frame, roi: Roi, seen: EyeReading | None
    ) -> tuple[FaceMesh, EyeReading]:
        """measure_roi for a face followed across a stream's frames: `seen` is the last reading
        of its eyes, which stands while they look the same (see __init__)."""
        return self.complete(frame, *self.landmarks(frame, roi), seen=seen)

    def landmarks(self, frame: Frame, roi: Roi) -> tuple[FloatArray, float]:
        """The mesh model alone (no iris pass): 468 landmarks in frame pixels and presence."""
        size = self._mesh.input_hw[0]
        centre = np.array([roi.cx, roi.cy], np.float32)
        patch, back = crop(frame, centre, roi.side, roi.angle, size)
        tensor = cv2.cvtColor(patch, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
        raw, presence_logit = self._mesh(tensor[None])
        presence = 1.0 / (1.0 + math.exp(-float(np.clip(presence_logit.ravel()[0], -80, 80))))
        return to_frame(raw.reshape(-1, 3), back), presence

    def complete(
        self,
        frame: Frame,
        landmarks: FloatArray,
        presence: float,
        seen: EyeReading | None = None,
    ) -> tuple[FaceMesh, EyeReading]:
        """The FaceMesh of `landmarks` (pose from them, eyes and gaze from the iris model, or
        from `seen` while the eyes look the same) and the reading its eyes came from."""
        # The mesh model barely moves its eyelid points when eyes close; the iris model's
        # eye contour does, so openness and gaze both come from it.
        reading = self._eyes(frame, landmarks, seen)
        right, left = reading.right, reading.left
        mesh = FaceMesh(
            landmarks=landmarks.astype(np.float32),
            presence=presence,
            pose=head_pose(landmarks),
            eyes=Eyes(left[0], right[0], max(left[0], right[0]) < self._ear_closed),
            gaze=Gaze((left[1] + right[1]) / 2, (left[2] + right[2]) / 2),
        )
        return mesh, reading

    def _eyes(self, frame: Frame, landmarks: FloatArray, seen: EyeReading | None) -> EyeReading:
        """Aspect ratio and gaze offset of the person's right and left eye, both through the
        iris model in one invocation, unless `seen` still holds.

        The iris model was trained on one eye; MediaPipe mirrors the person's left eye for it,
        and so do we. Each eye's corners are taken image-left first; the offsets are relative
        to them, so a reading taken over stays right while the crops (aligned on the corners)
        look the same.
        """
        size = self._iris.input_hw[0]
        sides = ((RIGHT_EYE_CORNERS, False), (LEFT_EYE_CORNERS, True))
        patches, backs = [], []
        for (i, j), flip in sides:
            a, b = landmarks[i, :2], landmarks[j, :2]
            angle = math.atan2(float(b[1] - a[1]), float(b[0] - a[0]))
            side = EYE_ROI_SCALE * float(np.linalg.norm(b - a))
            patch, back = crop(frame, np.asarray((a + b) / 2, np.float32), side, angle, size)
            patches.append(patch[:, ::-1] if flip else patch)
            backs.append(back)
        # The two patches stacked are one image to convert, then a batch of two.
        stacked = np.concatenate(patches)
        centres = eye_centres(np.asarray(cv2.cvtColor(stacked, cv2.COLOR_BGR2GRAY), np.uint8))
        if (
            seen is not None
            and seen.reused < self._eyes_reuse_max
            and seen.unchanged(centres, max_diff=self._eyes_unchanged_diff)
        ):
            return replace(seen, reused=seen.reused + 1)
        rgb = cv2.cvtColor(stacked, cv2.COLOR_BGR2RGB)
        contours, irises = self._iris(rgb.reshape(2, size, size, 3).astype(np.float32) / 255.0)
        eyes: list[EyeValues] = []
        for ((i, j), flip), back, contour, iris in zip(sides, backs, contours, irises, strict=True):
            points = np.concatenate(
                [contour.reshape(-1, 3)[list(EAR_CONTOUR), :2], iris.reshape(-1, 3)[:1, :2]]
            )
            if flip:
                points[:, 0] = size - points[:, 0]
            points = to_frame(points, back)
            a, b = landmarks[i, :2], landmarks[j, :2]
            eyes.append((eye_aspect_ratio(points[:6]), *gaze_offset(a, b, points[6])))
        return EyeReading(centres, eyes[0], eyes[1])
