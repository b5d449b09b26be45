"""Which passes a frame gets, and how many frames candidates are asked for. Pure: times come in
as arguments, nothing here does I/O, so every rule can be tested on its own.

Each session has its own pass schedule: the costly object and identity passes run when due
(or early, for an object pass, after a big change of scene; while nothing prohibited is in view,
the object pass is due only at the policy's ceiling), a thumbnail every few seconds.
Server-wide, the load shedder asks every candidate for fewer frames while the workers skip
many, and for more again once they keep up.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from openproctor.domains.exams.policy import ExamPolicy

THUMBNAIL_EVERY_S = 2.0
CONFIRM_FPS = 2.0  # frames asked for while a condition waits for its debounce, or is watched
EARLY_OBJECTS_S = 2.0  # a changed scene gets its object pass no sooner than this after the last
# A frame that waited this long for a worker gets only the face pass: a due object or identity
# pass moves to a later frame, by at most DEFER_LIMIT of its interval (more while the load
# factor is below 1), so bursts of costly passes never make frames skipped while the face pass
# alone keeps up.
DEFER_AFTER_S = 0.25
DEFER_LIMIT = 1.0
DEFER_SHOWN_SHARE = 0.05  # the wall says so once this share of frames puts a pass off
# Load shedding: every LOAD_CHECK_S, the share of frames skipped since the last check.
LOAD_CHECK_S = 5.0
LOAD_MIN_FRAMES = 20
LOAD_SKIP_HIGH = 0.10
LOAD_SKIP_LOW = 0.02
LOAD_FACTOR_MIN = 0.2


@dataclass(frozen=True, slots=True)
class Plan:
    """The passes one frame gets, and the due passes it put off ("objects", "identity")."""

    objects: bool
    identity: bool
    deferred: tuple[str, ...] = ()


@dataclass(slots=True)
class PassSchedule:
    """When one session's costly passes are next due."""

    next_objects_at: float = 0.0
    last_objects_at: float = 0.0
    scene_changed: bool = False
    next_identity_at: float = 0.0
    last_thumbnail_at: float = 0.0

    @classmethod
    def spread(
        cls, now: float, policy: ExamPolicy, rng: random.Random | None = None
    ) -> PassSchedule:
        """Sessions that start together must not all want their costly passes on the same
        frames: each starts at its own point of the interval. The face was just checked at
        enrolment, so the first identity check comes no sooner than half an interval."""
        rng = rng or random.Random()
        return cls(
            next_objects_at=now + rng.uniform(0, policy.object_interval_s),
            next_identity_at=now + rng.uniform(0.5, 1) * policy.identity_interval_s,
        )

    def plan(
        self,
        now: float,
        policy: ExamPolicy,
        *,
        load_factor: float,
        has_reference: bool,
        waited: float,
    ) -> Plan:
        early = early_objects_s(policy) / load_factor
        objects = now >= self.next_objects_at or (
            self.scene_changed and now - self.last_objects_at >= early
        )
        identity = has_reference and now >= self.next_identity_at
        deferred: list[str] = []
        if waited > DEFER_AFTER_S:
            # While frames are also being skipped, the limit stretches as the intervals do.
            limit = DEFER_LIMIT / load_factor
            if objects and now < self.next_objects_at + policy.object_interval_s * limit:
                objects = False
                deferred.append("objects")
            if identity and now < self.next_identity_at + policy.identity_interval_s * limit:
                identity = False
                deferred.append("identity")
        return Plan(objects, identity, tuple(deferred))

    def ran(
        self,
        at: float,
        policy: ExamPolicy,
        *,
        load_factor: float,
        objects: bool,
        identity: bool,
        changed_a_lot: bool,
        found: bool,
    ) -> None:
        """A frame received at `at` was analysed with these passes; `found`: its object pass
        saw something the exam prohibits (an object on its list, a second person)."""
        # Under load the costly passes space out like the frames do (load_factor < 1). Each
        # session's next pass is fixed when its last one ran, so a change of the load factor
        # never makes many sessions due at once.
        stretch = 1 / load_factor
        if objects:
            self.last_objects_at = at
            self.next_objects_at = at + object_wait(policy, found=found) * stretch
            self.scene_changed = False
        if identity:
            self.next_identity_at = at + policy.identity_interval_s * stretch
        # A big change (someone walked in, something was picked up) asks for an early object
        # pass; EARLY_OBJECTS_S limits how early, so constant motion cannot run it every frame.
        self.scene_changed = self.scene_changed or changed_a_lot

    def thumbnail_due(self, at: float) -> bool:
        return at - self.last_thumbnail_at >= THUMBNAIL_EVERY_S


def object_wait(policy: ExamPolicy, *, found: bool) -> float:
    """Seconds from one object pass to the next regular one. With a ceiling, a scene where the
    last pass found nothing waits up to the ceiling (a big change still brings a pass early);
    while something is found, passes keep the interval, so its violation opens and closes on
    time."""
    if found or policy.object_ceiling_s == 0:
        return policy.object_interval_s
    return max(policy.object_ceiling_s, policy.object_interval_s)


def early_objects_s(policy: ExamPolicy) -> float:
    """How soon after the last object pass a big change of scene brings the next one. With a
    ceiling it is the interval: a scene that keeps changing (a moving camera) then costs a pass
    per interval, as without a ceiling, not one every EARLY_OBJECTS_S."""
    if policy.object_ceiling_s == 0:
        return EARLY_OBJECTS_S
    return max(EARLY_OBJECTS_S, policy.object_interval_s)


def confirm_fps(*, pending: bool, watched: bool, load_factor: float) -> float:
    """The rate asked for above the policy's: faster while a condition waits for its debounce
    or a proctor watches closely; never while shedding load (it would only add to it)."""
    return CONFIRM_FPS if load_factor >= 1.0 and (pending or watched) else 0.0


@dataclass(slots=True)
class LoadShedder:
    """The share of the policy's frame rate every candidate is asked for, from how many frames
    the workers skipped since the last check, and whether costly passes are being put off."""

    factor: float = 1.0
    deferring: bool = False
    deferred: int = 0
    # Frames received and skipped, and passes deferred, at the last check.
    _window: tuple[int, int, int] = field(default=(0, 0, 0))

    def check(self, *, received: int, skipped: int) -> bool:
        """Given the running totals of frames received and skipped; True when the factor or
        deferring changed."""
        last_received, last_skipped, last_deferred = self._window
        self._window = (received, skipped, self.deferred)
        new_frames = received - last_received
        if new_frames < LOAD_MIN_FRAMES:
            return False
        share = (skipped - last_skipped) / new_frames
        deferring = (self.deferred - last_deferred) / new_frames > DEFER_SHOWN_SHARE
        factor = self.factor
        if share > LOAD_SKIP_HIGH:
            factor = max(LOAD_FACTOR_MIN, factor * 0.7)
        elif share < LOAD_SKIP_LOW:
            factor = min(1.0, factor * 1.25)
        if factor == self.factor and deferring == self.deferring:
            return False
        self.factor, self.deferring = factor, deferring
        return True
