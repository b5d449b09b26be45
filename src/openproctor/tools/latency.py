"""`openproctor bench --latency`: how soon the face-stage conditions are flagged at a base
frame rate, with the hub's burst, on videos whose timeline says when each condition starts.

Each video is played forwards `loops` times, as Chromium's fake camera plays it, and sampled at
the times the hub asks for (tools/streams.py: the policy's rate, the burst while a condition
waits for its debounce), through the worker's
analyse_frame and the rule engine, as the hub does. Per timeline episode (eyes closed, eyes
turned aside, no face) it reports the delay from the episode's start to the first frame that
shows the condition ("flag") and to the violation opening ("open"), over several sampling
phases (the first frame's offset), and the face stage's CPU ms per candidate-second. Object
and identity passes are left out: they run on their own clocks, whatever the frame rate.
"""

from __future__ import annotations

import itertools
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openproctor.detectors.config import DetectorConfig
from openproctor.domains.exams.policy import ExamPolicy, ViolationKind
from openproctor.live.schedule import PassSchedule
from openproctor.pipeline.jobs import FrameJob
from openproctor.pipeline.worker import Worker, analyse_frame
from openproctor.rules.conditions import frame_conditions
from openproctor.rules.engine import EventType, SessionRules
from openproctor.tools.detection import one_core
from openproctor.tools.streams import CLOCK, Clip, enrolment_of, next_frame_at

K = ViolationKind


@dataclass(frozen=True, slots=True)
class Episode:
    """A stretch of stream time (seconds) in which the timeline says `kind` holds."""

    kind: ViolationKind
    start_s: float
    end_s: float


def kind_of(row: Mapping[str, str]) -> ViolationKind | None:
    """The face-stage condition a timeline row shows (shared/eval's video_timeline.csv): no face
    where `faces` is 0, else what its notes say of the eyes (closed, turned aside)."""
    notes = row.get("notes", "").lower()
    if row.get("faces") == "0":
        return K.NO_FACE
    if "eyes closed" in notes:
        return K.EYES_CLOSED
    if "eyes turned" in notes:
        return K.LOOKING_AWAY
    return None


def episodes_of(rows: Iterable[Mapping[str, str]], video_s: float, loops: int) -> list[Episode]:
    """The episodes of one video's timeline rows over `loops` forward plays of `video_s`
    seconds. An episode the stream starts in has no onset to measure and is left out."""
    once = [
        (kind, float(row["start_s"]), float(row["end_s"]))
        for row in rows
        if (kind := kind_of(row)) is not None
    ]
    return [
        Episode(kind, loop * video_s + start, loop * video_s + end)
        for loop in range(loops)
        for kind, start, end in once
        if loop * video_s + start > 0
    ]


def delay_after(times: Sequence[float], episode: Episode, *, until: float) -> float | None:
    """Seconds from the episode's start to the first of `times` (sorted) within
    [start, until), or None."""
    found = next((t for t in times if episode.start_s <= t < until), None)
    return None if found is None else round(found - episode.start_s, 3)


@dataclass(slots=True)
class Run:
    """One sampled replay: when each kind was seen and opened, frames, face-stage CPU ms."""

    seen: defaultdict[ViolationKind, list[float]] = field(default_factory=lambda: defaultdict(list))
    opened: defaultdict[ViolationKind, list[float]] = field(
        default_factory=lambda: defaultdict(list)
    )
    frames: int = 0
    cpu_ms: float = 0.0


def replay(
    worker: Worker,
    clip: Clip,
    *,
    session_id: str,
    baseline: tuple[float, float, float] | None,
    seconds: float,
    base_fps: float,
    phase: float,
    policy: ExamPolicy,
) -> Run:
    """The looped clip sampled from `phase` on at the rate the hub would ask for; `baseline`
    is the enrolment pose (yaw, pitch, gaze x)."""
    rules = SessionRules(policy)
    thumbnails = PassSchedule()  # only its thumbnail clock: the tile picture every few seconds
    run = Run()
    at = phase
    while at < seconds:
        job = FrameJob(
            session_id=session_id,
            seq=run.frames,
            ts_ms=round(at * 1000),
            jpeg=clip.at(at),
            objects=False,
            identity=False,
            reference=None,
            baseline=baseline,
            thumbnail=thumbnails.thumbnail_due(at),
        )
        if job.thumbnail:
            thumbnails.last_thumbnail_at = at
        start = CLOCK()
        outcome = analyse_frame(job, worker)
        run.cpu_ms += (CLOCK() - start) * 1000
        run.frames += 1
        held, kinds = frame_conditions(outcome, policy.prohibited_objects)
        for condition in held:
            run.seen[condition.kind].append(at)
        for event in rules.observe(at, held, kinds).events:
            if event.type is EventType.OPENED:
                run.opened[event.kind].append(at)
        at = next_frame_at(at, base_fps=base_fps, pending=rules.has_pending())
    return run


def _summary(delays: list[float | None]) -> dict[str, Any]:
    found = [d for d in delays if d is not None]
    return {
        "n": len(delays),
        "missed": len(delays) - len(found),
        "mean_s": round(statistics.fmean(found), 2) if found else None,
        "max_s": max(found) if found else None,
    }


# The clip, its enrolment pose, seconds of stream, its episodes.
Play = tuple[Clip, tuple[float, float, float] | None, float, list[Episode]]


def at_rate(
    worker: Worker, plays: Sequence[Play], *, base_fps: float, phases: Sequence[float]
) -> dict[str, Any]:
    """Every play sampled from every phase at `base_fps` with the burst: frames a second,
    face-stage CPU ms per candidate-second, and per kind the flag and open delays."""
    policy = ExamPolicy()
    flags: defaultdict[ViolationKind, list[float | None]] = defaultdict(list)
    opens: defaultdict[ViolationKind, list[float | None]] = defaultdict(list)
    frames, cpu_ms, seconds = 0, 0.0, 0.0
    for n, ((clip, baseline, length, episodes), phase) in enumerate(
        itertools.product(plays, phases)
    ):
        run = replay(
            worker,
            clip,
            baseline=baseline,
            session_id=f"latency/{base_fps}/{n}",  # a fresh tracker and gate per run
            seconds=length,
            base_fps=base_fps,
            phase=phase,
            policy=policy,
        )
        frames += run.frames
        cpu_ms += run.cpu_ms
        seconds += length
        for episode in episodes:
            kind = episode.kind
            flags[kind].append(delay_after(run.seen[kind], episode, until=episode.end_s))
            # The violation opens once the debounce has passed, which may be after the
            # episode ends (the engine bridges gaps shorter than its quiet time).
            tail = episode.end_s + policy.rules[kind].min_duration_s
            opens[kind].append(delay_after(run.opened[kind], episode, until=tail))
    return {
        "frames_per_second": round(frames / seconds, 2) if seconds else None,
        "face_stage_ms_per_candidate_second": round(cpu_ms / seconds, 2) if seconds else None,
        "kinds": {
            kind.value: {
                "debounce_s": policy.rules[kind].min_duration_s,
                "flag": _summary(flags[kind]),
                "open": _summary(opens[kind]),
            }
            for kind in sorted(flags)
        },
    }


def measure(
    videos: Sequence[Path],
    timeline: Sequence[Mapping[str, str]],
    *,
    model_dir: Path,
    config: DetectorConfig,
    rates: Sequence[float],
    loops: int = 2,
    phases: int = 16,
) -> dict[str, Any]:
    """`at_rate` for each base rate on the videos with episodes in the timeline. The phases
    spread the first frame over the slowest rate's interval."""
    worker = Worker(model_dir, config.model_copy(update={"threads": 1}), CLOCK)
    offsets = [n / min(rates) / phases for n in range(phases)]
    plays: list[Play] = []
    for video in videos:
        clip = Clip.read(video)
        if clip is None:
            continue
        rows = [row for row in timeline if Path(row["file"]).name == video.name]
        episodes = episodes_of(rows, clip.seconds, loops)
        if episodes:
            baseline = enrolment_of(worker, clip.frames())[1]
            plays.append((clip, baseline, clip.seconds * loops, episodes))
    with one_core():
        by_rate = {f"{r:g} fps": at_rate(worker, plays, base_fps=r, phases=offsets) for r in rates}
    return {
        "videos": [v.name for v in videos],
        "loops": loops,
        "phases": phases,
        "rates": by_rate,
    }
