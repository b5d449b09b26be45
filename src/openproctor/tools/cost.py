"""`openproctor bench --compare`: analysis cost per candidate-second, through the live path.

Each evaluation video is replayed as one candidate's stream (played back and forth to the
length asked for), JPEG-encoded as browsers send it, at the times the hub asks for frames: the
exam policy's rate, and the hub's burst while a condition waits for its debounce (the rule
engine runs on each frame's conditions as in the hub). Each frame goes through what a live
session goes through: the pass schedule of live/schedule.py decides each frame's object
and identity passes, and the worker's analyse_frame runs the gates (unchanged, covered), the
face tracker and the models. Every stage the analyzer times (`timings_ms`) is summed over the
frames and divided by the seconds of stream, so stages added to the analyzer show up on their
own; `other` is the rest of each frame's time (decoding, gates, thumbnails). Time is the
process's CPU time, so a busy machine does not inflate it. Several stacks (detector config +
policy) take turns frame by frame on the same streams, on one core.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openproctor.detectors.config import DetectorConfig
from openproctor.domains.exams.policy import ExamPolicy
from openproctor.live.schedule import PassSchedule
from openproctor.pipeline.jobs import FrameJob
from openproctor.pipeline.worker import Worker, analyse_frame
from openproctor.rules.conditions import frame_conditions, prohibited_in_view
from openproctor.rules.engine import SessionRules
from openproctor.tools.detection import InputError, one_core
from openproctor.tools.streams import CLOCK, Clip, enrolment_of, next_frame_at

OTHER = "other"  # time outside the analyzer's own stages: decode, gates, thumbnail
TOTAL = "total"
SCHEDULE_SEED = 14  # every stack starts each stream at the same point of its pass intervals


@dataclass(frozen=True, slots=True)
class Stack:
    """What is compared: the detectors a worker runs and the policy its schedule follows."""

    name: str
    config: DetectorConfig
    policy: ExamPolicy


def issue_stack(config: DetectorConfig) -> Stack:
    """The stack issue #14 measured: identity by dlib, an object pass every 5 s (and early
    after a big change of scene) at the policy of that time, and none of the stages added
    since (hands for the phone evidence, the segmentation for the candidate's zone) or savings
    (steady eyes keeping the iris model's last reading)."""
    identity = config.identity.model_copy(update={"model": "dlib", "flip": False})
    hands = config.hands.model_copy(update={"enabled": False})
    zone = config.zone.model_copy(update={"enabled": False})
    tracking = config.face.tracking.model_copy(
        update={"eyes_unchanged_diff": 0.0, "eyes_reuse_max": 0}
    )
    face = config.face.model_copy(update={"tracking": tracking})
    policy = ExamPolicy(object_interval_s=5, object_ceiling_s=0, identity_interval_s=30)
    then = config.model_copy(
        update={"identity": identity, "hands": hands, "zone": zone, "face": face}
    )
    return Stack("issue baseline", then, policy)


def per_candidate_second(frames: Iterable[Mapping[str, float]], seconds: float) -> dict[str, float]:
    """ms of analysis per second of one candidate's stream, by stage and in `total`: each
    stage's ms summed over the frames that `seconds` of stream sent, divided by `seconds`."""
    if seconds <= 0:
        raise ValueError("a stream of no seconds has no cost per second")
    sums: defaultdict[str, float] = defaultdict(float)
    for timings in frames:
        for stage, ms in timings.items():
            sums[stage] += ms
    per_second = {stage: round(ms / seconds, 3) for stage, ms in sorted(sums.items())}
    per_second[TOTAL] = round(sum(sums.values()) / seconds, 3)
    return per_second


def ratio_of(value: Mapping[str, float], to: Mapping[str, float]) -> dict[str, float | None]:
    """Each stage of `value` as a share of the same stage in `to` (None where `to` has none)."""
    stages = sorted(set(value) | set(to))
    return {
        stage: round(value.get(stage, 0.0) / to[stage], 3) if to.get(stage) else None
        for stage in stages
    }


Step = tuple[dict[str, float], list[str]]


def replay(worker: Worker, stack: Stack, name: str, clip: Clip, seconds: float) -> Iterator[Step]:
    """`seconds` of one candidate's stream through the live path, a frame at a time: the
    frame's ms by stage and what happened to it (its gate, "object_pass", "identity_check").
    Frames come at the times the hub asks for them: the policy's rate, and the burst while one
    of the rule engine's conditions waits for its debounce."""
    policy = stack.policy
    reference, baseline = enrolment_of(worker, clip.frames())
    schedule = PassSchedule.spread(0.0, policy, random.Random(SCHEDULE_SEED))
    rules = SessionRules(policy)
    at, seq = 0.0, 0
    while at < seconds:
        plan = schedule.plan(
            at, policy, load_factor=1.0, has_reference=reference is not None, waited=0.0
        )
        job = FrameJob(
            session_id=f"{stack.name}/{name}",
            seq=seq,
            ts_ms=round(at * 1000),
            jpeg=clip.at(at),
            objects=plan.objects,
            identity=plan.identity,
            reference=reference if plan.identity else None,
            reference_embedder=stack.config.identity.embedder,
            baseline=baseline,
            thumbnail=schedule.thumbnail_due(at),
        )
        start = CLOCK()
        outcome = analyse_frame(job, worker)
        frame_ms = (CLOCK() - start) * 1000
        held, kinds = frame_conditions(
            outcome,
            policy.prohibited_objects,
            open_kinds={kind for kind, _ in rules.open_kinds()},
        )
        schedule.ran(
            at,
            policy,
            load_factor=1.0,
            objects=outcome.objects_ran,
            identity=outcome.identity_ran,
            changed_a_lot=outcome.changed_a_lot,
            found=prohibited_in_view(held),
        )
        if job.thumbnail:
            schedule.last_thumbnail_at = at
        rules.observe(at, held, kinds)
        timings = dict(outcome.timings_ms)
        timings[OTHER] = max(frame_ms - sum(timings.values()), 0.0)
        events = ["frame", outcome.gate.value]
        events += ["object_pass"] * outcome.objects_ran + ["identity_check"] * outcome.identity_ran
        yield timings, events
        at = next_frame_at(at, base_fps=policy.frames_per_second, pending=rules.has_pending())
        seq += 1


def compare(
    videos: Sequence[Path], stacks: Sequence[Stack], *, model_dir: Path, seconds: float
) -> dict[str, Any]:
    """ms per candidate-second for each stack on the same streams, on one core, and each
    stack's share of the first one's cost (per stage and in total). The stacks take turns frame
    by frame, so a busy machine slows them alike."""
    workers = [Worker(model_dir, s.config.model_copy(update={"threads": 1}), CLOCK) for s in stacks]
    # Per stack and video: each frame's timings, what happened to the frames, stream seconds.
    frames: dict[tuple[str, str], list[dict[str, float]]] = defaultdict(list)
    events: dict[str, Counter[str]] = {s.name: Counter() for s in stacks}
    clips = {
        video.name: clip for video in videos if (clip := Clip.read(video, there_and_back=True))
    }
    if not clips:
        raise InputError("no frames to benchmark")
    with one_core():
        runs = [
            ((stack.name, video), replay(worker, stack, video, clip, seconds))
            for worker, stack in zip(workers, stacks, strict=True)
            for video, clip in clips.items()
        ]
        stream_seconds = {key: seconds for key, _ in runs}
        # Round-robin over every stream of every stack.
        for steps in itertools.zip_longest(*(run for _, run in runs)):
            for (key, _), step in zip(runs, steps, strict=True):
                if step is not None:
                    frames[key].append(step[0])
                    events[key[0]].update(step[1])
    of_stack = {s.name: [key for key in stream_seconds if key[0] == s.name] for s in stacks}
    total_seconds = {name: sum(stream_seconds[k] for k in keys) for name, keys in of_stack.items()}
    costs = {
        name: per_candidate_second(
            itertools.chain.from_iterable(frames[k] for k in keys), total_seconds[name]
        )
        for name, keys in of_stack.items()
    }
    baseline = costs[stacks[0].name]
    results = {
        stack.name: {
            "candidate_seconds": total_seconds[stack.name],
            "ms_per_candidate_second": costs[stack.name],
            "total_per_video": {
                video: per_candidate_second(frames[name, video], stream_seconds[name, video])[TOTAL]
                for name, video in of_stack[stack.name]
            },
            "share_of_baseline": ratio_of(costs[stack.name], baseline),
            "frames": dict(sorted(events[stack.name].items())),
            "frames_per_second": round(events[stack.name]["frame"] / total_seconds[stack.name], 3),
            "identity": stack.config.identity.embedder,
            "policy": stack.policy.model_dump(exclude={"rules", "prohibited_objects"}),
        }
        for stack in stacks
    }
    return {"videos": [v.name for v in videos], "baseline": stacks[0].name, "stacks": results}
