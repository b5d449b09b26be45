"""The candidate's answers as a reviewer reads them: each question with the choice made, the
right choice and the points, and the score out of the most the exam gives (the review page
and the PDF both show this)."""

from __future__ import annotations

from dataclasses import dataclass

from openproctor.domains.exams.models import Exam
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import ExamSession


@dataclass(frozen=True)
class AnsweredQuestion:
    number: int  # from 1, as the candidate saw it
    prompt: str
    chosen: str | None  # None: not answered
    right_choice: str
    points: float  # what this answer scored
    worth: float  # the most it could score

    @property
    def correct(self) -> bool:
        return self.chosen is not None and self.points > 0

    @property
    def verdict(self) -> str:
        if self.chosen is None:
            return "not answered"
        return "correct" if self.correct else "incorrect"


@dataclass(frozen=True)
class AnswerSheet:
    questions: list[AnsweredQuestion]
    # The attempt's recorded score (None when it was not submitted, e.g. terminated) and
    # what the saved answers are worth either way.
    recorded_score: float | None
    points: float
    max_score: float

    def describe(self) -> str:
        """The score line: "7 / 10", or what the saved answers would score."""
        if not self.questions:
            return "no built-in questions"
        if self.recorded_score is not None:
            return f"{self.recorded_score:g} / {self.max_score:g}"
        worth = f"{self.points:g} / {self.max_score:g}"
        return f"not scored; the saved answers are worth {worth}"


def answer_sheet(*, exam: Exam, session: ExamSession) -> AnswerSheet:
    answers = session.answers or {}
    questions = []
    for index, question in enumerate(exam.questions):
        choices: list[str] = question["choices"]
        choice = answers.get(str(index))
        chosen = choices[choice] if isinstance(choice, int) and 0 <= choice < len(choices) else None
        questions.append(
            AnsweredQuestion(
                number=index + 1,
                prompt=question["prompt"],
                chosen=chosen,
                right_choice=choices[question["answer"]],
                points=sessions.points_for(question, choice if chosen is not None else None),
                worth=sessions.points_for(question, question["answer"]),
            )
        )
    return AnswerSheet(
        questions=questions,
        recorded_score=session.score,
        points=sum(q.points for q in questions),
        max_score=sessions.max_score(exam),
    )
