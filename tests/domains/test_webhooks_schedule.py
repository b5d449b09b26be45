"""The retry schedule: growing waits with full jitter, ending exactly a day after the first
failure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from statistics import mean

from openproctor.domains.webhooks.schedule import RetryPolicy

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
DAY = timedelta(hours=24)


def failing_attempts(policy: RetryPolicy) -> list[datetime]:
    """When a delivery whose receiver never answers is tried."""
    times = [START]
    retry_until = policy.deadline(START)
    while (
        upcoming := policy.next_attempt(
            attempts_made=len(times), now=times[-1], retry_until=retry_until
        )
    ) is not None:
        times.append(upcoming)
    return times


def waits_s(times: list[datetime]) -> list[float]:
    return [(later - earlier).total_seconds() for earlier, later in pairwise(times)]


def test_without_jitter_the_waits_double_up_to_four_hours_and_the_last_is_at_24_hours() -> None:
    times = failing_attempts(RetryPolicy(jitter=lambda ceiling: ceiling))
    assert waits_s(times) == [
        30, 60, 120, 240, 480, 960, 1920, 3840, 7680, 14400, 14400, 14400, 14400, 13470
    ]  # fmt: skip
    assert times[-1] - times[0] == DAY


def test_with_jitter_every_schedule_spans_exactly_a_day_and_each_wait_stays_under_its_ceiling() -> (
    None
):
    policy = RetryPolicy()
    runs = [failing_attempts(policy) for _ in range(300)]
    for times in runs:
        assert times[-1] - times[0] == DAY
        for attempts_made, wait in enumerate(waits_s(times), start=1):
            assert 0 <= wait <= policy.ceiling(attempts_made)
        # Without jitter 15 attempts; with it the waits are shorter, so more (about 20).
        assert 15 <= len(times) <= 60
    # The jitter spreads the retries: the first waits cover most of 0..30 s, and a wait at
    # the four-hour ceiling averages two hours.
    firsts = [waits_s(times)[0] for times in runs]
    assert max(firsts) - min(firsts) > 0.8 * policy.ceiling(1)
    capped = [
        wait
        for times in runs
        for attempts_made, wait in enumerate(waits_s(times)[:-1], start=1)
        if policy.ceiling(attempts_made) == policy.max_s
    ]
    assert 0.4 * policy.max_s < mean(capped) < 0.6 * policy.max_s


def test_a_capped_schedule_ends_after_its_attempts() -> None:
    times = failing_attempts(RetryPolicy(attempts=3, jitter=lambda ceiling: ceiling))
    assert waits_s(times) == [30, 60]
