"""The object pass with a ceiling (policy object_ceiling_s): rare while nothing is found and the
scene stays, regular while something prohibited is in view, early after a big change."""

from __future__ import annotations

from openproctor.domains.exams.policy import ExamPolicy
from openproctor.live.schedule import EARLY_OBJECTS_S, PassSchedule

POLICY = ExamPolicy(object_interval_s=5, object_ceiling_s=30)


def ran(schedule: PassSchedule, at: float, *, objects: bool, found: bool, changed: bool) -> None:
    schedule.ran(
        at,
        POLICY,
        load_factor=1.0,
        objects=objects,
        identity=False,
        changed_a_lot=changed,
        found=found,
    )


def due(schedule: PassSchedule, now: float, policy: ExamPolicy = POLICY) -> bool:
    plan = schedule.plan(now, policy, load_factor=1.0, has_reference=False, waited=0.0)
    return plan.objects


def test_a_still_scene_where_nothing_is_found_waits_for_the_ceiling() -> None:
    schedule = PassSchedule()
    ran(schedule, 100.0, objects=True, found=False, changed=False)
    for now in range(101, 130):  # frames that change little
        assert not due(schedule, now)
        ran(schedule, now, objects=False, found=False, changed=False)
    assert due(schedule, 130.0)


def test_while_something_is_found_passes_keep_the_interval() -> None:
    schedule = PassSchedule()
    ran(schedule, 100.0, objects=True, found=True, changed=False)
    assert not due(schedule, 104.9)
    assert due(schedule, 105.0)
    # Once a pass finds nothing again, the next waits for the ceiling.
    ran(schedule, 105.0, objects=True, found=False, changed=False)
    assert not due(schedule, 110.0)
    assert due(schedule, 135.0)


def test_a_big_change_brings_the_pass_early_but_at_most_one_per_interval() -> None:
    schedule = PassSchedule()
    ran(schedule, 100.0, objects=True, found=False, changed=False)
    ran(schedule, 101.0, objects=False, found=False, changed=True)
    # Not 2 s after the last pass, as without a ceiling: a scene that keeps changing would
    # then cost a pass every 2 s.
    assert not due(schedule, 100.0 + EARLY_OBJECTS_S)
    assert not due(schedule, 104.9)
    assert due(schedule, 105.0)
    # Well after the last pass, a change gets its pass on the next frame.
    ran(schedule, 105.0, objects=True, found=False, changed=False)
    ran(schedule, 120.0, objects=False, found=False, changed=True)
    assert due(schedule, 121.0)


def test_a_ceiling_under_the_interval_never_makes_passes_more_frequent() -> None:
    schedule = PassSchedule()
    tight = ExamPolicy(object_interval_s=10, object_ceiling_s=3)
    schedule.ran(
        100.0,
        tight,
        load_factor=1.0,
        objects=True,
        identity=False,
        changed_a_lot=False,
        found=False,
    )
    assert not due(schedule, 109.9, tight)
    assert due(schedule, 110.0, tight)


def test_without_a_ceiling_a_pass_comes_every_interval_found_or_not() -> None:
    fixed = ExamPolicy(object_interval_s=5, object_ceiling_s=0)
    schedule = PassSchedule()
    schedule.ran(
        100.0, fixed, load_factor=1.0, objects=True, identity=False, changed_a_lot=True, found=False
    )
    assert due(schedule, 100.0 + EARLY_OBJECTS_S, fixed)  # the change's pass, 2 s on
    schedule.ran(
        102.0,
        fixed,
        load_factor=1.0,
        objects=True,
        identity=False,
        changed_a_lot=False,
        found=False,
    )
    assert not due(schedule, 106.9, fixed)
    assert due(schedule, 107.0, fixed)
