"""A candidate answers single- and multiple-choice questions through the take API: each sees
their own stable order of a shuffled exam, answers keyed by the exam's indices are checked
against each question, and the submitted attempt is scored all or nothing per question."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from openproctor.domains.candidates.models import Candidate
from openproctor.domains.sessions.models import ExamSession
from tests.conftest import Factory
from tests.live.clients import running_session

QUESTIONS = [
    {"prompt": "2 + 2?", "choices": ["3", "4", "5"], "answer": 1, "points": 1},
    {
        "prompt": "Which are prime?",
        "kind": "multiple",
        "choices": ["2", "4", "5", "9"],
        "answer": [0, 2],
        "points": 3,
    },
    *({"prompt": f"Q{n}", "choices": ["a", "b", "c"], "answer": 0} for n in range(6)),
]


def view(client: TestClient, candidate: Candidate) -> dict[str, Any]:
    response = client.get(f"/api/v1/take/{candidate.invite_token}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def answers_path(client: TestClient, candidate: Candidate, session: ExamSession) -> str:
    """The session's path, with the client's CSRF token set (the page sends it)."""
    client.headers["X-CSRF-Token"] = client.get("/api/v1/auth/csrf").json()["csrf_token"]
    return f"/api/v1/take/{candidate.invite_token}/sessions/{session.id}"


def test_each_candidate_sees_their_own_order_on_every_load(
    client: TestClient, factory: Factory
) -> None:
    exam = factory.exam(questions=QUESTIONS, shuffle_questions=True, shuffle_choices=True)
    ada, bob = factory.candidate(exam, name="Ada"), factory.candidate(exam, name="Bob")
    first = view(client, ada)["exam"]["questions"]
    assert view(client, ada)["exam"]["questions"] == first
    assert [q["index"] for q in view(client, bob)["exam"]["questions"]] != [
        q["index"] for q in first
    ]
    assert sorted(q["index"] for q in first) == list(range(len(QUESTIONS)))
    primes = next(q for q in first if q["index"] == 1)
    assert primes["multiple"] is True
    assert sorted(c["text"] for c in primes["choices"]) == ["2", "4", "5", "9"]
    assert all("answer" not in q for q in first)


def test_multiple_choice_answers_are_saved_checked_and_scored_all_or_nothing(
    client: TestClient, factory: Factory
) -> None:
    exam = factory.exam(questions=QUESTIONS)
    ada = factory.candidate(exam)
    session = running_session(factory, ada)
    path = answers_path(client, ada, session)

    for wrong, why in [
        ({"1": 0}, "question 1 takes a list of choices"),
        ({"0": [1]}, "question 0 takes one choice"),
        ({"1": [0, 7]}, "question 1 has no choice 7"),
        ({"1": [2, 2]}, "question 1 has a choice given twice"),
    ]:
        refused = client.put(f"{path}/answers", json={"answers": wrong})
        assert refused.status_code == 409, refused.text
        assert refused.json()["detail"] == why

    saved = client.put(f"{path}/answers", json={"answers": {"0": 1, "1": [2, 0]}})
    assert saved.status_code == 200, saved.text
    assert saved.json()["answers"] == {"0": 1, "1": [0, 2]}
    assert view(client, ada)["answers"] == {"0": 1, "1": [0, 2]}

    submitted = client.post(f"{path}/submit", json={"answers": {"2": 0, "3": 1}})
    assert submitted.status_code == 200, submitted.text
    factory.db.expire_all()
    assert session.score == 1 + 3 + 1  # question 3 is wrong
    assert exam.max_score == 1 + 3 + 6


def test_a_multiple_choice_answer_with_a_choice_missing_scores_nothing(
    client: TestClient, factory: Factory
) -> None:
    exam = factory.exam(questions=QUESTIONS[:2])
    ada = factory.candidate(exam)
    session = running_session(factory, ada)
    submitted = client.post(
        f"{answers_path(client, ada, session)}/submit", json={"answers": {"0": 1, "1": [0]}}
    )
    assert submitted.status_code == 200, submitted.text
    factory.db.expire_all()
    assert session.score == 1
