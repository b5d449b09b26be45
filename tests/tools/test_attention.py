"""The attention score with the real models on real frames (a candidate looking at the
screen, then with their eyes turned aside, then back) and `openproctor attention`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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


def test_the_attention_command_scores_a_looping_video(
    model_dir: Path, video: Path, tmp_path: Path
) -> None:
    """`openproctor attention` on 1 s of a face, then 1 s of a coffee cup, played twice."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "models").symlink_to(model_dir)

    def attention(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "openproctor.cli", "attention", *args],
            env={**os.environ, "OPENPROCTOR_DATA_DIR": str(data_dir)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    result = attention(str(video), "--fps", "10", "--loops", "2")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["t"] for row in rows] == [i / 10 for i in range(40)]
    assert [row["faces"] for row in rows[:10]] == [1] * 10
    assert rows[9]["label"] == "focused"
    assert [row["faces"] for row in rows[10:20]] == [0] * 10
    assert rows[19]["label"] == "away"
    # The second play: the face is back and the score climbs again.
    assert rows[29]["score"] > rows[19]["score"] + 15
    assert rows[29]["label"] == "distracted"  # no longer away; not yet focused
    missing = attention(str(tmp_path / "none.avi"))
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr
