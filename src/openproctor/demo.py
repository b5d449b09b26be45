"""`openproctor demo`: a ready-to-try exam with staff accounts and one invited candidate.

Idempotent: the accounts and exam are found again by their fixed emails and title, the
passwords are generated once and kept in DATA_DIR, and an exam whose window has passed is
reopened.
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openproctor.db import utcnow
from openproctor.domains.candidates import service as candidates
from openproctor.domains.candidates.models import Candidate, CandidateCreate
from openproctor.domains.exams import service as exams
from openproctor.domains.exams.models import Exam, ExamWrite
from openproctor.domains.users import service as users
from openproctor.domains.users.models import Role, User, UserCreate
from openproctor.settings import Settings

DEMO_TITLE = "OpenProctor demo exam"
ADMIN_EMAIL = "admin@demo.example.com"
PROCTOR_EMAIL = "proctor@demo.example.com"
REVIEWER_EMAIL = "reviewer@demo.example.com"
CANDIDATE_EMAIL = "candidate@demo.example.com"
CREDENTIALS_FILE = "demo-credentials.json"
DEMO_MINUTES = 60

DEMO_QUESTIONS = [
    {
        "prompt": "Which planet is closest to the Sun?",
        "choices": ["Venus", "Mercury", "Mars", "Earth"],
        "answer": 1,
    },
    {"prompt": "What is 7 x 8?", "choices": ["54", "56", "58", "64"], "answer": 1},
    {
        "prompt": "Which gas do plants take in for photosynthesis?",
        "choices": ["Oxygen", "Nitrogen", "Carbon dioxide", "Helium"],
        "answer": 2,
    },
]


def _passwords(data_dir: Path) -> dict[str, str]:
    path = data_dir / CREDENTIALS_FILE
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text())
        return stored
    passwords = {
        email: secrets.token_urlsafe(12) for email in (ADMIN_EMAIL, PROCTOR_EMAIL, REVIEWER_EMAIL)
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(passwords, handle)
    return passwords


def _staff(db: Session, email: str, name: str, role: Role, password: str) -> User:
    user = users.get_by_email(db=db, email=email)
    if user is None:
        user_in = UserCreate(email=email, name=name, role=role, password=password)
        return users.create(db=db, user_in=user_in)
    # The stored password is the one printed, so a changed one is put back.
    users.set_password(user=user, password=password)
    user.is_active = True
    return user


def _exam(db: Session, admin: User) -> Exam:
    now = utcnow().replace(microsecond=0)
    exam_in = ExamWrite.model_validate(
        {
            "title": DEMO_TITLE,
            "instructions": "Answer the three questions. Keep your face in view of the camera, "
            "stay in this tab, and keep phones and books away.",
            "opens_at": now - timedelta(minutes=5),
            "closes_at": now + timedelta(days=1),
            "duration_minutes": DEMO_MINUTES,
            "questions": DEMO_QUESTIONS,
            # Headless browsers cannot pick a screen to share, so screen recording stays off.
            "policy": {"record_webcam": True, "record_screen": False},
        }
    )
    exam = db.scalar(select(Exam).where(Exam.title == DEMO_TITLE).order_by(Exam.created_at))
    if exam is None:
        return exams.create(db=db, exam_in=exam_in, creator=admin)
    if not exam.is_open(now + timedelta(minutes=DEMO_MINUTES)):
        exam.opens_at, exam.closes_at = exam_in.opens_at, exam_in.closes_at
    return exam


def _candidate(db: Session, exam: Exam, proctor: User) -> Candidate:
    candidate = db.scalar(
        select(Candidate).where(Candidate.exam_id == exam.id, Candidate.email == CANDIDATE_EMAIL)
    )
    if candidate is None:
        candidate_in = CandidateCreate(
            name="Demo Candidate", email=CANDIDATE_EMAIL, proctor_id=proctor.id
        )
        return candidates.create(db=db, exam=exam, candidate_in=candidate_in)
    candidate.proctor_id = proctor.id
    return candidate


def create_demo(*, db: Session, settings: Settings) -> dict[str, Any]:
    passwords = _passwords(settings.data_dir)
    admin = _staff(db, ADMIN_EMAIL, "Demo Admin", Role.ADMIN, passwords[ADMIN_EMAIL])
    proctor = _staff(db, PROCTOR_EMAIL, "Demo Proctor", Role.PROCTOR, passwords[PROCTOR_EMAIL])
    _staff(db, REVIEWER_EMAIL, "Demo Reviewer", Role.REVIEWER, passwords[REVIEWER_EMAIL])
    exam = _exam(db, admin)
    candidate = _candidate(db, exam, proctor)
    db.commit()
    base_url = settings.public_url.rstrip("/")
    return {
        "base_url": base_url,
        "exam_id": str(exam.id),
        "candidate_id": str(candidate.id),
        "candidate_url": candidates.invite_url(public_url=base_url, candidate=candidate),
        "proctor_url": f"{base_url}/proctor/exams/{exam.id}",
        "admin_url": f"{base_url}/admin/exams/{exam.id}",
        "login_url": f"{base_url}/login",
        "admin_email": ADMIN_EMAIL,
        "admin_password": passwords[ADMIN_EMAIL],
        "proctor_email": PROCTOR_EMAIL,
        "proctor_password": passwords[PROCTOR_EMAIL],
        "reviewer_email": REVIEWER_EMAIL,
        "reviewer_password": passwords[REVIEWER_EMAIL],
    }
