"""`openproctor attention`: the attention score (rules/attention.py) over a video or a run of
stills, with the real models, as the live loop computes it frame by frame."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from openproctor.detectors.analyzer import Analyzer, Baseline
from openproctor.detectors.base import Frame
from openproctor.detectors.config import DetectorConfig
from openproctor.detectors.tracking import FaceTracker
from openproctor.pipeline.worker import look
from openproctor.rules.attention import AttentionWindow, glance
from openproctor.tools.detection import read_image, read_video


def score_frames(
    analyzer: Analyzer, frames: Iterable[tuple[int, Frame]], baseline: Baseline | None = None
) -> Iterator[dict[str, Any]]:
    """One row per frame: time, the main face's look, the glance and the score after it.
    Without a baseline, the first frame whose face has a mesh is the enrolment pose."""
    window = AttentionWindow()
    tracker = FaceTracker(analyzer.config.face.tracking)
    for ts_ms, frame in frames:
        analysis = analyzer.analyze(frame, ts_ms, objects=False, tracker=tracker)
        main = analysis.faces[0] if analysis.faces else None
        if baseline is None and main is not None and main.mesh is not None:
            baseline = Baseline.of(main.mesh)
        seen = look(main, baseline or Baseline()) if main is not None else None
        at = ts_ms / 1000
        window.add(glance(at, faces=len(analysis.faces), look=seen, page_in_front=True))
        attention = window.score(at)
        yield {
            "t": round(at, 2),
            "faces": len(analysis.faces),
            "yaw": seen.yaw if seen else None,
            "pitch": seen.pitch if seen else None,
            "gaze_x": seen.gaze_x if seen else None,
            "eyes_open": seen.eyes_open if seen else None,
            "score": attention.score if attention else None,
            "label": attention.label if attention else None,
        }


def score_video(
    path: Path,
    *,
    model_dir: Path,
    config: DetectorConfig,
    fps: float,
    loops: int,
    enrol: Path | None,
) -> Iterator[dict[str, Any]]:
    """The video played `loops` times in a row (Chromium's fake camera loops it too)."""
    analyzer = Analyzer(model_dir, config)
    baseline = None
    if enrol is not None:
        faces = analyzer.analyze(read_image(enrol), 0, objects=False).faces
        if not faces or faces[0].mesh is None:
            raise ValueError(f"no face with a mesh in {enrol}")
        baseline = Baseline.of(faces[0].mesh)

    def played() -> Iterator[tuple[int, Frame]]:
        offset = 0
        for _ in range(loops):
            last = 0
            for ts_ms, frame in read_video(path, fps):
                last = ts_ms
                yield offset + ts_ms, frame
            offset += last + round(1000 / fps)

    yield from score_frames(analyzer, played(), baseline)
