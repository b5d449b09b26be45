"""Self-correction prompts: what the candidate is told while a condition that would become a
violation holds, so they can put it right first. Pure and synchronous, beside the rule engine
(rules/engine.py) and fed the same observations.

A kind's prompt shows once its condition has held for the rule's ``prompt_after_s`` (the policy
keeps that shorter than the debounce ``min_duration_s``, so the prompt comes before the
violation opens) and clears at the first observation that evaluated the kind without seeing it.
It stays while the condition holds, also after the violation opened: the candidate should still
put it right. Kinds without ``prompt_after_s`` (or disabled) never prompt.
"""

from __future__ import annotations

from dataclasses import dataclass

from openproctor.domains.exams.policy import PROMPT_TEXTS, ExamPolicy, ViolationKind
from openproctor.rules.engine import Condition


@dataclass(frozen=True, slots=True)
class PromptChange:
    kind: ViolationKind
    shown: bool  # True: the prompt appears now; False: the condition cleared, it goes away
    at: float

    @property
    def text(self) -> str:
        return PROMPT_TEXTS[self.kind]


class SessionPrompts:
    def __init__(self, policy: ExamPolicy) -> None:
        self.policy = policy
        self._held_since: dict[ViolationKind, float] = {}
        self.showing: set[ViolationKind] = set()

    def _delay(self, kind: ViolationKind) -> float | None:
        rule = self.policy.rules[kind]
        return rule.prompt_after_s if rule.enabled else None

    def observe(
        self, at: float, conditions: list[Condition], evaluated: set[ViolationKind]
    ) -> list[PromptChange]:
        """One observation at ``at`` (seconds), as rules.engine.SessionRules.observe takes it."""
        changes: list[PromptChange] = []
        held = {condition.kind for condition in conditions}
        for kind in sorted(held):
            delay = self._delay(kind)
            if delay is None:
                continue
            since = self._held_since.setdefault(kind, at)
            if kind not in self.showing and at - since >= delay:
                self.showing.add(kind)
                changes.append(PromptChange(kind, True, at))
        for kind in sorted(self._held_since.keys() & evaluated - held):
            del self._held_since[kind]
            if kind in self.showing:
                self.showing.discard(kind)
                changes.append(PromptChange(kind, False, at))
        return changes

    def current(self, at: float) -> list[PromptChange]:
        """The prompts showing now, for a page that (re)connects."""
        return [PromptChange(kind, True, at) for kind in sorted(self.showing)]

    def clear_all(self, at: float) -> list[PromptChange]:
        """The exam stopped running (paused or ended): every prompt goes away."""
        self._held_since.clear()
        cleared = [PromptChange(kind, False, at) for kind in sorted(self.showing)]
        self.showing.clear()
        return cleared
