"""An exam's built-in questions: one or several correct choices, points, how a candidate's
answer is checked and scored, and the order a candidate sees them in when the exam shuffles."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

Choice = Annotated[int, Field(ge=0)]
# A candidate's answer to one question: the index of the choice they picked (one correct
# choice) or the indices of every choice they ticked (several); an empty list is no answer.
Answer = Choice | list[Choice]


class QuestionKind(StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"


class Question(BaseModel):
    """Stored as JSON on the exam. A question without `kind` is a single-choice one, as every
    question was before multiple choice existed."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1, max_length=5000, title="Question")
    kind: QuestionKind = Field(
        default=QuestionKind.SINGLE,
        title="Answer type",
        description=(
            "single: the candidate picks one choice; multiple: they tick every correct one and "
            "get the points only when they tick exactly those (all or nothing)."
        ),
    )
    choices: list[Annotated[str, Field(min_length=1, max_length=1000)]] = Field(
        min_length=2, max_length=10, title="Choices"
    )
    answer: Answer = Field(
        title="Correct choice",
        description=(
            "Counting from 0: the index of the correct choice (single), or the list of the "
            "indices of every correct choice (multiple)."
        ),
    )
    points: float = Field(default=1, gt=0, le=100, title="Points")

    @model_validator(mode="after")
    def _answer_fits_the_kind(self) -> Question:
        if self.kind is QuestionKind.SINGLE:
            if not isinstance(self.answer, int):
                raise ValueError("a single-choice question has one correct choice (a number)")
            correct = [self.answer]
        else:
            if not isinstance(self.answer, list) or not self.answer:
                raise ValueError("a multiple-choice question needs a list of its correct choices")
            if len(set(self.answer)) != len(self.answer):
                raise ValueError("a correct choice is listed twice")
            correct = sorted(self.answer)
            self.answer = correct
        for choice in correct:
            if choice >= len(self.choices):
                raise ValueError(f"answer {choice} is not one of the {len(self.choices)} choices")
        return self

    def check(self, given: object) -> str | None:
        """Why `given` cannot be an answer to this question, or None when it can."""
        if self.kind is QuestionKind.SINGLE:
            if not isinstance(given, int) or isinstance(given, bool):
                return "takes one choice"
            picked = [given]
        else:
            if not isinstance(given, list):
                return "takes a list of choices"
            picked = given
            if len(set(picked)) != len(picked):
                return "has a choice given twice"
        for choice in picked:
            if not isinstance(choice, int) or not 0 <= choice < len(self.choices):
                return f"has no choice {choice}"
        return None

    def is_correct(self, given: object) -> bool:
        """All or nothing: the one correct choice, or exactly the set of correct ones."""
        if self.kind is QuestionKind.SINGLE:
            return given == self.answer
        return isinstance(given, list) and sorted(given) == self.answer


def parse(stored: Sequence[Mapping[str, Any]]) -> list[Question]:
    return [Question.model_validate(question) for question in stored]


def score(questions: Sequence[Question], answers: Mapping[str, object]) -> float:
    """Points of the correctly answered questions; answers are keyed by question index."""
    return float(
        sum(
            question.points
            for index, question in enumerate(questions)
            if question.is_correct(answers.get(str(index)))
        )
    )


def max_score(questions: Sequence[Question]) -> float:
    return float(sum(question.points for question in questions))


def candidate_order(
    questions: Sequence[Question], *, seed: str, shuffle_questions: bool, shuffle_choices: bool
) -> list[tuple[int, list[int]]]:
    """(question index, its choice indices) in the order one candidate sees them. The same seed
    (the candidate's id) gives the same order on every load, on every server."""
    shuffler = random.Random(seed)  # a str seed is hashed with SHA-512: stable across runs
    order = [
        (index, list(range(len(question.choices)))) for index, question in enumerate(questions)
    ]
    if shuffle_choices:
        for _, choices in order:
            shuffler.shuffle(choices)
    if shuffle_questions:
        shuffler.shuffle(order)
    return order


class CandidateChoice(BaseModel):
    index: int = Field(description="The choice's index in the question: answers give it.")
    text: str


class CandidateQuestion(BaseModel):
    """A question as the candidate sees it: in their order, without the answer."""

    index: int = Field(description="The question's index in the exam: answers are keyed by it.")
    prompt: str
    multiple: bool = Field(description="Tick every correct choice rather than pick one.")
    choices: list[CandidateChoice]


def as_candidate_sees(
    questions: Sequence[Question], *, seed: str, shuffle_questions: bool, shuffle_choices: bool
) -> list[CandidateQuestion]:
    order = candidate_order(
        questions, seed=seed, shuffle_questions=shuffle_questions, shuffle_choices=shuffle_choices
    )
    return [
        CandidateQuestion(
            index=index,
            prompt=questions[index].prompt,
            multiple=questions[index].kind is QuestionKind.MULTIPLE,
            choices=[CandidateChoice(index=c, text=questions[index].choices[c]) for c in choices],
        )
        for index, choices in order
    ]
