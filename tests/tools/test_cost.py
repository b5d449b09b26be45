"""The cost benchmark's accounting: ms per candidate-second from per-frame stage timings."""

from __future__ import annotations

import pytest

from openproctor.detectors.config import DetectorConfig
from openproctor.tools.cost import TOTAL, issue_stack, per_candidate_second, ratio_of


def test_each_stage_is_summed_over_the_frames_and_divided_by_the_seconds() -> None:
    # Ten seconds of stream at 1 fps: a face pass on every frame, an object pass on two of
    # them, an identity check on one, and a stage only some frames have.
    frames = [{"face": 6.0, "other": 1.0} for _ in range(10)]
    frames[0] |= {"objects": 50.0, "identity": 90.0}
    frames[5] |= {"objects": 50.0, "hands": 3.0}
    cost = per_candidate_second(frames, seconds=10.0)
    assert cost == {
        "face": 6.0,
        "hands": 0.3,
        "identity": 9.0,
        "objects": 10.0,
        "other": 1.0,
        TOTAL: 26.3,
    }


def test_frames_sent_at_half_a_frame_a_second_cost_half() -> None:
    frames = [{"face": 6.0} for _ in range(5)]
    assert per_candidate_second(frames, seconds=10.0)[TOTAL] == 3.0


def test_no_seconds_is_refused() -> None:
    with pytest.raises(ValueError, match="no seconds"):
        per_candidate_second([{"face": 1.0}], seconds=0.0)


def test_shares_are_per_stage_and_none_where_the_baseline_had_no_such_stage() -> None:
    shares = ratio_of({"face": 2.0, "hands": 1.0, TOTAL: 3.0}, {"face": 4.0, TOTAL: 6.0})
    assert shares == {"face": 0.5, "hands": None, TOTAL: 0.5}


def test_the_issue_stack_checks_identity_with_dlib_and_objects_every_five_seconds() -> None:
    stack = issue_stack(DetectorConfig())
    assert stack.config.identity.embedder == "dlib"
    assert (stack.policy.object_interval_s, stack.policy.object_ceiling_s) == (5, 0)
    assert stack.policy.identity_interval_s == 30
