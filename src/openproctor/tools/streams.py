"""A candidate's camera stream for the benches (bench --compare, --latency): a video as the
frames a page sends, at the times the hub asks for them.

A candidate's page sends frames at the exam policy's rate; while a condition waits for its
debounce the hub asks for more (live/schedule.py `confirm_fps`), and the page follows the rate
message at once. `next_frame_at` is that schedule, `Clip` the picture on screen at any time.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2

from openproctor.detectors.analyzer import EnrolmentError
from openproctor.live.schedule import confirm_fps
from openproctor.pipeline.worker import Worker, decode
from openproctor.tools.detection import read_video

# Cost is CPU time of this process (models run single-threaded in it): on a shared machine,
# wall time would also count the time other processes took the core.
CLOCK = time.process_time
JPEG_QUALITY = 90


@dataclass(frozen=True, slots=True)
class Clip:
    """A video's frames (ts_ms, JPEG) played in a loop, as a fake camera plays it."""

    ts_ms: list[int]
    jpegs: list[bytes]
    seconds: float  # one play: the last frame's time plus one frame interval

    def frames(self) -> list[tuple[int, bytes]]:
        return list(zip(self.ts_ms, self.jpegs, strict=True))

    @classmethod
    def of(cls, frames: Sequence[tuple[int, bytes]]) -> Clip:
        ts = [t for t, _ in frames]
        step = ts[1] - ts[0] if len(ts) > 1 else 1000
        return cls(ts, [jpeg for _, jpeg in frames], (ts[-1] + step) / 1000)

    @classmethod
    def read(cls, video: Path, *, there_and_back: bool = False) -> Clip | None:
        """Every frame of `video` as browsers send it (JPEG); None if it has none. With
        there_and_back, one play is forwards then backwards (a jump back to the start would be
        a change of scene no candidate makes)."""
        frames = [
            (ts, cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])[1].tobytes())
            for ts, frame in read_video(video, None)
        ]
        if not frames:
            return None
        if there_and_back and len(frames) > 2:
            step = frames[1][0] - frames[0][0]
            jpegs = [jpeg for _, jpeg in frames]
            frames = [(n * step, jpeg) for n, jpeg in enumerate(jpegs + jpegs[-2:0:-1])]
        return cls.of(frames)

    def at(self, t: float) -> bytes:
        """The frame on screen `t` seconds into the looped stream."""
        into = (t % self.seconds) * 1000
        return self.jpegs[max(bisect.bisect_right(self.ts_ms, into) - 1, 0)]


def next_frame_at(at: float, *, base_fps: float, pending: bool) -> float:
    """When the page sends its next frame after one at `at`: at the base rate, or at the
    confirmation rate while a condition waits for its debounce."""
    wanted = confirm_fps(pending=pending, watched=False, load_factor=1.0)
    return at + 1 / max(base_fps, wanted)


def enrolment_of(
    worker: Worker, frames: Sequence[tuple[int, bytes]]
) -> tuple[tuple[float, ...] | None, tuple[float, float, float] | None]:
    """The first frame that enrols (one frontal face) stands for the enrolment photo: its
    embedding and pose baseline (yaw, pitch, gaze x)."""
    for _, jpeg in frames:
        frame = decode(jpeg)
        if frame is None:
            continue
        try:
            enrolment = worker.analyzer.enrol(frame)
        except EnrolmentError:
            continue
        b = enrolment.baseline
        return tuple(float(v) for v in enrolment.embedding), (b.yaw, b.pitch, b.gaze_x)
    return None, None
