from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pytest

from openproctor.detectors.analyzer import Analyzer
from openproctor.detectors.base import Frame, FrameAnalysis
from openproctor.detectors.config import TrackingConfig
from openproctor.detectors.tracking import FaceTracker

FRAME_MS = 200  # 5 fps


def webcam(still: Frame) -> Frame:
    """A 640x480 frame showing `still` pillarboxed, as a webcam shows a portrait video."""
    scale = min(640 / still.shape[1], 480 / still.shape[0])
    small = cv2.resize(still, (round(still.shape[1] * scale), round(still.shape[0] * scale)))
    frame = np.zeros((480, 640, 3), np.uint8)
    x, y = (640 - small.shape[1]) // 2, (480 - small.shape[0]) // 2
    frame[y : y + small.shape[0], x : x + small.shape[1]] = small
    return frame


@pytest.fixture(scope="module")
def frames(image: Callable[[str], Frame]) -> dict[str, Frame]:
    one = webcam(image("pai_webcam_center"))
    two = one.copy()
    # A second person leans in at the right edge: the astronaut's head.
    two[120:297, 470:620] = cv2.resize(image("astronaut")[20:280, 120:340], (150, 177))
    return {"one": one, "two": two, "none": webcam(image("noface_coffee"))}


def run(
    analyzer: Analyzer, tracker: FaceTracker, sequence: list[Frame]
) -> list[tuple[FrameAnalysis, str]]:
    out: list[tuple[FrameAnalysis, str]] = []
    for i, frame in enumerate(sequence):
        result = analyzer.analyze(frame, i * FRAME_MS, tracker=tracker, objects=False)
        out.append((result, tracker.reason))
    return out


def test_a_steady_face_is_tracked_without_the_detector(
    analyzer: Analyzer, frames: dict[str, Frame]
) -> None:
    tracker = FaceTracker()
    results = run(analyzer, tracker, [frames["one"]] * 6)
    assert [reason for _, reason in results] == ["start"] + ["tracked"] * 4 + ["periodic"]
    untracked = analyzer.analyze(frames["one"], 0)
    for result, reason in results:
        assert len(result.faces) == 1
        mesh = result.faces[0].mesh
        assert mesh is not None
        assert mesh.presence > 0.9
        assert result.flags == untracked.flags
        assert ("face" in result.timings_ms) == (reason != "tracked")
        assert result.faces[0].box.iou(untracked.faces[0].box) > 0.5
    assert (tracker.frames, tracker.detections) == (6, 2)


def test_steady_eyes_are_read_by_the_iris_model_every_other_frame(
    analyzer: Analyzer, frames: dict[str, Frame]
) -> None:
    assert analyzer.config.face.tracking.eyes_reuse_max == 1
    tracker = FaceTracker()
    reused, gazes = [], []
    for i in range(6):
        result = analyzer.analyze(frames["one"], i * FRAME_MS, tracker=tracker, objects=False)
        assert tracker.eyes is not None
        reused.append(tracker.eyes.reused)
        mesh = result.faces[0].mesh
        assert mesh is not None
        gazes.append(mesh.gaze)
    # The sixth frame is a periodic detection: its eyes are read afresh.
    assert reused == [0, 1, 0, 1, 0, 0]
    assert gazes[1] == gazes[0]
    # A face that leaves takes its eyes' reading with it.
    run(analyzer, tracker, [frames["none"]])
    assert tracker.eyes is None


def test_a_second_face_is_found_at_once_when_the_scene_changes(
    analyzer: Analyzer, frames: dict[str, Frame]
) -> None:
    results = run(analyzer, FaceTracker(), [frames["one"]] * 2 + [frames["two"]] * 2)
    assert [len(r.faces) for r, _ in results] == [1, 1, 2, 2]
    assert results[2][1] == "motion"
    assert "multiple_faces" in results[2][0].flags


@pytest.mark.parametrize("every", [3, 5])
def test_a_second_face_is_found_within_n_frames_without_the_scene_gate(
    analyzer: Analyzer, frames: dict[str, Frame], every: int
) -> None:
    config = TrackingConfig(detect_every=every, motion_fraction=1.0)
    sequence = [frames["one"]] * 2 + [frames["two"]] * every
    counts = [len(r.faces) for r, _ in run(analyzer, FaceTracker(config), sequence)]
    assert counts[:2] == [1, 1]
    assert 2 in counts[2:]
    # Once found it has no mesh to follow (mesh_faces=1), so the detector keeps running.
    assert counts[counts.index(2) :] == [2] * (len(counts) - counts.index(2))


def test_a_face_that_leaves_is_gone_on_the_same_frame(
    analyzer: Analyzer, frames: dict[str, Frame]
) -> None:
    sequence = [frames["one"]] * 3 + [frames["none"]] * 2 + [frames["one"]]
    results = run(analyzer, FaceTracker(), sequence)
    assert [len(r.faces) for r, _ in results] == [1, 1, 1, 0, 0, 1]
    assert results[3][1] in {"lost", "motion"}
    assert "no_face" in results[3][0].flags


def test_gaps_and_new_sizes_reset_the_track(analyzer: Analyzer, frames: dict[str, Frame]) -> None:
    tracker = FaceTracker()

    def reason(frame: Frame, ts_ms: int) -> str:
        analyzer.analyze(frame, ts_ms, tracker=tracker, objects=False)
        return tracker.reason

    assert reason(frames["one"], 0) == "start"
    assert reason(frames["one"], 10_000) == "gap"
    assert reason(frames["one"], 9_000) == "gap"
    assert reason(frames["one"][:400, :600].copy(), 9_200) == "start"


def test_without_a_tracker_every_frame_is_detected(
    analyzer: Analyzer, frames: dict[str, Frame]
) -> None:
    for ts in (0, 33):
        assert "face" in analyzer.analyze(frames["one"], ts, objects=False).timings_ms
