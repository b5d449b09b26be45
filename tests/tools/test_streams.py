"""The benches' camera stream: the page's frame times with the hub's burst, a looped clip."""

from __future__ import annotations

from pathlib import Path

from openproctor.live.schedule import CONFIRM_FPS
from openproctor.tools.streams import Clip, next_frame_at


def test_the_base_rate_holds_until_a_condition_waits_then_the_burst_takes_over() -> None:
    assert next_frame_at(10.0, base_fps=0.5, pending=False) == 12.0
    assert next_frame_at(10.0, base_fps=0.5, pending=True) == 10.0 + 1 / CONFIRM_FPS
    # The burst only ever raises the rate.
    assert next_frame_at(10.0, base_fps=4.0, pending=True) == 10.25


def test_a_clip_loops_forwards_showing_each_frame_until_the_next() -> None:
    clip = Clip.of([(0, b"a"), (500, b"b"), (1000, b"c")])
    assert clip.seconds == 1.5
    assert [clip.at(t) for t in (0.0, 0.49, 0.5, 1.2, 1.5, 2.1)] == [
        b"a",
        b"a",
        b"b",
        b"c",
        b"a",
        b"b",
    ]


def test_a_clip_played_there_and_back_runs_backwards_without_repeating_its_ends(
    video: Path,
) -> None:
    forwards = Clip.read(video)
    both = Clip.read(video, there_and_back=True)
    assert forwards is not None
    assert both is not None
    n = len(forwards.jpegs)
    assert both.jpegs == forwards.jpegs + forwards.jpegs[-2:0:-1]
    assert both.seconds == (2 * n - 2) * forwards.seconds / n
