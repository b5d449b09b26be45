"""How far to trust `openproctor eval`'s rates: Wilson intervals and threshold sweeps.

The evaluation set is small (a few dozen photos), so a rate of 1.0 on it says little by
itself; every rate comes with its 95 % Wilson interval, and every decision threshold with a
sweep showing how both kinds of error move around it, so a threshold is chosen where the
table is flat rather than where one image happens to fall.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

Z_95 = 1.959964  # the normal quantile of a two-sided 95 % interval


def wilson(successes: int, trials: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval of successes/trials (None without trials): unlike the
    normal approximation it stays inside [0, 1] and is not zero-width at 0 or 1."""
    if trials == 0:
        return None
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return round(max(centre - half, 0.0), 3), round(min(centre + half, 1.0), 3)


def rate(successes: int, trials: int) -> dict[str, Any]:
    """A rate with its count and 95 % interval, as eval reports it."""
    return {
        "k": successes,
        "n": trials,
        "rate": round(successes / trials, 3) if trials else None,
        "ci95": wilson(successes, trials),
    }


def sweep(
    positives: Sequence[float],
    negatives: Sequence[float],
    thresholds: Iterable[float],
    *,
    accept_below: bool,
) -> list[dict[str, Any]]:
    """One row per threshold: the share of positives accepted and of negatives rejected.

    accept_below: a value at or below the threshold is accepted (distances); otherwise at or
    above (scores).
    """
    rows = []
    for threshold in thresholds:

        def accepted(value: float, t: float = threshold) -> bool:
            return value <= t if accept_below else value >= t

        hits = sum(accepted(v) for v in positives)
        rejections = sum(not accepted(v) for v in negatives)
        rows.append(
            {
                "threshold": round(threshold, 3),
                "positives_accepted": rate(hits, len(positives)),
                "negatives_rejected": rate(rejections, len(negatives)),
            }
        )
    return rows


def steps(start: float, stop: float, step: float) -> list[float]:
    """start, start + step, ... up to and including stop (rounded, no float drift)."""
    count = round((stop - start) / step)
    return [round(start + i * step, 6) for i in range(count + 1)]
