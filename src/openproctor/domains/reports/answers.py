"""The candidate's answers as a reviewer reads them: each question with the choice(s) made, the
right one(s) and the points, and the score out of the most the exam gives (the review page
and the PDF both show this)."""

from __future__ import annotations

from dataclasses import dataclass

from openproctor.domains.exams.models import Exam
from openproctor.domains.exams.questions import Question
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
    for index, question in enumerate(exam.parsed_questions):
        given = answers.get(str(index))
        answered = question.check(given) is None and given not in ([], None)
        correct = question.answer if isinstance(question.answer, list) else [question.answer]
        questions.append(
            AnsweredQuestion(
                number=index + 1,
                prompt=question.prompt,
                chosen=_choices_text(question, given) if answered else None,
                right_choice=_choices_text(question, correct),
                points=question.points if answered and question.is_correct(given) else 0.0,
                worth=question.points,
            )
        )
    return AnswerSheet(
        questions=questions,
        recorded_score=session.score,
        points=sum(q.points for q in questions),
        max_score=exam.max_score,
    )


def _choices_text(question: Question, given: object) -> str:
    """The text of the picked choice, or of each ticked one joined by "; "."""
    picked = given if isinstance(given, list) else [given]
    return "; ".join(question.choices[choice] for choice in picked if isinstance(choice, int))
