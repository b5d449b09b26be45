"""The attention score with the real models on real frames: a candidate looking at the
screen, then with their eyes turned aside, then back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from openproctor.detectors.analyzer import Analyzer
from openproctor.detectors.base import Frame
from openproctor.detectors.config import DetectorConfig
from openproctor.rules.attention import FOCUSED_FROM
from openproctor.tools.attention import score_frames

FPS = 2


def test_the_score_falls_while_the_eyes_are_turned_aside_and_recovers(
    model_dir: Path, image: Callable[[str], Frame]
) -> None:
    ahead, aside = image("pai_webcam_center"), image("pai_webcam_eyes_left")
    scenes = [ahead] * (15 * FPS) + [aside] * (6 * FPS) + [ahead] * (10 * FPS)
    frames = [(round(i * 1000 / FPS), frame) for i, frame in enumerate(scenes)]
    rows = list(score_frames(Analyzer(model_dir, DetectorConfig()), frames))
    first, second = 15 * FPS, 21 * FPS
    looking = rows[:first]
    away = rows[first:second]
    back = rows[second:]
    assert all(row["label"] == "focused" for row in looking)
    assert looking[-1]["score"] >= 95
    assert min(row["score"] for row in away) < FOCUSED_FROM  # eyes aside for 6 s show
    assert away[-1]["label"] == "distracted"
    assert back[-1]["label"] == "focused"
    assert back[-1]["score"] > away[-1]["score"] + 25
