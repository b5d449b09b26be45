"""Retention (media deleted after the exam's retention_days) and erasing one candidate."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from openproctor.cli import main as cli
from openproctor.db import utcnow
from openproctor.domains.attention.models import AttentionSample
from openproctor.domains.audit.models import AuditEntry
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.exams.policy import Severity, ViolationKind
from openproctor.domains.messages.models import Message, MessageKind, Sender
from openproctor.domains.objects.models import (
    ObjectPurpose,
    Recording,
    StoredObject,
    StreamKind,
)
from openproctor.domains.sessions.models import ExamSession, SessionState
from openproctor.domains.users.models import Role
from openproctor.domains.violations.models import ReviewStatus, Violation
from openproctor.retention import run_retention
from openproctor.settings import Settings
from openproctor.storage import ObjectStore, StorageError, StoredBlob, open_store
from tests.conftest import S3_TEST_CREDENTIALS, Factory

JPEG = (Path(__file__).parent / "fixtures" / "pai_webcam_center.jpg").read_bytes()


@dataclass
class Seeded:
    session_id: uuid.UUID
    violation_ids: list[uuid.UUID]
    keys: list[str] = field(default_factory=list)


def seed_session(
    db: Session,
    store: ObjectStore,
    candidate: Candidate,
    *,
    ended_at: datetime | None,
    state: SessionState = SessionState.SUBMITTED,
    violations: Iterable[tuple[ViolationKind, ReviewStatus, str | None]] = (
        (ViolationKind.NO_FACE, ReviewStatus.CONFIRMED, "nobody at the desk"),
        (ViolationKind.NO_FACE, ReviewStatus.PENDING, None),
        (ViolationKind.TAB_SWITCH, ReviewStatus.DISMISSED, None),
    ),
) -> Seeded:
    """A session as the live loop leaves it: violations with evidence, an enrolment photo,
    an assembled recording with its chunks, and a message."""
    started = (ended_at or utcnow()) - timedelta(hours=1)
    session = ExamSession(
        candidate_id=candidate.id,
        exam_id=candidate.exam_id,
        state=state,
        started_at=started,
        ended_at=ended_at,
        risk_score=35.0,
        score=1.0,
        enrollment={"embedding": [0.1, 0.2], "baseline": [0.0, 0.0, 0.0]},
    )
    db.add(session)
    db.flush()
    seeded = Seeded(session.id, [])

    def put(key: str, data: bytes, content_type: str) -> StoredBlob:
        seeded.keys.append(key)
        return store.put(key, data, content_type)

    for number, (kind, status, note) in enumerate(violations):
        violation = Violation(
            session_id=session.id,
            kind=kind,
            label="cell phone" if kind is ViolationKind.PROHIBITED_OBJECT else None,
            severity=Severity.MEDIUM,
            started_at=started + timedelta(minutes=number + 1),
            ended_at=started + timedelta(minutes=number + 1, seconds=20),
            score=10,
            review_status=status,
            review_note=note,
        )
        db.add(violation)
        db.flush()
        seeded.violation_ids.append(violation.id)
        base = f"sessions/{session.id}/evidence/{violation.id}"
        for purpose, key in (
            (ObjectPurpose.EVIDENCE, f"{base}.jpg"),
            (ObjectPurpose.EVIDENCE_RAW, f"{base}-raw.jpg"),
        ):
            blob = put(key, JPEG, "image/jpeg")
            db.add(_row(blob, purpose, session_id=session.id, violation_id=violation.id))
    blob = put(f"sessions/{session.id}/enrolment.jpg", JPEG, "image/jpeg")
    db.add(_row(blob, ObjectPurpose.ENROLMENT, session_id=session.id))
    recording = Recording(session_id=session.id, kind=StreamKind.WEBCAM, chunks_expected=2)
    db.add(recording)
    db.flush()
    for index in range(2):
        key = f"sessions/{session.id}/recordings/webcam/00000-{index:05d}.webm"
        blob = put(key, b"chunk %d" % index, "video/webm")
        db.add(
            _row(
                blob,
                ObjectPurpose.RECORDING_CHUNK,
                session_id=session.id,
                recording_id=recording.id,
                chunk_index=index,
                chunk_part=0,
            )
        )
    assembled = put(f"sessions/{session.id}/recordings/webcam.webm", b"webm", "video/webm")
    recording.storage_key = assembled.key
    recording.size_bytes = assembled.size_bytes
    recording.ready = True
    db.add(
        Message(
            session_id=session.id,
            sender=Sender.PROCTOR,
            kind=MessageKind.WARNING,
            body="Please keep your face in view",
        )
    )
    db.commit()
    return seeded


def _row(blob: StoredBlob, purpose: ObjectPurpose, **links: object) -> StoredObject:
    return StoredObject(
        purpose=purpose,
        storage_key=blob.key,
        content_type=blob.content_type,
        size_bytes=blob.size_bytes,
        sha256=blob.sha256,
        **links,
    )


def count(db: Session, model: type[object], *where: object) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model).where(*where)) or 0  # type: ignore[arg-type]


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, settings: Settings) -> ObjectStore:
    if request.param == "local":
        return open_store(settings.resolved_storage_url)
    from openproctor.storage import S3Options

    bucket: str = request.getfixturevalue("s3_bucket")
    endpoint: str = request.getfixturevalue("moto_server")
    return open_store(
        f"s3://{bucket}/media", S3Options(endpoint_url=endpoint, **S3_TEST_CREDENTIALS)
    )


def test_retention_deletes_media_past_each_exams_retention(
    factory: Factory,
    db: Session,
    session_factory: sessionmaker[Session],
    store: ObjectStore,
) -> None:
    now = utcnow()
    month = factory.exam(opens_in=timedelta(days=-40))
    week = factory.exam(opens_in=timedelta(days=-40), policy={"retention_days": 7})
    old = seed_session(db, store, factory.candidate(month), ended_at=now - timedelta(days=31))
    recent = seed_session(db, store, factory.candidate(month), ended_at=now - timedelta(days=10))
    past_week = seed_session(db, store, factory.candidate(week), ended_at=now - timedelta(days=8))
    running = seed_session(
        db, store, factory.candidate(week), ended_at=None, state=SessionState.RUNNING
    )

    report = run_retention(session_factory=session_factory, store=store, now=now)

    assert report.failed == []
    assert {item["session_id"] for item in report.purged} == {
        str(old.session_id),
        str(past_week.session_id),
    }
    for gone in (old, past_week):
        assert not any(store.exists(key) for key in gone.keys)
        assert count(db, StoredObject, StoredObject.session_id == gone.session_id) == 0
        assert count(db, Recording, Recording.session_id == gone.session_id) == 0
        session = db.get(ExamSession, gone.session_id)
        assert session is not None
        assert session.enrollment is None
        # Review data stays: the violations (now without evidence) and the session.
        assert count(db, Violation, Violation.session_id == gone.session_id) == 3
    for kept in (recent, running):
        assert all(store.exists(key) for key in kept.keys)
        assert count(db, StoredObject, StoredObject.session_id == kept.session_id) == 9
        assert count(db, Recording, Recording.session_id == kept.session_id) == 1

    entry = db.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "retention.delete",
            AuditEntry.target_id == str(past_week.session_id),
        )
    )
    assert entry is not None
    assert entry.actor_id is None
    assert entry.actor_label == "retention"
    assert entry.details["retention_days"] == 7
    assert entry.details["recordings"] == 1
    assert entry.details["objects"] == {
        "enrolment": 1,
        "evidence": 3,
        "evidence_raw": 3,
        "recording_chunk": 2,
    }
    assert entry.details["files"] == 10
    assert entry.details["enrolment_embedding"] is True

    again = run_retention(session_factory=session_factory, store=store, now=now)
    assert again.purged == []
    assert again.failed == []
    assert count(db, AuditEntry, AuditEntry.action == "retention.delete") == 2


def test_files_already_missing_are_not_an_error(
    factory: Factory, db: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    store = open_store(settings.resolved_storage_url)
    now = utcnow()
    seeded = seed_session(
        db, store, factory.candidate(factory.exam()), ended_at=now - timedelta(days=40)
    )
    for key in seeded.keys[:4]:
        store.delete(key)
    report = run_retention(session_factory=session_factory, store=store, now=now)
    assert [item["session_id"] for item in report.purged] == [str(seeded.session_id)]
    assert count(db, StoredObject, StoredObject.session_id == seeded.session_id) == 0


class RefusingStore:
    """A store whose deletes fail, as an unreachable S3 would."""

    def __init__(self, inner: ObjectStore) -> None:
        self.inner = inner

    def delete_many(self, keys: Iterable[str]) -> int:
        raise StorageError("S3 is down")

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_a_store_failure_keeps_the_rows_and_is_reported(
    factory: Factory, db: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    store = open_store(settings.resolved_storage_url)
    now = utcnow()
    seeded = seed_session(
        db, store, factory.candidate(factory.exam()), ended_at=now - timedelta(days=40)
    )
    report = run_retention(
        session_factory=session_factory,
        store=RefusingStore(store),  # type: ignore[arg-type]
        now=now,
        limit=1,
    )
    assert report.purged == []
    assert report.failed == [{"session_id": str(seeded.session_id), "error": "S3 is down"}]
    assert count(db, StoredObject, StoredObject.session_id == seeded.session_id) == 9
    assert count(db, AuditEntry, AuditEntry.action == "retention.delete") == 0
    assert run_retention(session_factory=session_factory, store=store, now=now).purged


def test_retention_run_command(factory: Factory, db: Session, settings: Settings) -> None:
    store = open_store(settings.resolved_storage_url)
    seeded = seed_session(
        db, store, factory.candidate(factory.exam()), ended_at=utcnow() - timedelta(days=31)
    )
    env = {
        "OPENPROCTOR_DATA_DIR": str(settings.data_dir),
        "OPENPROCTOR_DATABASE_URL": settings.resolved_database_url,
    }
    result = CliRunner().invoke(cli, ["retention", "run"], env=env)
    assert result.exit_code == 0, result.output
    assert "1 session(s) purged, 1 recording(s), 10 file(s)" in result.output
    assert not any(store.exists(key) for key in seeded.keys)
    again = CliRunner().invoke(cli, ["retention", "run", "--json"], env=env)
    assert '"sessions": 0' in again.output


# --- erasure -------------------------------------------------------------------------------


def _everything_of(db: Session, seeded: Seeded, candidate_id: uuid.UUID) -> dict[str, int]:
    return {
        "candidates": count(db, Candidate, Candidate.id == candidate_id),
        "sessions": count(db, ExamSession, ExamSession.candidate_id == candidate_id),
        "violations": count(db, Violation, Violation.session_id == seeded.session_id),
        "messages": count(db, Message, Message.session_id == seeded.session_id),
        "objects": count(db, StoredObject, StoredObject.session_id == seeded.session_id),
        "recordings": count(db, Recording, Recording.session_id == seeded.session_id),
    }


def test_an_admin_erases_a_candidate_and_everything_of_theirs(
    factory: Factory,
    db: Session,
    client: TestClient,
    login_as: object,
    settings: Settings,
) -> None:
    store = client.app.state.context.store  # type: ignore[attr-defined]
    exam = factory.exam()
    admin = factory.user(Role.ADMIN)
    login_as(admin)  # type: ignore[operator]
    # Staff actions about Ada before the erasure, with personal data in their audit details.
    ada_email = "ada.lovelace@example.com"
    created = client.post(  # her accommodations are personal too (they hint at her health)
        f"/api/v1/exams/{exam.id}/candidates",
        json={"name": "Ada", "email": ada_email, "accommodations": {"exempt": ["speech"]}},
    )
    assert created.status_code == 201, created.text
    ada = db.get(Candidate, uuid.UUID(created.json()["id"]))
    assert ada is not None
    bob = factory.candidate(exam, name="Bob")
    ada_id, bob_id = ada.id, bob.id
    erased = seed_session(db, store, ada, ended_at=utcnow() - timedelta(minutes=5))
    kept = seed_session(db, store, bob, ended_at=utcnow() - timedelta(minutes=5))
    for seeded in (erased, kept):
        db.add(
            AttentionSample(session_id=seeded.session_id, at=utcnow(), score=80, label="focused")
        )
    db.commit()
    sent = client.post(
        f"/api/v1/sessions/{erased.session_id}/messages",
        json={"kind": "message", "body": "Ada, your phone"},
    )
    assert sent.status_code == 201, sent.text
    reviewed = client.put(
        f"/api/v1/violations/{erased.violation_ids[0]}/review",
        json={"status": "confirmed", "note": "Ada left the room"},
    )
    assert reviewed.status_code == 200, reviewed.text

    response = client.delete(f"/api/v1/candidates/{ada_id}")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["sessions"] == 1
    assert body["violations"] == 3
    assert body["messages"] >= 1
    assert body["recordings"] == 1
    assert body["files"] == 10
    assert _everything_of(db, erased, ada_id) == dict.fromkeys(
        ("candidates", "sessions", "violations", "messages", "objects", "recordings"), 0
    )
    assert not any(store.exists(key) for key in erased.keys)
    samples = db.scalars(select(AttentionSample.session_id)).all()
    assert samples == [kept.session_id]
    assert client.get(f"/api/v1/candidates/{ada_id}").status_code == 404
    # Bob is untouched.
    assert _everything_of(db, kept, bob_id)["objects"] == 9
    assert all(store.exists(key) for key in kept.keys)

    db.expire_all()
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "candidate.erase"))
    assert entry is not None
    assert entry.actor_id == admin.id
    assert entry.target_id == str(ada_id)
    assert entry.details["sessions"] == 1
    history = db.scalars(select(AuditEntry)).all()
    text = repr([(e.details, e.target_id) for e in history])
    assert ada_email not in text
    assert "Ada" not in text
    assert "speech" not in text
    assert "[erased]" in text

    assert client.delete(f"/api/v1/candidates/{ada_id}").status_code == 404


def test_erasure_works_with_s3_from_the_usual_aws_variables(
    factory: Factory,
    db: Session,
    settings: Settings,
    moto_server: str,
    s3_bucket: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from openproctor.app import create_app

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    app = create_app(settings.model_copy(update={"storage_url": f"s3://{s3_bucket}/op"}))
    store = app.state.context.store
    candidate = factory.candidate(factory.exam())
    seeded = seed_session(db, store, candidate, ended_at=utcnow())
    admin = factory.user(Role.ADMIN)
    with TestClient(app) as client:
        from tests.conftest import login

        login(client, admin)
        response = client.delete(f"/api/v1/candidates/{candidate.id}")
    app.state.context.engine.dispose()
    assert response.status_code == 200, response.text
    assert not any(store.exists(key) for key in seeded.keys)
    assert _everything_of(db, seeded, candidate.id)["sessions"] == 0


def test_only_admins_erase_and_never_a_live_session(
    factory: Factory, db: Session, client: TestClient, settings: Settings
) -> None:
    from tests.conftest import login

    store = open_store(settings.resolved_storage_url)
    exam = factory.exam()
    proctor = factory.user(Role.PROCTOR)
    candidate = factory.candidate(exam, proctor=proctor)
    seeded = seed_session(db, store, candidate, ended_at=None, state=SessionState.RUNNING)
    for role in (Role.PROCTOR, Role.REVIEWER):
        login(client, proctor if role is Role.PROCTOR else factory.user(role))
        assert client.delete(f"/api/v1/candidates/{candidate.id}").status_code == 403
        client.post("/api/v1/auth/logout")
    login(client, factory.user(Role.ADMIN))
    response = client.delete(f"/api/v1/candidates/{candidate.id}")
    assert response.status_code == 409
    assert "terminate it first" in response.json()["detail"]
    assert _everything_of(db, seeded, candidate.id)["objects"] == 9
    assert all(store.exists(key) for key in seeded.keys)
    assert client.delete(f"/api/v1/candidates/{uuid.uuid4()}").status_code == 404
    never_started = factory.candidate(exam, name="Cy")
    response = client.delete(f"/api/v1/candidates/{never_started.id}")
    assert response.status_code == 200, response.text
    assert response.json()["sessions"] == 0


def test_erase_command(factory: Factory, db: Session, settings: Settings) -> None:
    store = open_store(settings.resolved_storage_url)
    candidate = factory.candidate(factory.exam())
    seeded = seed_session(db, store, candidate, ended_at=utcnow())
    env = {
        "OPENPROCTOR_DATA_DIR": str(settings.data_dir),
        "OPENPROCTOR_DATABASE_URL": settings.resolved_database_url,
    }
    refused = CliRunner().invoke(
        cli, ["erase", "--candidate", str(candidate.id)], env=env, input="n\n"
    )
    assert refused.exit_code == 1
    assert _everything_of(db, seeded, candidate.id)["candidates"] == 1
    result = CliRunner().invoke(cli, ["erase", "--candidate", str(candidate.id), "--yes"], env=env)
    assert result.exit_code == 0, result.output
    assert '"sessions": 1' in result.output
    assert _everything_of(db, seeded, candidate.id) == dict.fromkeys(
        ("candidates", "sessions", "violations", "messages", "objects", "recordings"), 0
    )
    assert not any(store.exists(key) for key in seeded.keys)
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "candidate.erase"))
    assert entry is not None
    assert entry.actor_label == "cli"


def test_id_documents_go_after_id_retention_days(
    factory: Factory, db: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    """ID images go id_retention_days after the session ended; the rest of its media stays
    until retention_days."""
    store = open_store(settings.resolved_storage_url)
    now = utcnow()
    exam = factory.exam(
        opens_in=timedelta(days=-40), policy={"retention_days": 30, "id_retention_days": 3}
    )
    past = seed_session(db, store, factory.candidate(exam), ended_at=now - timedelta(days=4))
    within = seed_session(db, store, factory.candidate(exam), ended_at=now - timedelta(days=2))
    documents = {}
    for seeded in (past, within):
        blob = store.put(f"sessions/{seeded.session_id}/id-documents/1.jpg", JPEG, "image/jpeg")
        db.add(_row(blob, ObjectPurpose.ID_DOCUMENT, session_id=seeded.session_id))
        documents[seeded.session_id] = blob.key
    db.commit()

    report = run_retention(session_factory=session_factory, store=store, now=now)

    assert report.id_documents == 1
    assert report.purged == []
    assert report.failed == []
    assert not store.exists(documents[past.session_id])
    assert store.exists(documents[within.session_id])
    assert all(store.exists(key) for key in past.keys)  # the other media is kept
    assert count(db, StoredObject, StoredObject.purpose == ObjectPurpose.ID_DOCUMENT) == 1
    entry = db.scalar(
        select(AuditEntry).where(AuditEntry.action == "retention.delete_id_documents")
    )
    assert entry is not None
    assert entry.target_id == str(past.session_id)
    assert run_retention(session_factory=session_factory, store=store, now=now).id_documents == 0
