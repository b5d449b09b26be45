"""What `openproctor analyze | verify | eval | bench` do, as plain functions returning dicts.

The CLI only parses arguments and prints; everything here is testable without click.
"""

from __future__ import annotations

import csv
import itertools
import os
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import dlib
import numpy as np
import numpy.typing as npt

from openproctor.detectors.analyzer import Analyzer, EnrolmentError
from openproctor.detectors.base import FloatArray, Frame, FrameAnalysis
from openproctor.detectors.config import DetectorConfig
from openproctor.detectors.identity_dlib import distance
from openproctor.detectors.phones import PhoneHistory
from openproctor.detectors.tracking import FaceTracker
from openproctor.tools.eval_stats import rate
from openproctor.tools.identity_eval import Sample, score, variants
from openproctor.tools.objects_eval import PHONE_SWEEP_THRESHOLDS, ObjectTally, ratio
from openproctor.tools.persons_eval import PersonTally
from openproctor.tools.phone_composites import score_composites

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
MAX_FILE_BYTES = 2 * 1024**3
MAX_IMAGE_BYTES = 50 * 1024**2
MAX_PIXELS = 40_000_000
# A raw MJPEG stream has no frame rate; OpenCV guesses 25 but Chromium's fake webcam (and our
# recordings) play it at 30.
RAW_MJPEG_FPS = 30.0


class InputError(ValueError):
    """A file that cannot be analysed; the message is shown to the user as is."""


def read_image(path: Path) -> Frame:
    """Decode an image file, refusing empty, oversized and undecodable ones."""
    size = path.stat().st_size
    if size == 0:
        raise InputError("empty file")
    if size > MAX_IMAGE_BYTES:
        raise InputError(f"image file is larger than {MAX_IMAGE_BYTES // 1024**2} MB")
    frame = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_COLOR)
    if frame is None:
        raise InputError("not a readable image")
    if frame.shape[0] * frame.shape[1] > MAX_PIXELS:
        raise InputError(f"image has more than {MAX_PIXELS // 1_000_000} megapixels")
    return np.asarray(frame, np.uint8)


def read_video(path: Path, fps: float | None) -> Iterator[tuple[int, Frame]]:
    """(ts_ms, frame) at about `fps` frames a second (None: every frame); stops quietly at a
    truncated tail."""
    if path.stat().st_size == 0:
        raise InputError("empty file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise InputError(f"video file is larger than {MAX_FILE_BYTES // 1024**3} GB")
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise InputError("not a readable image or video")
        source_fps = capture.get(cv2.CAP_PROP_FPS)
        if path.suffix.lower() in {".mjpeg", ".mjpg"} or not 0 < source_fps < 1000:
            source_fps = RAW_MJPEG_FPS
        step = 1 if fps is None else max(round(source_fps / fps), 1)
        index = 0
        read_any = False
        while True:
            ok, frame = capture.read()
            if not ok or frame is None:
                break
            read_any = True
            if frame.shape[0] * frame.shape[1] > MAX_PIXELS:
                raise InputError(f"video frames have more than {MAX_PIXELS // 1_000_000} MP")
            if index % step == 0:
                yield round(index * 1000 / source_fps), np.asarray(frame, np.uint8)
            index += 1
        if not read_any:
            raise InputError("no decodable frames")
    finally:
        capture.release()


def frame_report(path: Path, analysis: FrameAnalysis, *, video: bool) -> dict[str, Any]:
    """What `openproctor analyze` prints for one image or video frame: counts, the main
    face's pose, eyes and gaze at the top level, every face in `face_details`."""
    details = analysis.to_dict()
    main = details["faces"][0] if details["faces"] else {}
    report: dict[str, Any] = {"file": str(path)}
    if video:
        report["t"] = round(analysis.ts_ms / 1000, 3)
    report |= {
        "faces": len(analysis.faces),
        "persons": details["persons"],
        "objects": details["objects"],
        "background": details["background"],
        "pose": main.get("pose"),
        "eyes": main.get("eyes"),
        "gaze": main.get("gaze"),
        "flags": details["flags"],
        "phone": details["phone"],  # the phone evidence, on frames with an object pass
        "face_details": details["faces"],
        "width": analysis.width,
        "height": analysis.height,
        "timings_ms": details["timings_ms"],
    }
    return report


def analyze_paths(
    paths: Iterable[Path], *, model_dir: Path, config: DetectorConfig, fps: float = 1.0
) -> Iterator[dict[str, Any]]:
    """One dict per analysed frame; a file that cannot be read yields {"file", "error"}."""
    analyzer = Analyzer(model_dir, config)
    for path in paths:
        try:
            if not path.is_file():
                raise InputError("no such file")
            video = path.suffix.lower() not in IMAGE_SUFFIXES
            frames: Iterable[tuple[int, Frame]] = (
                read_video(path, fps) if video else [(0, read_image(path))]
            )
            # Consecutive frames of one video are tracked (faces, phone evidence), as live.
            tracker = FaceTracker(config.face.tracking) if video else None
            phones = PhoneHistory(config.phones) if video else None
            for ts_ms, frame in frames:
                analysis = analyzer.analyze(frame, ts_ms, tracker=tracker, phones=phones)
                yield frame_report(path, analysis, video=video)
        except (InputError, OSError) as exc:
            yield {"file": str(path), "error": str(exc)}


def verify(a: Path, b: Path, *, model_dir: Path, config: DetectorConfig) -> dict[str, Any]:
    """Are the single faces in two photos the same person?"""
    analyzer = Analyzer(model_dir, config)
    embeddings = []
    for path in (a, b):
        try:
            embeddings.append(analyzer.enrol(read_image(path)).embedding)
        except (InputError, EnrolmentError, OSError) as exc:
            return {"a": str(a), "b": str(b), "error": f"{path}: {exc}"}
    dist = distance(*embeddings)
    threshold = config.identity.max_distance
    return {
        "a": str(a),
        "b": str(b),
        "distance": round(dist, 3),
        "threshold": threshold,
        "same_person": dist <= threshold,
    }


def evaluate(
    directory: Path,
    *,
    model_dir: Path,
    config: DetectorConfig,
    with_variants: bool = False,
    hand_image: Path | None = None,
) -> dict[str, Any]:
    """Score every capability against DIR/labels.csv (columns as in shared/eval).

    with_variants adds `identity_variants`: the identity pairs again with letterboxed and
    small-face copies of each photo (tools/identity_eval.py). hand_image adds
    `phone_composites`: the hand in that image pasted at the ear (with a phone) and on the chin
    of every one-face photo without a phone (tools/phone_composites.py).
    """
    analyzer = Analyzer(model_dir, config)
    with (directory / "labels.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    timings: dict[str, list[float]] = defaultdict(list)
    faces: dict[str, Any] = {"images": 0, "exact": 0, "wrong": []}
    multi_missed: list[str] = []
    single_as_multi: list[str] = []
    noface_with_face: list[str] = []
    objects = ObjectTally()
    persons = PersonTally()
    samples: list[Sample] = []
    copies: list[Sample] = []
    phoneless: list[tuple[str, Frame]] = []
    for row in rows:
        name = row["file"]
        start = time.perf_counter()
        frame = read_image(directory / name)
        timings["decode"].append((time.perf_counter() - start) * 1000)
        result = analyzer.analyze(frame, 0)
        for stage, ms in result.timings_ms.items():
            timings[stage].append(ms)
        want, got = int(row["faces"]), len(result.faces)
        faces["images"] += 1
        if want == got:
            faces["exact"] += 1
        else:
            faces["wrong"].append({"file": name, "want": want, "got": got})
        if want >= 2 and got < 2:
            multi_missed.append(name)
        if want == 1 and got >= 2:
            single_as_multi.append(name)
        if want == 0 and got:
            noface_with_face.append(name)
        persons.add(row, result)
        objects.add(row, result)
        if want == 1 and row["phone"] == "0" and hand_image is not None:
            phoneless.append((name, frame))
        if want == 1 and row["identity"] and ";" not in row["identity"]:
            enrolment = analyzer.enrol(frame)
            samples.append(Sample(name, row["identity"], enrolment.embedding, name))
            if with_variants:
                copies += variants(analyzer, samples[-1], frame, enrolment.face.box)

    threshold = config.identity.max_distance
    composites = (
        score_composites(analyzer, phoneless, read_image(hand_image), PHONE_SWEEP_THRESHOLDS)
        if hand_image is not None
        else None
    )
    faces["accuracy"] = ratio(faces["exact"], faces["images"])
    faces["accuracy_ci95"] = rate(faces["exact"], faces["images"])["ci95"]
    faces["multi_face_missed"] = multi_missed
    faces["single_counted_as_multi"] = single_as_multi
    faces["noface_with_face"] = noface_with_face
    return {
        "faces": faces,
        "persons": persons.to_dict(),
        **objects.to_dict(),
        "identity": score(samples, threshold),
        **({"identity_variants": score(samples + copies, threshold)} if with_variants else {}),
        **({"phone_composites": composites} if composites else {}),
        "median_ms": {k: round(statistics.median(v), 2) for k, v in timings.items()},
    }


@contextmanager
def one_core() -> Iterator[None]:
    """Pin this process to a single core for honest per-core numbers, then restore."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(before)})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


BASELINE = "dlib HOG, 1 upsample (face_recognition.face_locations(image))"
_HOG = dlib.get_frontal_face_detector()


def seed_face_locations(rgb: Frame) -> list[tuple[int, int, int, int]]:
    """The seed tutorial's detector, face_recognition.face_locations(image) with its defaults,
    without that package (it would compile dlib): dlib's HOG detector with one upsample, each box
    as (top, right, bottom, left) clipped to the image, exactly as face_locations returns it."""
    height, width = rgb.shape[:2]
    return [
        (max(r.top(), 0), min(r.right(), width), min(r.bottom(), height), max(r.left(), 0))
        for r in _HOG(rgb, 1)
    ]


def _clips(
    videos: list[Path], fps: float | None, frames: int
) -> list[list[tuple[int, npt.NDArray[np.uint8]]]]:
    """Consecutive frames of each video at `fps` (None: every frame), JPEG-encoded as a
    browser sends them; `frames` in all, shared evenly between the videos."""
    per_video = -(-frames // max(len(videos), 1))
    clips = []
    for video in videos:
        clip = [
            (ts, cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])[1])
            for ts, frame in itertools.islice(read_video(video, fps), per_video)
        ]
        if clip:
            clips.append(clip)
    return clips


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def bench(
    videos: Iterable[Path],
    *,
    model_dir: Path,
    config: DetectorConfig,
    frames: int = 60,
    fps: float | None = None,
    compare_fps: Iterable[float] = (5.0, 1.0),
) -> dict[str, Any]:
    """Median ms per stage on real webcam frames, on one core with one thread per model.

    Each video contributes a run of consecutive frames at `fps` (None: its native rate),
    re-encoded as JPEG (what browsers send) so that decoding is part of the face stage. Frames
    go through the analyzer as a live stream does: one FaceTracker per video, so the face
    detector runs only on the frames the tracker asks for. The face stage is decode + track +
    face + mesh; `untracked` is the same frames analysed one by one. `at_fps` repeats the face
    stage at the live loop's lower rates, where tracking has less to gain. The baseline is the
    seed tutorial's algorithm (seed_face_locations) on the same frames. `identity` is one
    check of the main face against the video's first frame (the live loop runs it every 30 s).
    """
    videos = list(videos)
    clips = _clips(videos, fps, frames)
    if not clips:
        raise InputError("no frames to benchmark")
    analyzer = Analyzer(model_dir, config.model_copy(update={"threads": 1}))
    stages: dict[str, list[float]] = defaultdict(list)
    with one_core():
        run = _run_clips(analyzer, clips, stages=stages, baseline=seed_face_locations)
        at_fps = {
            "native" if fps is None else f"{fps:g}": run,
            **{
                f"{rate:g}": _run_clips(analyzer, _clips(videos, rate, frames))
                for rate in compare_fps
                if rate != fps
            },
        }
    median = {k: _median(v) for k, v in stages.items()}
    face_stage, baseline_ms = median["face_stage"], median["baseline"]
    for result in at_fps.values():
        result["ratio"] = round(baseline_ms / result["face_stage_ms"], 1)
        result["untracked_ratio"] = round(baseline_ms / result["untracked_face_stage_ms"], 1)
    size = np.asarray(cv2.imdecode(clips[0][0][1], cv2.IMREAD_COLOR), np.uint8).shape
    return {
        "frames": sum(len(c) for c in clips),
        "size": [int(size[1]), int(size[0])],
        "fps": fps,
        "stages": median,
        "face_stage_ms": face_stage,
        "baseline": BASELINE,
        "baseline_ms": baseline_ms,
        "ratio": round(baseline_ms / face_stage, 1),
        "detector_share": run["detector_share"],
        "untracked_face_stage_ms": run["untracked_face_stage_ms"],
        "at_fps": at_fps,
        # Names kept from the first version of this report.
        "median_ms": median,
        "speedup_vs_baseline": round(baseline_ms / face_stage, 1),
    }


def _run_clips(
    analyzer: Analyzer,
    clips: list[list[tuple[int, npt.NDArray[np.uint8]]]],
    *,
    stages: dict[str, list[float]] | None = None,
    baseline: Callable[[Frame], object] | None = None,
) -> dict[str, Any]:
    """Face stage per frame with a tracker per clip and without; all stages when `stages`."""
    tracked: list[float] = []
    untracked: list[float] = []
    detections = 0
    for clip in clips:
        tracker = FaceTracker(analyzer.config.face.tracking)
        reference = _reference(analyzer, clip) if stages is not None else None
        for ts_ms, buf in clip:
            start = time.perf_counter()
            frame = np.asarray(cv2.imdecode(buf, cv2.IMREAD_COLOR), np.uint8)
            decode_ms = (time.perf_counter() - start) * 1000
            full = stages is not None
            result = analyzer.analyze(
                frame, ts_ms, tracker=tracker, objects=full, recheck=full, reference=reference
            )
            alone = analyzer.analyze(frame, ts_ms, objects=False, recheck=False)
            detections += tracker.reason != "tracked"
            tracked.append(decode_ms + _face_ms(result.timings_ms))
            untracked.append(decode_ms + _face_ms(alone.timings_ms))
            if stages is not None:
                stages["decode"].append(decode_ms)
                for stage, ms in result.timings_ms.items():
                    stages[stage].append(ms)
                stages["face_stage"].append(tracked[-1])
                stages["untracked_face_stage"].append(untracked[-1])
            if baseline is not None and stages is not None:
                rgb = np.ascontiguousarray(frame[:, :, ::-1])
                start = time.perf_counter()
                baseline(rgb)
                stages["baseline"].append((time.perf_counter() - start) * 1000)
    return {
        "frames": len(tracked),
        "face_stage_ms": _median(tracked),
        "untracked_face_stage_ms": _median(untracked),
        "detector_share": round(detections / len(tracked), 3),
    }


def _reference(
    analyzer: Analyzer, clip: list[tuple[int, npt.NDArray[np.uint8]]]
) -> FloatArray | None:
    """The clip's first frame as enrolment photo, so that the identity stage is timed on every
    frame as the live loop's check would run; None when that frame shows no single face."""
    first = np.asarray(cv2.imdecode(clip[0][1], cv2.IMREAD_COLOR), np.uint8)
    try:
        return analyzer.enrol(first).embedding
    except EnrolmentError:
        return None


def _face_ms(timings: dict[str, float]) -> float:
    return sum(timings.get(k, 0.0) for k in ("track", "face", "mesh"))
