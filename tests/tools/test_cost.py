"""The cost benchmark's accounting: ms per candidate-second from per-frame stage timings."""

from __future__ import annotations

from pathlib import Path

import pytest

from openproctor.detectors.config import DetectorConfig
from openproctor.domains.exams.policy import ExamPolicy
from openproctor.live.schedule import CONFIRM_FPS
from openproctor.tools.cost import (
    OTHER,
    TOTAL,
    Stack,
    compare,
    issue_stack,
    per_candidate_second,
    ratio_of,
)


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


def test_the_issue_stack_checks_identity_with_dlib_and_objects_every_five_seconds_only() -> None:
    stack = issue_stack(DetectorConfig())
    assert stack.config.identity.embedder == "dlib"
    assert (stack.policy.object_interval_s, stack.policy.object_ceiling_s) == (5, 0)
    assert stack.policy.identity_interval_s == 30
    # Nor the stages added since: hands (phone evidence) and segmentation (the zone), nor
    # the savings: the iris model reads the eyes on every frame.
    assert not stack.config.hands.enabled
    assert not stack.config.zone.enabled
    assert stack.config.face.tracking.eyes_reuse_max == 0


def test_two_stacks_replay_the_same_stream_through_the_live_path(
    model_dir: Path, video: Path
) -> None:
    # 12 s at 1 frame/s of a face (1 s) and a coffee cup (1 s), played back and forth: while
    # the cup is on screen no_face waits for its debounce and the hub asks for its burst.
    config = DetectorConfig()
    stacks = [issue_stack(config), Stack("default", config, ExamPolicy())]
    report = compare([video], stacks, model_dir=model_dir, seconds=12)
    assert report["baseline"] == "issue baseline"
    issue, default = (report["stacks"][s.name] for s in stacks)
    for result in (issue, default):
        cost = result["ms_per_candidate_second"]
        assert result["candidate_seconds"] == 12
        sent = result["frames"]["frame"]
        assert sum(result["frames"].get(g, 0) for g in ("analysed", "unchanged")) == sent
        assert 12 < sent < 12 * CONFIRM_FPS
        assert result["frames_per_second"] == pytest.approx(sent / 12, abs=0.001)
        assert {"face", "mesh", "objects", OTHER} <= set(cost)
        stages = sum(ms for stage, ms in cost.items() if stage != TOTAL)
        assert cost[TOTAL] == pytest.approx(stages, abs=0.01)
        assert result["total_per_video"] == {video.name: cost[TOTAL]}
    assert (issue["identity"], default["identity"]) == ("dlib", config.identity.embedder)
    # Every 5 s against a ceiling of 30 s (the scene cuts face <-> cup are big changes: those
    # bring a pass no sooner than 2 s after the last, and 5 s with the ceiling).
    assert issue["frames"]["object_pass"] > default["frames"]["object_pass"] >= 1
    assert issue["share_of_baseline"][TOTAL] == 1.0
    assert default["share_of_baseline"][TOTAL] == pytest.approx(
        default["ms_per_candidate_second"][TOTAL] / issue["ms_per_candidate_second"][TOTAL],
        abs=0.001,
    )
