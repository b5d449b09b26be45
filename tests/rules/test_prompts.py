"""Self-correction prompts (rules/prompts.py) and their policy setting."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from openproctor.domains.exams.policy import DEFAULT_RULES, PROMPT_TEXTS, ExamPolicy, ViolationKind
from openproctor.rules.engine import Condition, SessionRules
from openproctor.rules.prompts import PromptChange, SessionPrompts

K = ViolationKind
FACE_KINDS = {K.NO_FACE, K.MULTIPLE_FACES, K.LOOKING_AWAY}


def no_face_policy(prompt_after_s: float = 1.0) -> ExamPolicy:
    rule = DEFAULT_RULES[K.NO_FACE].model_copy(
        update={"min_duration_s": 3.0, "prompt_after_s": prompt_after_s}
    )
    return ExamPolicy(rules={K.NO_FACE: rule})


def test_the_prompt_shows_after_its_delay_and_before_the_violation_opens() -> None:
    policy = no_face_policy(1.0)
    prompts, rules = SessionPrompts(policy), SessionRules(policy)
    shown_at = opened_at = None
    for tick in range(6):  # one frame a second without a face
        at = 100.0 + tick
        held = [Condition(K.NO_FACE)]
        if prompts.observe(at, held, FACE_KINDS) and shown_at is None:
            shown_at = at
        if rules.observe(at, held, FACE_KINDS).events and opened_at is None:
            opened_at = at
    assert shown_at == 101.0  # held for prompt_after_s
    assert opened_at == 103.0  # held for min_duration_s
    assert prompts.showing == {K.NO_FACE}


def test_the_prompt_goes_when_the_condition_clears_and_only_then() -> None:
    prompts = SessionPrompts(no_face_policy(0.0))
    assert prompts.observe(10.0, [Condition(K.NO_FACE)], FACE_KINDS) == [
        PromptChange(K.NO_FACE, True, 10.0)
    ]
    # Held on: shown once, not again.
    assert prompts.observe(11.0, [Condition(K.NO_FACE)], FACE_KINDS) == []
    # An observation that did not look at faces (audio) says nothing about it.
    assert prompts.observe(12.0, [], {K.SPEECH}) == []
    cleared = prompts.observe(13.0, [], FACE_KINDS)
    assert cleared == [PromptChange(K.NO_FACE, False, 13.0)]
    assert cleared[0].text == PROMPT_TEXTS[K.NO_FACE]
    assert prompts.showing == set()


def test_a_short_lapse_restarts_the_delay() -> None:
    prompts = SessionPrompts(no_face_policy(2.0))
    assert prompts.observe(0.0, [Condition(K.NO_FACE)], FACE_KINDS) == []
    assert prompts.observe(1.0, [], FACE_KINDS) == []  # face back before the prompt
    assert prompts.observe(2.0, [Condition(K.NO_FACE)], FACE_KINDS) == []
    assert prompts.observe(3.0, [Condition(K.NO_FACE)], FACE_KINDS) == []
    assert prompts.observe(4.0, [Condition(K.NO_FACE)], FACE_KINDS) != []


def test_kinds_without_a_prompt_or_disabled_never_prompt() -> None:
    policy = ExamPolicy(
        rules={
            K.NO_FACE: DEFAULT_RULES[K.NO_FACE].model_copy(update={"enabled": False}),
            K.SPEECH: DEFAULT_RULES[K.SPEECH].model_copy(update={"prompt_after_s": None}),
        }
    )
    prompts = SessionPrompts(policy)
    held = [Condition(K.NO_FACE), Condition(K.SPEECH), Condition(K.TAB_SWITCH)]
    for at in range(10):
        assert prompts.observe(float(at), held, {K.NO_FACE, K.SPEECH, K.TAB_SWITCH}) == []


def test_clearing_all_takes_every_prompt_away() -> None:
    prompts = SessionPrompts(ExamPolicy())
    held = [Condition(K.MULTIPLE_FACES), Condition(K.SPEECH, label=None)]
    prompts.observe(0.0, held, FACE_KINDS | {K.SPEECH})
    prompts.observe(1.0, held, FACE_KINDS | {K.SPEECH})
    assert prompts.current(1.0) == [
        PromptChange(K.MULTIPLE_FACES, True, 1.0),
        PromptChange(K.SPEECH, True, 1.0),
    ]
    assert {change.kind for change in prompts.clear_all(2.0)} == {K.MULTIPLE_FACES, K.SPEECH}
    assert prompts.current(2.0) == []


def test_every_default_prompt_comes_before_its_violation() -> None:
    for kind, rule in ExamPolicy().rules.items():
        if rule.prompt_after_s is not None:
            assert kind in PROMPT_TEXTS
            assert rule.prompt_after_s < rule.min_duration_s, kind


@pytest.mark.parametrize(
    ("kind", "prompt_after_s", "says"),
    [
        (K.NO_FACE, 3.0, "shorter than its min_duration_s"),
        (K.TAB_SWITCH, 0.0, "has no prompt"),
    ],
)
def test_the_policy_refuses_a_prompt_that_cannot_come_first(
    kind: ViolationKind, prompt_after_s: float, says: str
) -> None:
    rule = DEFAULT_RULES[kind].model_copy(update={"prompt_after_s": prompt_after_s})
    with pytest.raises(ValidationError, match=says):
        ExamPolicy.model_validate({"rules": {kind.value: rule.model_dump()}})
