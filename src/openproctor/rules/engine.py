"""The per-session rule engine: conditions in, violation events out. Pure and synchronous.

A *condition* is something an observation says holds right now (two faces, a phone, the tab
hidden). Each (kind, label) pair is tracked on its own: it opens a violation once it has held
for the kind's ``min_duration_s`` (debounce) in at least ``min_checks`` observations in a row
(for kinds checked only now and then, like identity) and no violation of the same pair closed within
``cooldown_s``; it closes after the condition has been absent for ``QUIET_S`` (so one missed
detection does not split a violation in two). Only kinds an observation actually evaluated can
be closed by it: frames without an object pass leave an open phone violation alone.

A condition's details describe the violation: while it is pending or open, later details
replace earlier ones, except ``detections`` (what saw it: the tab and the window, the faces
and the persons), which add up, so the violation keeps every detection that saw it. A source
that knows when its condition began (a page gone since its socket closed) passes ``since``:
the debounce counts from it, and the violation starts then.

The risk score combines the weights of every violation opened so far as independent
evidence, ``100 * (1 - prod(1 - w/100))``: it grows with each violation, never passes 100, and
a single heavy violation counts for more than a few light ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from openproctor.domains.exams.policy import ExamPolicy, RuleSettings, Severity, ViolationKind

# Seconds a condition must be absent before its open violation closes.
QUIET_S = 2.0
# The details key listing what saw a condition (sorted names); it adds up over a violation.
DETECTIONS = "detections"


class EventType(StrEnum):
    OPENED = "opened"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Condition:
    kind: ViolationKind
    label: str | None = None
    details: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    since: float | None = field(default=None, compare=False, hash=False)

    @property
    def key(self) -> tuple[ViolationKind, str | None]:
        return self.kind, self.label


@dataclass(frozen=True, slots=True)
class RuleEvent:
    type: EventType
    kind: ViolationKind
    label: str | None
    severity: Severity
    weight: float
    started_at: float
    ended_at: float | None
    details: dict[str, Any]


@dataclass(slots=True)
class _Track:
    pending_since: float | None = None
    checks: int = 0  # observations in a row that showed the pending condition
    opened_at: float | None = None
    last_active: float | None = None
    closed_at: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Outcome:
    events: list[RuleEvent]
    risk_score: float
    terminate: bool


class SessionRules:
    def __init__(
        self,
        policy: ExamPolicy,
        *,
        auto_terminate: bool | None = None,
        exempt: frozenset[ViolationKind] = frozenset(),
    ) -> None:
        self.policy = policy
        self.auto_terminate = policy.auto_terminate if auto_terminate is None else auto_terminate
        # The candidate's accommodation (domains/candidates/accommodations.py): kinds that
        # never open for them, tracked no more than a kind the policy switched off.
        self.exempt = exempt
        self.risk_score = 0.0
        self._tracks: dict[tuple[ViolationKind, str | None], _Track] = {}

    def _rule(self, kind: ViolationKind) -> RuleSettings:
        return self.policy.rules[kind]

    def applies(self, kind: ViolationKind) -> bool:
        """The exemption check: the policy's rule is on and the candidate is not exempt."""
        return self._rule(kind).enabled and kind not in self.exempt

    def has_pending(self) -> bool:
        """Whether some condition holds but has not yet lasted long enough to open."""
        return any(track.pending_since is not None for track in self._tracks.values())

    def open_kinds(self) -> list[tuple[ViolationKind, str | None]]:
        return [key for key, track in self._tracks.items() if track.opened_at is not None]

    def observe(
        self,
        at: float,
        conditions: list[Condition],
        evaluated: set[ViolationKind],
        *,
        quiet_s: float = QUIET_S,
    ) -> Outcome:
        """One observation at time ``at`` (seconds): which conditions hold, among the kinds
        that were evaluated. Exact sources (browser signals) pass ``quiet_s=0``."""
        events: list[RuleEvent] = []
        active = {c.key: c for c in conditions if self.applies(c.kind)}
        for key, condition in active.items():
            track = self._tracks.setdefault(key, _Track())
            track.last_active = at
            starting = track.opened_at is None and track.pending_since is None
            track.details = _merged({} if starting else track.details, condition.details)
            if track.opened_at is not None:
                continue
            if track.pending_since is None:
                track.pending_since, track.checks = _began(condition, at), 0
            track.checks += 1
            event = self._maybe_open(key, track, at)
            if event:
                events.append(event)
        for key, track in self._tracks.items():
            if key in active or key[0] not in evaluated:
                continue
            last = at if track.last_active is None else track.last_active
            if at - last < quiet_s:
                continue  # a short gap: neither the debounce nor an open violation restarts
            track.pending_since = None
            if track.opened_at is not None:
                events.append(self._close(key, track, ended_at=at if quiet_s == 0 else last))
        return self._outcome(events)

    def pulse(self, at: float, condition: Condition) -> Outcome:
        """A momentary event (a paste, a reload): opens and closes at once, if not cooling down."""
        if not self.applies(condition.kind):
            return self._outcome([])
        track = self._tracks.setdefault(condition.key, _Track())
        if track.opened_at is not None:
            return self._outcome([])
        track.pending_since = at
        track.details = condition.details
        opened = self._maybe_open(condition.key, track, at, ignore_duration=True)
        if opened is None:
            track.pending_since = None
            return self._outcome([])
        return self._outcome([opened, self._close(condition.key, track, ended_at=at)])

    def close_all(self, at: float) -> Outcome:
        """The session ended: every open violation ends now."""
        events = [
            self._close(key, track, ended_at=at)
            for key, track in self._tracks.items()
            if track.opened_at is not None
        ]
        return self._outcome(events)

    def _maybe_open(
        self,
        key: tuple[ViolationKind, str | None],
        track: _Track,
        at: float,
        *,
        ignore_duration: bool = False,
    ) -> RuleEvent | None:
        rule = self._rule(key[0])
        assert track.pending_since is not None
        held = at - track.pending_since
        if not ignore_duration and (held < rule.min_duration_s or track.checks < rule.min_checks):
            return None
        if track.closed_at is not None and at - track.closed_at < rule.cooldown_s:
            return None
        started = track.pending_since
        if track.closed_at is not None:
            started = max(started, track.closed_at + rule.cooldown_s)
        track.opened_at = started
        track.pending_since = None
        self.risk_score = 100 * (1 - (1 - self.risk_score / 100) * (1 - rule.weight / 100))
        return RuleEvent(
            EventType.OPENED,
            key[0],
            key[1],
            rule.severity,
            rule.weight,
            started,
            None,
            dict(track.details),
        )

    def _close(
        self, key: tuple[ViolationKind, str | None], track: _Track, *, ended_at: float
    ) -> RuleEvent:
        rule = self._rule(key[0])
        assert track.opened_at is not None
        event = RuleEvent(
            EventType.CLOSED,
            key[0],
            key[1],
            rule.severity,
            rule.weight,
            track.opened_at,
            ended_at,
            dict(track.details),
        )
        track.opened_at = None
        track.closed_at = ended_at
        return event

    def _outcome(self, events: list[RuleEvent]) -> Outcome:
        terminate = self.auto_terminate and self.risk_score >= self.policy.auto_terminate_risk
        return Outcome(events, round(self.risk_score, 2), terminate)


def _began(condition: Condition, at: float) -> float:
    """When the condition began holding: its own `since` (never later than now), else now."""
    return at if condition.since is None else min(condition.since, at)


def _merged(before: dict[str, Any], now: dict[str, Any]) -> dict[str, Any]:
    """A pending or open violation's details after one more observation."""
    merged = {**before, **now}
    if DETECTIONS in before or DETECTIONS in now:
        merged[DETECTIONS] = sorted({*before.get(DETECTIONS, ()), *now.get(DETECTIONS, ())})
    return merged
