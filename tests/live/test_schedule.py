"""Pass scheduling and load shedding, on their own: no database, no event loop."""

from __future__ import annotations

import random

import pytest

from openproctor.domains.exams.policy import ExamPolicy
from openproctor.live.schedule import (
    CONFIRM_FPS,
    DEFER_AFTER_S,
    EARLY_OBJECTS_S,
    LOAD_FACTOR_MIN,
    LOAD_MIN_FRAMES,
    THUMBNAIL_EVERY_S,
    LoadShedder,
    PassSchedule,
    Plan,
    confirm_fps,
)

# A pass every object_interval_s, as before object_ceiling_s (tested on its own below).
POLICY = ExamPolicy(object_interval_s=5, object_ceiling_s=0, identity_interval_s=30)
LATE = DEFER_AFTER_S + 0.1  # a frame that waited this long for a worker


def plan(schedule: PassSchedule, now: float, *, waited: float = 0.0, load: float = 1.0) -> Plan:
    return schedule.plan(now, POLICY, load_factor=load, has_reference=True, waited=waited)


def test_due_passes_run_on_a_prompt_frame_and_wait_for_a_late_one() -> None:
    schedule = PassSchedule(next_objects_at=100.0, next_identity_at=100.0)
    assert plan(schedule, 99.0) == plan(schedule, 99.0, waited=LATE)  # nothing due: no change
    assert (plan(schedule, 99.0).objects, plan(schedule, 99.0).identity) == (False, False)
    prompt = plan(schedule, 101.0)
    assert (prompt.objects, prompt.identity, prompt.deferred) == (True, True, ())
    late = plan(schedule, 101.0, waited=LATE)
    assert (late.objects, late.identity) == (False, False)
    assert late.deferred == ("objects", "identity")


def test_a_pass_is_put_off_by_at_most_one_interval_more_under_load() -> None:
    schedule = PassSchedule(next_objects_at=100.0, next_identity_at=100.0)
    # One interval late, it runs however long the frame waited.
    overdue = plan(schedule, 100.0 + POLICY.identity_interval_s, waited=LATE)
    assert (overdue.objects, overdue.identity) == (True, True)
    # At half the frame rate the limit is two intervals.
    stretched = plan(schedule, 100.0 + POLICY.object_interval_s * 1.5, waited=LATE, load=0.5)
    assert stretched.deferred == ("objects", "identity")


def test_identity_needs_a_reference() -> None:
    schedule = PassSchedule(next_identity_at=0.0)
    decided = schedule.plan(10.0, POLICY, load_factor=1.0, has_reference=False, waited=0.0)
    assert decided.identity is False


def test_a_changed_scene_brings_the_object_pass_early_but_not_every_frame() -> None:
    schedule = PassSchedule(next_objects_at=1000.0)
    schedule.ran(
        100.0,
        POLICY,
        load_factor=1.0,
        objects=True,
        identity=False,
        changed_a_lot=False,
        found=False,
    )
    schedule.next_objects_at = 1000.0
    schedule.ran(
        100.5,
        POLICY,
        load_factor=1.0,
        objects=False,
        identity=False,
        changed_a_lot=True,
        found=False,
    )
    assert plan(schedule, 100.0 + EARLY_OBJECTS_S - 0.1).objects is False
    assert plan(schedule, 100.0 + EARLY_OBJECTS_S).objects is True
    schedule.ran(
        102.0,
        POLICY,
        load_factor=1.0,
        objects=True,
        identity=False,
        changed_a_lot=False,
        found=False,
    )
    assert schedule.scene_changed is False
    assert plan(schedule, 102.0 + EARLY_OBJECTS_S).objects is False


def test_a_load_factor_change_never_makes_sessions_due_together() -> None:
    schedules = [PassSchedule() for _ in range(4)]
    for i, schedule in enumerate(schedules):  # passes at 1 s steps while the factor is 0.5
        schedule.ran(
            i,
            POLICY,
            load_factor=0.5,
            objects=True,
            identity=False,
            changed_a_lot=False,
            found=False,
        )
    interval = POLICY.object_interval_s
    assert [s.next_objects_at for s in schedules] == [2 * interval + i for i in range(4)]
    # Right after the workers keep up again no session is due; they come due one by one.
    after = interval + 3.5
    assert not any(plan(s, after).objects for s in schedules)
    assert [plan(s, 2 * interval + 1.5).objects for s in schedules] == [True, True, False, False]


def test_first_passes_are_spread_over_the_interval() -> None:
    rng = random.Random(7)
    starts = [PassSchedule.spread(0.0, POLICY, rng) for _ in range(50)]
    objects = [s.next_objects_at for s in starts]
    identity = [s.next_identity_at for s in starts]
    assert min(objects) >= 0
    assert max(objects) <= POLICY.object_interval_s
    assert len(set(objects)) == 50
    # The face was just checked at enrolment: no identity pass before half an interval.
    assert min(identity) >= POLICY.identity_interval_s / 2


def test_thumbnails_every_few_seconds() -> None:
    schedule = PassSchedule(last_thumbnail_at=10.0)
    assert not schedule.thumbnail_due(10.0 + THUMBNAIL_EVERY_S - 0.01)
    assert schedule.thumbnail_due(10.0 + THUMBNAIL_EVERY_S)


@pytest.mark.parametrize(
    ("pending", "watched", "load", "fps"),
    [
        (False, False, 1.0, 0.0),
        (True, False, 1.0, CONFIRM_FPS),
        (False, True, 1.0, CONFIRM_FPS),
        (True, True, 0.7, 0.0),  # shedding load: more frames would only add to it
    ],
)
def test_frames_asked_for_above_the_policy(
    pending: bool, watched: bool, load: float, fps: float
) -> None:
    assert confirm_fps(pending=pending, watched=watched, load_factor=load) == fps


def test_the_factor_falls_while_frames_are_skipped_and_recovers() -> None:
    shedder = LoadShedder()
    received = skipped = 0
    factors = []
    for _ in range(6):  # half the frames skipped
        received, skipped = received + 100, skipped + 50
        shedder.check(received=received, skipped=skipped)
        factors.append(shedder.factor)
    assert factors == sorted(factors, reverse=True)
    assert factors[0] == pytest.approx(0.7)
    assert shedder.factor == LOAD_FACTOR_MIN
    for _ in range(12):  # the workers keep up again
        received += 100
        shedder.check(received=received, skipped=skipped)
    assert shedder.factor == 1.0


def test_few_frames_or_a_middling_share_change_nothing() -> None:
    shedder = LoadShedder(factor=0.5)
    assert not shedder.check(received=LOAD_MIN_FRAMES - 1, skipped=LOAD_MIN_FRAMES - 1)
    assert not shedder.check(received=LOAD_MIN_FRAMES + 99, skipped=LOAD_MIN_FRAMES + 4)  # 5 %
    assert shedder.factor == 0.5


def test_deferring_shows_while_passes_are_put_off() -> None:
    shedder = LoadShedder()
    shedder.deferred += 2  # 2 of 20 frames put a pass off: 10 %
    assert shedder.check(received=LOAD_MIN_FRAMES, skipped=0)
    assert (shedder.deferring, shedder.factor) == (True, 1.0)
    assert shedder.check(received=2 * LOAD_MIN_FRAMES, skipped=0)
    assert shedder.deferring is False
