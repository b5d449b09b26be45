"""The latency bench: the page's frame times with the hub's burst, the timeline's episodes, the
delays, and a replay of a clip with an absence in it at two base rates."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from openproctor.cli import main as cli
from openproctor.detectors.config import DetectorConfig
from openproctor.domains.exams.policy import ViolationKind as K
from openproctor.tools.latency import Episode, delay_after, episodes_of, measure


def test_timeline_rows_become_episodes_in_every_loop_but_the_one_the_stream_starts_in() -> None:
    rows = [
        {"start_s": "0", "end_s": "4", "faces": "0", "notes": "animated title card"},
        {"start_s": "4", "end_s": "6", "faces": "1", "notes": "eyes open (short blinks)"},
        {"start_s": "6", "end_s": "8", "faces": "1", "notes": "eyes CLOSED (sustained)"},
        {"start_s": "8", "end_s": "9", "faces": "1", "notes": "eyes turned left"},
        {"start_s": "9", "end_s": "10", "faces": "1", "notes": "gaze centre"},
    ]
    assert episodes_of(rows, video_s=10.0, loops=2) == [
        Episode(K.EYES_CLOSED, 6.0, 8.0),
        Episode(K.LOOKING_AWAY, 8.0, 9.0),
        Episode(K.NO_FACE, 10.0, 14.0),
        Episode(K.EYES_CLOSED, 16.0, 18.0),
        Episode(K.LOOKING_AWAY, 18.0, 19.0),
    ]


def test_the_delay_counts_from_the_episodes_start_to_the_first_time_inside_the_window() -> None:
    episode = Episode(K.NO_FACE, 10.0, 14.0)
    # 9.5 is before the episode (an earlier absence) and does not count.
    assert delay_after([9.5, 11.25, 12.0], episode, until=14.0) == 1.25
    assert delay_after([9.5, 14.0], episode, until=14.0) is None
    assert delay_after([15.0], episode, until=17.0) == 5.0


def test_half_a_frame_a_second_misses_short_absences_one_frame_a_second_sees(
    model_dir: Path, video: Path
) -> None:
    # The clip: 1 s of a face, 1 s of a coffee cup, looped 4 times: three absences of 1 s
    # (the first, at 1 s, is inside the first play; the cup's seconds start at 1, 3, 5, 7).
    rows = [{"file": video.name, "start_s": "1.0", "end_s": "2.0", "faces": "0", "notes": ""}]
    report = measure(
        [video],
        rows,
        model_dir=model_dir,
        config=DetectorConfig(),
        rates=[1.0, 0.5],
        loops=4,
        phases=4,
    )
    one, half = report["rates"]["1 fps"], report["rates"]["0.5 fps"]
    assert one["kinds"]["no_face"]["flag"]["n"] == 4 * 4
    # At 1 frame/s every absence of 1 s gets a frame inside it; at 0.5 frames/s the phases
    # whose frames fall on the face's seconds never see the cup.
    assert one["kinds"]["no_face"]["flag"]["missed"] == 0
    assert one["kinds"]["no_face"]["flag"]["max_s"] < 1.0
    assert half["kinds"]["no_face"]["flag"]["missed"] > 0
    assert half["frames_per_second"] < one["frames_per_second"]
    # CPU time on a busy machine is too noisy to compare two short runs; it is measured.
    assert one["face_stage_ms_per_candidate_second"] > 0
    assert half["face_stage_ms_per_candidate_second"] > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--latency", "1,fast"], "not a list of numbers"),
        (["--latency", "0.05"], "between 0.1 and 10"),
        (["--latency", "1,0.5", "--timeline", "missing.csv"], "no timeline at missing.csv"),
    ],
)
def test_bench_refuses_bad_rates_and_a_missing_timeline_before_running_anything(
    video: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    env = {"OPENPROCTOR_DATA_DIR": str(tmp_path)}
    result = CliRunner().invoke(cli, ["bench", str(video), *args], env=env)
    assert result.exit_code != 0
    assert message in result.output
