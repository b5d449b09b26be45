"""`openproctor eval`'s objects: phones, books and laptops against the labels, twice: as flagged
(found in the candidate's zone, what raises prohibited_object) and as reported (found anywhere,
the zone aside: a shelf book behind the candidate is reported, never flagged); and the phone
evidence's threshold sweep."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from openproctor.detectors.base import FrameAnalysis
from openproctor.tools.eval_stats import rate, steps, sweep

OBJECT_LABELS = {"phone": "cell phone", "book": "book", "laptop": "laptop"}
# The phone sweep's thresholds on the phone evidence's score (detectors/phones.py).
PHONE_SWEEP_THRESHOLDS = steps(0.10, 0.70, 0.05)


def ratio(num: int, den: int) -> float | None:
    return None if den == 0 else round(num / den, 3)


@dataclass
class _Hits:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    false_alarms: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)

    def add(self, name: str, truth: bool, *, seen: bool) -> None:
        if truth and seen:
            self.tp += 1
        elif seen:
            self.fp += 1
            self.false_alarms.append(name)
        elif truth:
            self.fn += 1
            self.missed.append(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "precision": ratio(self.tp, self.tp + self.fp),
            "recall": ratio(self.tp, self.tp + self.fn),
            "precision_ci95": rate(self.tp, self.tp + self.fp)["ci95"],
            "recall_ci95": rate(self.tp, self.tp + self.fn)["ci95"],
        }


@dataclass
class ObjectTally:
    hits: dict[str, _Hits] = field(default_factory=lambda: {k: _Hits() for k in OBJECT_LABELS})
    anywhere: dict[str, _Hits] = field(default_factory=lambda: {k: _Hits() for k in OBJECT_LABELS})
    # Labelled objects found only outside the candidate's zone (so not reported).
    outside_zone: list[dict[str, str]] = field(default_factory=list)
    # The phone evidence's score on each image (detectors/phones.py: the object model's phone
    # score plus its cues), split by whether the image shows a phone.
    phone_scores: dict[bool, list[float]] = field(default_factory=lambda: {True: [], False: []})

    def add(self, row: dict[str, str], result: FrameAnalysis) -> None:
        name = row["file"]
        labels = {o.label for o in result.objects}
        self.outside_zone += [
            {"file": name, "label": label}
            for label in sorted(set(result.background.label) - labels)
            if label in OBJECT_LABELS.values()
        ]
        self.phone_scores[row["phone"] == "1"].append(result.phone.score if result.phone else 0.0)
        reported = labels | set(result.background.label)
        for key, label in OBJECT_LABELS.items():
            truth = row[key] == "1"
            self.hits[key].add(name, truth, seen=label in labels)
            self.anywhere[key].add(name, truth, seen=label in reported)

    def to_dict(self) -> dict[str, Any]:
        return {
            "objects": {k: v.to_dict() for k, v in self.hits.items()},
            "objects_reported": {k: v.to_dict() for k, v in self.anywhere.items()},
            "objects_outside_zone": self.outside_zone,
            # positives: images labelled with a phone; negatives: the rest.
            "phone_sweep": sweep(
                self.phone_scores[True],
                self.phone_scores[False],
                PHONE_SWEEP_THRESHOLDS,
                accept_below=False,
            ),
        }
