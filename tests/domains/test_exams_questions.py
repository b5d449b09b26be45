"""Built-in questions: single and multiple choice, all-or-nothing grading, and each candidate's
own stable order when the exam shuffles."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from openproctor.domains.exams.questions import (
    Question,
    QuestionKind,
    as_candidate_sees,
    candidate_order,
    max_score,
    score,
)

SINGLE = Question.model_validate({"prompt": "2 + 2?", "choices": ["3", "4", "5"], "answer": 1})
PRIMES = Question.model_validate(
    {
        "prompt": "Which are prime?",
        "kind": "multiple",
        "choices": ["2", "4", "5", "9"],
        "answer": [2, 0],
        "points": 3,
    }
)


def test_a_question_without_a_kind_is_single_choice_as_before() -> None:
    assert SINGLE.kind is QuestionKind.SINGLE
    assert SINGLE.model_dump(mode="json") == {
        "prompt": "2 + 2?",
        "kind": "single",
        "choices": ["3", "4", "5"],
        "answer": 1,
        "points": 1,
    }
    assert PRIMES.answer == [0, 2]  # kept sorted


@pytest.mark.parametrize(
    ("question", "fragment"),
    [
        ({"kind": "single", "answer": [0]}, "one correct choice"),
        ({"kind": "multiple", "answer": 0}, "needs a list"),
        ({"kind": "multiple", "answer": []}, "needs a list"),
        ({"kind": "multiple", "answer": [1, 1]}, "listed twice"),
        ({"kind": "multiple", "answer": [0, 2]}, "not one of the 2 choices"),
        ({"kind": "several", "answer": 0}, "'single' or 'multiple'"),
    ],
)
def test_a_question_whose_answer_does_not_fit_is_refused(
    question: dict[str, object], fragment: str
) -> None:
    with pytest.raises(ValidationError, match=fragment):
        Question.model_validate({"prompt": "?", "choices": ["a", "b"], **question})


def test_multiple_choice_is_all_or_nothing() -> None:
    assert PRIMES.is_correct([0, 2])
    assert PRIMES.is_correct([2, 0])
    assert not PRIMES.is_correct([0])  # one right, one missing
    assert not PRIMES.is_correct([0, 2, 3])  # both right and one wrong
    assert not PRIMES.is_correct([])
    assert not PRIMES.is_correct(0)
    assert SINGLE.is_correct(1)
    assert not SINGLE.is_correct([1])


def test_answers_that_cannot_be_given_are_named() -> None:
    assert SINGLE.check(1) is None
    assert SINGLE.check([1]) == "takes one choice"
    assert SINGLE.check(3) == "has no choice 3"
    assert SINGLE.check(True) == "takes one choice"
    assert PRIMES.check([0, 2]) is None
    assert PRIMES.check([]) is None  # every box unticked again
    assert PRIMES.check(0) == "takes a list of choices"
    assert PRIMES.check([0, 0]) == "has a choice given twice"
    assert PRIMES.check([4]) == "has no choice 4"


def test_the_score_adds_the_points_of_correct_answers_out_of_the_maximum() -> None:
    questions = [SINGLE, PRIMES]
    assert max_score(questions) == 4
    assert score(questions, {"0": 1, "1": [0, 2]}) == 4
    assert score(questions, {"0": 1, "1": [0]}) == 1
    assert score(questions, {"0": 2, "1": [2, 0]}) == 3
    assert score(questions, {}) == 0


def test_each_candidate_has_an_order_of_their_own_that_stays_across_loads() -> None:
    questions = [
        Question.model_validate({"prompt": f"Q{n}", "choices": ["a", "b", "c", "d"], "answer": 0})
        for n in range(8)
    ]
    ada = candidate_order(questions, seed="ada", shuffle_questions=True, shuffle_choices=True)
    assert ada == candidate_order(
        questions, seed="ada", shuffle_questions=True, shuffle_choices=True
    )
    bob = candidate_order(questions, seed="bob", shuffle_questions=True, shuffle_choices=True)
    assert [q for q, _ in ada] != [q for q, _ in bob]
    assert sorted(q for q, _ in ada) == list(range(8))
    assert all(sorted(choices) == [0, 1, 2, 3] for _, choices in ada)
    assert any(choices != [0, 1, 2, 3] for _, choices in ada)

    plain = candidate_order(questions, seed="ada", shuffle_questions=False, shuffle_choices=False)
    assert plain == [(n, [0, 1, 2, 3]) for n in range(8)]
    only_questions = candidate_order(
        questions, seed="ada", shuffle_questions=True, shuffle_choices=False
    )
    assert all(choices == [0, 1, 2, 3] for _, choices in only_questions)


def test_the_candidate_sees_no_answer_and_choices_keep_their_indices() -> None:
    shown = as_candidate_sees(
        [SINGLE, PRIMES], seed="ada", shuffle_questions=False, shuffle_choices=True
    )
    assert [q.index for q in shown] == [0, 1]
    assert [q.multiple for q in shown] == [False, True]
    assert "answer" not in shown[0].model_dump()
    for question, original in zip(shown, [SINGLE, PRIMES], strict=True):
        assert {c.index: c.text for c in question.choices} == dict(enumerate(original.choices))
