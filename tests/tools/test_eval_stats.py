"""Wilson intervals and threshold sweeps for `openproctor eval`, on generated numbers."""

from __future__ import annotations

import pytest

from openproctor.tools.eval_stats import rate, steps, sweep, wilson


@pytest.mark.parametrize(
    ("k", "n", "interval"),
    [
        # Reference values (Wilson 1927; e.g. statsmodels proportion_confint(method="wilson")).
        (5, 10, (0.237, 0.763)),
        (0, 10, (0.0, 0.278)),
        (10, 10, (0.722, 1.0)),
        (131, 131, (0.972, 1.0)),
    ],
)
def test_wilson_matches_reference_values(k: int, n: int, interval: tuple[float, float]) -> None:
    assert wilson(k, n) == interval


def test_a_rate_without_trials_has_no_interval() -> None:
    assert rate(0, 0) == {"k": 0, "n": 0, "rate": None, "ci95": None}
    assert rate(3, 4)["rate"] == 0.75


def test_distance_sweep_accepts_at_or_below_and_score_sweep_at_or_above() -> None:
    same = [0.2, 0.35, 0.45]
    different = [0.4, 0.6, 0.8, 0.9]
    rows = sweep(same, different, steps(0.3, 0.5, 0.1), accept_below=True)
    table = [
        (r["threshold"], r["positives_accepted"]["k"], r["negatives_rejected"]["k"]) for r in rows
    ]
    assert table == [(0.3, 1, 4), (0.4, 2, 3), (0.5, 3, 3)]
    assert rows[0]["positives_accepted"]["n"] == 3
    assert rows[0]["negatives_rejected"]["ci95"] == wilson(4, 4)
    scores = sweep([0.5, 0.3], [0.0, 0.3], [0.3, 0.4], accept_below=False)
    assert [(r["positives_accepted"]["k"], r["negatives_rejected"]["k"]) for r in scores] == [
        (2, 1),
        (1, 2),
    ]


def test_steps_include_the_end_without_drift() -> None:
    assert steps(0.30, 0.70, 0.05) == [0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7]
