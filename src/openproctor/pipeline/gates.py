"""Cheap checks on a tiny grey copy of the frame, run before any model.

A covered or black camera needs no face detector to be noticed; a frame that barely changed
since the last analysed one gives the same answer as that one did; a frame identical to the
previous one to the pixel means the video froze (real sensors always add some noise).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np
import numpy.typing as npt

SMALL_SIZE = (64, 48)
DARK_MEAN = 20.0  # 0-255 grey level: a lens cap or a hand over the camera
FLAT_STD = 8.0  # and next to no texture
UNCHANGED_DIFF = 1.5  # mean absolute grey difference below which the scene did not change
CHANGED_DIFF = 12.0  # above this the scene changed a lot: worth an early object pass

Small = npt.NDArray[np.uint8]


class Gate(StrEnum):
    ANALYSED = "analysed"
    UNCHANGED = "unchanged"
    COVERED = "covered"
    UNDECODABLE = "undecodable"


@dataclass(frozen=True, slots=True)
class GateResult:
    gate: Gate
    frozen: bool
    changed_a_lot: bool
    small: Small


def shrink(frame: npt.NDArray[np.uint8]) -> Small:
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
    return np.asarray(cv2.resize(grey, SMALL_SIZE, interpolation=cv2.INTER_AREA), np.uint8)


def _diff(a: Small, b: Small | None) -> float | None:
    if b is None or a.shape != b.shape:
        return None
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def check(
    frame: npt.NDArray[np.uint8], *, last_seen: Small | None, last_analysed: Small | None
) -> GateResult:
    """Frozen compares with the frame just before; unchanged with the last one analysed, so
    a slow drift still gets analysed once it adds up."""
    small = shrink(frame)
    if float(small.mean()) < DARK_MEAN and float(small.std()) < FLAT_STD:
        return GateResult(Gate.COVERED, False, False, small)
    frozen = _diff(small, last_seen) == 0.0
    since_analysed = _diff(small, last_analysed)
    if since_analysed is None:
        # Nothing to compare with: not a change. (As one, every session of an exam starting
        # together would ask for an early object pass at once; the hub spreads first passes.)
        return GateResult(Gate.ANALYSED, frozen, False, small)
    gate = Gate.UNCHANGED if since_analysed < UNCHANGED_DIFF else Gate.ANALYSED
    return GateResult(gate, frozen, since_analysed >= CHANGED_DIFF, small)
