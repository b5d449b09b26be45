"""Objects found in a frame: one type from the object model to the worker's outcome and the
live layer (supervision's `Detections`).

A structure of arrays, checked when made: N boxes (x1, y1, x2, y2 in frame pixels), their
confidences and labels. Select with a boolean mask or indices (`found[found.label == "person"]`);
iterate for one DetectedObject at a time. numpy only, so the web process can hold one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

BoxTuple = tuple[float, float, float, float]
Selection = npt.NDArray[np.bool_] | npt.NDArray[np.intp] | slice


@dataclass(frozen=True, slots=True)
class DetectedObject:
    """One of the Detections, as plain values."""

    label: str
    score: float
    box: BoxTuple


@dataclass(frozen=True, slots=True, eq=False)
class Detections:
    xyxy: npt.NDArray[np.float64]  # (N, 4)
    confidence: npt.NDArray[np.float64]  # (N,)
    label: npt.NDArray[np.str_]  # (N,)

    def __post_init__(self) -> None:
        n = len(self.confidence)
        if self.xyxy.shape != (n, 4) or self.confidence.shape != (n,):
            raise ValueError(
                f"{n} detections need xyxy of shape ({n}, 4) and confidence of shape ({n},), "
                f"not {self.xyxy.shape} and {self.confidence.shape}"
            )
        if self.label.shape != (n,):
            raise ValueError(f"{n} detections need {n} labels, not shape {self.label.shape}")
        x1, y1, x2, y2 = self.xyxy.T
        if not (np.all(x2 > x1) and np.all(y2 > y1)):
            raise ValueError(f"empty boxes among {self.xyxy.tolist()}")
        if not np.all(np.isfinite(self.confidence)):
            raise ValueError(f"confidences must be finite, not {self.confidence.tolist()}")

    @classmethod
    def of(
        cls,
        xyxy: npt.ArrayLike,
        confidence: npt.ArrayLike,
        label: Sequence[str] | npt.NDArray[np.str_],
    ) -> Detections:
        """Detections from array-likes: float64 boxes and confidences, string labels."""
        boxes = np.asarray(xyxy, np.float64).reshape(-1, 4)
        return cls(boxes, np.asarray(confidence, np.float64).reshape(-1), _labels(label))

    @classmethod
    def empty(cls) -> Detections:
        return cls.of(np.empty((0, 4)), np.empty(0), [])

    @classmethod
    def merge(cls, *many: Detections) -> Detections:
        """All of them, in the order given."""
        if not many:
            return cls.empty()
        return cls(
            np.concatenate([d.xyxy for d in many]),
            np.concatenate([d.confidence for d in many]),
            _labels(np.concatenate([d.label for d in many])),
        )

    def __len__(self) -> int:
        return len(self.confidence)

    def __getitem__(self, selection: Selection) -> Detections:
        return Detections(self.xyxy[selection], self.confidence[selection], self.label[selection])

    def __iter__(self) -> Iterator[DetectedObject]:
        rows = zip(self.xyxy.tolist(), self.confidence.tolist(), self.label, strict=True)
        for box, score, label in rows:
            yield DetectedObject(str(label), score, (box[0], box[1], box[2], box[3]))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Detections):
            return NotImplemented
        return (
            np.array_equal(self.xyxy, other.xyxy)
            and np.array_equal(self.confidence, other.confidence)
            and np.array_equal(self.label, other.label)
        )

    __hash__ = None  # type: ignore[assignment]  # equal by value, and arrays are mutable

    def __repr__(self) -> str:
        return f"Detections({list(self)!r})"

    def count(self, label: str) -> int:
        return int(np.count_nonzero(self.label == label))

    def shifted(self, dx: float, dy: float) -> Detections:
        """The same boxes moved by (dx, dy): from a crop's pixels into the frame's."""
        return Detections(self.xyxy + np.array([dx, dy, dx, dy]), self.confidence, self.label)

    def by_confidence(self) -> Detections:
        """Most confident first; equal confidences keep their order."""
        return self[np.argsort(-self.confidence, kind="stable")]

    def without_overlaps(self, iou: float) -> Detections:
        """Most confident first, each dropped that overlaps a kept one of its label by `iou`
        or more (greedy non-maximum suppression per label)."""
        ranked = self.by_confidence()
        areas = (ranked.xyxy[:, 2] - ranked.xyxy[:, 0]) * (ranked.xyxy[:, 3] - ranked.xyxy[:, 1])
        kept: list[int] = []
        for i in range(len(ranked)):
            same = [k for k in kept if ranked.label[k] == ranked.label[i]]
            if not same or np.max(_iou(ranked.xyxy, areas, i, same)) < iou:
                kept.append(i)
        return ranked[np.array(kept, np.intp)]

    def to_dicts(self) -> list[dict[str, Any]]:
        """For JSON reports: rounded as people read them."""
        return [
            {
                "label": found.label,
                "score": round(found.score, 3),
                "box": [round(v, 1) for v in found.box],
            }
            for found in self
        ]

    def to_wire(self) -> dict[str, list[Any]]:
        """Exact values for JSON (Redis results); from_wire makes them Detections again."""
        return {
            "xyxy": self.xyxy.tolist(),
            "confidence": self.confidence.tolist(),
            "label": self.label.tolist(),
        }

    @classmethod
    def from_wire(cls, body: dict[str, list[Any]]) -> Detections:
        return cls.of(body["xyxy"], body["confidence"], body["label"])


def _labels(labels: Sequence[str] | npt.NDArray[np.str_]) -> npt.NDArray[np.str_]:
    # np.array([]) would be float; labels are always strings, even none of them.
    return np.array(list(labels), dtype=np.str_) if len(labels) else np.empty(0, np.str_)


def _iou(
    xyxy: npt.NDArray[np.float64], areas: npt.NDArray[np.float64], i: int, others: list[int]
) -> npt.NDArray[np.float64]:
    """Intersection over union of box i with each of `others`."""
    w = np.minimum(xyxy[i, 2], xyxy[others, 2]) - np.maximum(xyxy[i, 0], xyxy[others, 0])
    h = np.minimum(xyxy[i, 3], xyxy[others, 3]) - np.maximum(xyxy[i, 1], xyxy[others, 1])
    inter = np.maximum(w, 0.0) * np.maximum(h, 0.0)
    result: npt.NDArray[np.float64] = inter / (areas[i] + areas[others] - inter)
    return result
