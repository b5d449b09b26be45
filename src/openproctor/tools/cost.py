"""`openproctor bench --compare`: analysis cost per candidate-second, through the live path.

Each evaluation video is replayed as one candidate's stream at the exam policy's frame rate
(played back and forth to the length asked for), JPEG-encoded as browsers send it, through what
a live session goes through: the pass schedule of live/schedule.py decides each frame's object
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
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2

from openproctor.detectors.analyzer import EnrolmentError
from openproctor.detectors.config import DetectorConfig
from openproctor.domains.exams.policy import ExamPolicy
from openproctor.live.schedule import PassSchedule
from openproctor.pipeline.jobs import FrameJob
from openproctor.pipeline.worker import Worker, analyse_frame, decode
from openproctor.rules.conditions import frame_conditions, prohibited_in_view
from openproctor.tools.detection import InputError, one_core, read_video

# Cost is CPU time of this process (models run single-threaded in it): on a shared machine,
# wall time would also count the time other processes took the core.
CLOCK = time.process_time
OTHER = "other"  # time outside the analyzer's own stages: decode, gates, thumbnail
TOTAL = "total"
JPEG_QUALITY = 90
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
    since (hands for the phone evidence, the segmentation for the candidate's zone)."""
    identity = config.identity.model_copy(update={"model": "dlib", "flip": False})
    hands = config.hands.model_copy(update={"enabled": False})
    zone = config.zone.model_copy(update={"enabled": False})
    policy = ExamPolicy(object_interval_s=5, object_ceiling_s=0, identity_interval_s=30)
    then = config.model_copy(update={"identity": identity, "hands": hands, "zone": zone})
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


Stream = list[tuple[int, bytes]]


def streams(videos: Sequence[Path], fps: float, seconds: float) -> dict[str, Stream]:
    """Each video as (ts_ms, JPEG) at `fps`, `seconds` long: played forwards, backwards,
    forwards... (a jump back to the start would be a change of scene no candidate makes)."""
    found: dict[str, Stream] = {}
    for video in videos:
        frames = [
            cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])[1].tobytes()
            for _, frame in read_video(video, fps)
        ]
        if not frames:
            continue
        there_and_back = itertools.cycle(frames + frames[-2:0:-1])
        found[video.name] = [
            (round(n * 1000 / fps), next(there_and_back))
            for n in range(max(round(seconds * fps), 1))
        ]
    if not found:
        raise InputError("no frames to benchmark")
    return found


Step = tuple[dict[str, float], list[str]]


def replay(worker: Worker, stack: Stack, name: str, stream: Stream) -> Iterator[Step]:
    """One candidate's stream through the live path, a frame at a time: the frame's ms by stage
    and what happened to it (its gate, "object_pass", "identity_check")."""
    policy = stack.policy
    reference, baseline = enrolment_of(worker, stream)
    schedule = PassSchedule.spread(0.0, policy, random.Random(SCHEDULE_SEED))
    for seq, (ts_ms, jpeg) in enumerate(stream):
        now = ts_ms / 1000
        plan = schedule.plan(
            now, policy, load_factor=1.0, has_reference=reference is not None, waited=0.0
        )
        job = FrameJob(
            session_id=f"{stack.name}/{name}",
            seq=seq,
            ts_ms=ts_ms,
            jpeg=jpeg,
            objects=plan.objects,
            identity=plan.identity,
            reference=reference if plan.identity else None,
            reference_embedder=stack.config.identity.embedder,
            baseline=baseline,
            thumbnail=schedule.thumbnail_due(now),
        )
        start = CLOCK()
        outcome = analyse_frame(job, worker)
        frame_ms = (CLOCK() - start) * 1000
        schedule.ran(
            now,
            policy,
            load_factor=1.0,
            objects=outcome.objects_ran,
            identity=outcome.identity_ran,
            changed_a_lot=outcome.changed_a_lot,
            found=prohibited_in_view(frame_conditions(outcome, policy.prohibited_objects)[0]),
        )
        if job.thumbnail:
            schedule.last_thumbnail_at = now
        timings = dict(outcome.timings_ms)
        timings[OTHER] = max(frame_ms - sum(timings.values()), 0.0)
        events = [outcome.gate.value]
        events += ["object_pass"] * outcome.objects_ran + ["identity_check"] * outcome.identity_ran
        yield timings, events


def enrolment_of(
    worker: Worker, stream: Stream
) -> tuple[tuple[float, ...] | None, tuple[float, float, float] | None]:
    """The first frame that enrols (one frontal face) stands for the enrolment photo."""
    for _, jpeg in stream:
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
    stream_seconds: dict[tuple[str, str], float] = {}
    with one_core():
        runs = []
        for worker, stack in zip(workers, stacks, strict=True):
            fps = stack.policy.frames_per_second
            for video, stream in streams(videos, fps, seconds).items():
                runs.append(((stack.name, video), replay(worker, stack, video, stream)))
                stream_seconds[stack.name, video] = len(stream) / fps
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
            "identity": stack.config.identity.embedder,
            "policy": stack.policy.model_dump(exclude={"rules", "prohibited_objects"}),
        }
        for stack in stacks
    }
    return {"videos": [v.name for v in videos], "baseline": stacks[0].name, "stacks": results}
