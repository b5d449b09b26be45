"""The exam policy as people read it, and rules given in part."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from openproctor.domains.exams.policy import Admission, ExamPolicy, ViolationKind, human_value

SPEECH = ViolationKind.SPEECH


def test_policy_values_read_as_words_not_python() -> None:
    assert human_value(True) == "Yes"
    assert human_value(False) == "No"
    assert human_value(["cell phone", "book"]) == "cell phone, book"
    assert human_value([]) == "none"
    assert human_value(None) == "none"
    assert human_value(Admission.PROCTOR) == "proctor"
    assert human_value(30.0) == "30"
    assert human_value(0.5) == "0.5"


def test_a_rule_given_in_part_keeps_its_other_defaults_and_the_other_rules() -> None:
    policy = ExamPolicy.model_validate({"rules": {"speech": {"weight": 40}}})
    defaults = ExamPolicy()
    assert policy.rules[SPEECH].weight == 40
    assert policy.rules[SPEECH].min_duration_s == defaults.rules[SPEECH].min_duration_s == 3
    assert policy.rules[SPEECH].prompt_after_s == 1
    assert policy.rules[ViolationKind.NO_FACE] == defaults.rules[ViolationKind.NO_FACE]


def test_a_debounce_shortened_below_the_default_prompt_drops_the_inherited_prompt() -> None:
    policy = ExamPolicy.model_validate({"rules": {"multiple_faces": {"min_duration_s": 0}}})
    assert policy.rules[ViolationKind.MULTIPLE_FACES].prompt_after_s is None
    # A prompt given with it is still checked.
    with pytest.raises(ValidationError, match="prompt_after_s must be shorter"):
        ExamPolicy.model_validate(
            {"rules": {"multiple_faces": {"min_duration_s": 0, "prompt_after_s": 0}}}
        )
