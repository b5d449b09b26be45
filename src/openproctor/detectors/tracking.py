"""Per-stream face tracking: the mesh follows the last frame's face, detection runs now and then.

On consecutive frames of one video stream the face is where it was a moment ago, so (as
MediaPipe's face-mesh graph does) the mesh runs on a crop taken from the previous frame's
landmarks and the face detector is skipped. The detector still runs on the first frame, on every
`detect_every`-th frame, after a gap in time, whenever the thumbnail of the scene outside the
tracked faces changed since the last detection (a second person walking in), whenever there
are faces without a mesh to follow, and on the same frame as soon as a tracked face is lost.

A FaceTracker is the state of one stream: the caller owns it (one per candidate session, inside
the worker process) and passes it to `Analyzer.analyze(..., tracker=...)`; nothing is global.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from openproctor.detectors.base import FaceResult, Frame
from openproctor.detectors.config import TrackingConfig
from openproctor.detectors.face_mesh import EyeReading, Roi, roi_of_landmarks

THUMB_WH = (64, 48)

Reason = Literal["start", "periodic", "gap", "motion", "untracked", "lost", "tracked"]


def thumbnail(frame: Frame) -> npt.NDArray[np.int16]:
    """A 64x48 grey picture of the frame, for the scene-change gate."""
    # Subsample to 2.5x the thumbnail first: area-averaging a whole 640x480 frame costs 0.2 ms.
    coarse = (THUMB_WH[0] * 5 // 2, THUMB_WH[1] * 5 // 2)
    small = cv2.resize(
        cv2.resize(frame, coarse, interpolation=cv2.INTER_NEAREST),
        THUMB_WH,
        interpolation=cv2.INTER_AREA,
    )
    return np.asarray(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), np.int16)


def _face_mask(rois: tuple[Roi, ...], frame_wh: tuple[int, int]) -> npt.NDArray[np.bool_]:
    """Thumbnail pixels outside every face crop (the tracked faces may move freely there)."""
    keep = np.ones((THUMB_WH[1], THUMB_WH[0]), bool)
    sx, sy = THUMB_WH[0] / frame_wh[0], THUMB_WH[1] / frame_wh[1]
    for roi in rois:
        half = roi.side / 2
        x1, x2 = int((roi.cx - half) * sx), int(np.ceil((roi.cx + half) * sx))
        y1, y2 = int((roi.cy - half) * sy), int(np.ceil((roi.cy + half) * sy))
        keep[max(y1, 0) : max(y2, 0), max(x1, 0) : max(x2, 0)] = False
    return keep


@dataclass
class FaceTracker:
    """What one video stream showed so far; pass the same instance with each of its frames."""

    config: TrackingConfig = field(default_factory=TrackingConfig)
    faces: tuple[FaceResult, ...] = ()
    # The iris model's last reading of the first face's eyes (the analyzer keeps it).
    eyes: EyeReading | None = None
    # Why the last frame was tracked or detected, and counts over the stream (for metrics).
    reason: Reason = "start"
    frames: int = 0
    detections: int = 0
    _since_detection: int = 0
    _last_ts: int | None = None
    _frame_wh: tuple[int, int] | None = None
    _reference: npt.NDArray[np.int16] | None = field(default=None, repr=False)
    _reference_rois: tuple[Roi, ...] = ()
    _rois: tuple[Roi, ...] = ()
    _thumb: npt.NDArray[np.int16] | None = field(default=None, repr=False)

    def plan(self, frame: Frame, ts_ms: int) -> tuple[Roi, ...] | None:
        """The face crops to follow on this frame, or None when the face detector must run."""
        cfg = self.config
        wh = (frame.shape[1], frame.shape[0])
        self._thumb = thumbnail(frame)
        gap = None if self._last_ts is None else ts_ms - self._last_ts
        if self._reference is None or wh != self._frame_wh:
            self.reason = "start"
        elif gap is None or not 0 <= gap <= cfg.max_gap_ms:
            self.reason = "gap"
        elif not self.faces or any(f.mesh is None for f in self.faces):
            self.reason = "untracked"
        elif self._since_detection + 1 >= cfg.detect_every:
            self.reason = "periodic"
        else:
            rois = self._rois
            keep = _face_mask(rois + self._reference_rois, wh)
            changed = np.abs(self._thumb - self._reference) > cfg.motion_level
            outside = max(int(np.count_nonzero(keep)), 1)
            if int(np.count_nonzero(changed & keep)) > cfg.motion_fraction * outside:
                self.reason = "motion"
            else:
                self.reason = "tracked"
                return rois
        return None

    def lost(self) -> None:
        """A tracked face was lost on this frame; the caller detects instead."""
        self.reason = "lost"

    def update(self, frame: Frame, ts_ms: int, faces: tuple[FaceResult, ...]) -> None:
        """Record this frame's faces; after a detection they also become the new reference."""
        detected = self.reason != "tracked"
        self.frames += 1
        self.faces = faces
        self._last_ts = ts_ms
        self._frame_wh = (frame.shape[1], frame.shape[0])
        self._rois = tuple(roi_of_landmarks(f.mesh.landmarks) for f in faces if f.mesh is not None)
        if detected:
            self.detections += 1
            self._since_detection = 0
            self._reference = self._thumb if self._thumb is not None else thumbnail(frame)
            self._reference_rois = self._rois
        else:
            self._since_detection += 1
