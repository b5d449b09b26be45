"""Exam reports (CSV, JSON) and the per-session PDF, with who may get which."""

from __future__ import annotations

import base64
import codecs
import contextlib
import csv
import io
import re
import zlib
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from openproctor.db import utcnow
from openproctor.domains.attention.models import AttentionSample
from openproctor.domains.candidates.accommodations import Accommodations
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.checkin.models import ReferencePhoto
from openproctor.domains.checkin.service import reference_key
from openproctor.domains.exams.models import Exam
from openproctor.domains.exams.policy import ViolationKind
from openproctor.domains.messages import service as messages
from openproctor.domains.messages.models import MessageKind, Sender
from openproctor.domains.reports.pdf import session_pdf
from openproctor.domains.reports.service import CSV_COLUMNS, session_report
from openproctor.domains.sessions import identity_gaps
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import Decision, ExamSession, SessionState
from openproctor.domains.users.models import Role, User
from openproctor.domains.violations.models import ReviewStatus
from openproctor.settings import Settings
from openproctor.storage import open_store
from tests.conftest import Factory, logout
from tests.hostile_images import jpeg_declaring
from tests.live.clients import running_session
from tests.test_retention import Seeded, seed_session

Login = Callable[[User], TestClient]


def pdf_text(data: bytes) -> str:
    """The PDF's content streams, inflated (pdftotext is not installed; this is enough to
    find the strings reportlab draws with the standard fonts)."""
    texts = []
    for match in re.finditer(rb"stream\r?\n(.*?)endstream", data, re.DOTALL):
        chunk = match.group(1).strip()
        if chunk.endswith(b"~>"):  # reportlab's ASCII85 wrapper around Flate
            chunk = base64.a85decode(chunk[:-2].replace(b"\n", b""))
        with contextlib.suppress(zlib.error):
            chunk = zlib.decompress(chunk)
        texts.append(chunk.decode("latin-1"))
    return "\n".join(texts)


def csv_rows(response: httpx.Response) -> list[dict[str, str]]:
    """The CSV as Excel reads it: UTF-8 after a byte order mark (which DictReader must not
    see as part of the first column's name)."""
    assert response.content.startswith(codecs.BOM_UTF8), response.content[:10]
    text = response.content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.fixture
def scene(factory: Factory, db: Session, settings: Settings) -> dict[str, object]:
    store = open_store(settings.resolved_storage_url)
    exam = factory.exam(title="Algebra midterm")
    mine, theirs = factory.user(Role.PROCTOR), factory.user(Role.PROCTOR)
    ada = factory.candidate(exam, proctor=mine, name="Ada")
    bob = factory.candidate(exam, proctor=theirs, name="Bob")
    factory.candidate(exam, proctor=mine, name="=1+2")
    seeded = seed_session(
        db,
        store,
        ada,
        ended_at=utcnow() - timedelta(minutes=5),
        violations=(
            (ViolationKind.NO_FACE, ReviewStatus.CONFIRMED, "nobody at the desk"),
            (ViolationKind.NO_FACE, ReviewStatus.PENDING, None),
            (ViolationKind.PROHIBITED_OBJECT, ReviewStatus.DISMISSED, "a calculator"),
        ),
    )
    session = db.get(ExamSession, seeded.session_id)
    assert session is not None
    session.decision = Decision.SUSPICIOUS
    session.decision_note = "looked away a lot"
    session.decided_at = utcnow()
    # Four attention samples, 5 s apart: two focused, one distracted, one away.
    start = utcnow() - timedelta(minutes=30)
    for index, (score, label) in enumerate(
        ((90, "focused"), (80, "focused"), (50, "distracted"), (0, "away"))
    ):
        at = start + timedelta(seconds=5 * index)
        db.add(AttentionSample(session_id=session.id, at=at, score=score, label=label))
    db.commit()
    return {"exam": exam, "mine": mine, "theirs": theirs, "ada": ada, "bob": bob, "ada_s": seeded}


def test_csv_has_one_line_per_candidate_with_counts(
    scene: dict[str, object], factory: Factory, login_as: Login
) -> None:
    exam = scene["exam"]
    assert isinstance(exam, Exam)
    client = login_as(factory.user(Role.REVIEWER))
    response = client.get(f"/api/v1/exams/{exam.id}/report.csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = csv_rows(response)
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    by_name = {row["name"]: row for row in rows}
    assert set(by_name) == {"Ada", "Bob", "'=1+2"}
    ada = by_name["Ada"]
    assert ada["state"] == "submitted"
    assert (ada["score"], ada["risk_score"]) == ("1.0", "35.0")
    assert ada["violations"] == "3"
    assert ada["violations_no_face"] == "2"
    assert ada["violations_prohibited_object"] == "1"
    assert ada["violations_tab_switch"] == "0"
    assert (ada["review_pending"], ada["review_confirmed"], ada["review_dismissed"]) == (
        "1",
        "1",
        "1",
    )
    assert ada["decision"] == "suspicious"
    assert all(ada[name] for name in ("decided_at", "started_at", "ended_at"))
    assert (ada["attention_mean"], ada["attention_focused"]) == ("55.0", "0.5")
    assert (ada["attention_distracted"], ada["attention_away"]) == ("0.25", "0.25")
    bob = by_name["Bob"]
    assert (bob["attention_mean"], bob["attention_focused"]) == ("", "")
    assert (bob["state"], bob["violations"], bob["decision"], bob["started_at"]) == (
        "",
        "0",
        "",
        "",
    )


def test_json_nests_the_same_counts_and_proctors_see_only_theirs(
    scene: dict[str, object], login_as: Login
) -> None:
    exam, mine = scene["exam"], scene["mine"]
    assert isinstance(exam, Exam)
    assert isinstance(mine, User)
    client = login_as(mine)
    response = client.get(f"/api/v1/exams/{exam.id}/report.json")
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["exam"] == {"id": str(exam.id), "title": "Algebra midterm"}
    names = [row["name"] for row in report["candidates"]]
    assert sorted(names) == ["=1+2", "Ada"]
    ada = next(row for row in report["candidates"] if row["name"] == "Ada")
    assert ada["email"].startswith("ada-")
    assert ada["external_id"] is None
    assert ada["violations"]["total"] == 3
    assert ada["violations"]["by_kind"]["no_face"] == 2
    assert set(ada["violations"]["by_kind"]) == {kind.value for kind in ViolationKind}
    assert ada["violations"]["by_review_status"] == {"pending": 1, "confirmed": 1, "dismissed": 1}
    assert ada["decision"] == "suspicious"
    assert ada["attention"] == {
        "samples": 4,
        "mean": 55.0,
        "shares": {"focused": 0.5, "distracted": 0.25, "away": 0.25},
    }
    other = next(row for row in report["candidates"] if row["name"] == "=1+2")
    assert other["attention"] is None
    rows = csv_rows(client.get(f"/api/v1/exams/{exam.id}/report.csv"))
    assert sorted(row["name"] for row in rows) == ["'=1+2", "Ada"]


def test_reports_need_a_signed_in_staff_member(
    scene: dict[str, object], client: TestClient
) -> None:
    exam, seeded = scene["exam"], scene["ada_s"]
    assert isinstance(exam, Exam)
    assert isinstance(seeded, Seeded)
    assert client.get(f"/api/v1/exams/{exam.id}/report.csv").status_code == 401
    assert client.get(f"/api/v1/sessions/{seeded.session_id}/report.pdf").status_code == 401


def test_the_pdf_shows_summary_timeline_and_evidence(
    scene: dict[str, object], factory: Factory, login_as: Login
) -> None:
    seeded = scene["ada_s"]
    assert isinstance(seeded, Seeded)
    client = login_as(factory.user(Role.ADMIN))
    response = client.get(f"/api/v1/sessions/{seeded.session_id}/report.pdf")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    data = response.content
    assert data.startswith(b"%PDF-")
    assert data.rstrip().endswith(b"%%EOF")
    text = pdf_text(data)
    for expected in (
        "Proctoring report: Ada",
        "Algebra midterm",
        "submitted",
        "35 / 100",
        "suspicious",
        "looked away a lot",
        "No face",
        "Prohibited object: cell phone",
        "a calculator",
        "confirmed",
        "nobody at the desk",
        "a calculator",
        "Average attention 55 / 100 over 4 samples",
        "focused 50 %, distracted 25 %, away 25 % of the time",
        "on throughout",  # identity checks
    ):
        assert expected in text, expected
    # The attention chart: one bar per sample, each filled with its label's colour.
    assert text.count(".184314 .560784 .27451 rg") == 2  # focused, #2f8f46
    assert text.count(".752941 .223529 .168627 rg") == 1  # away, #c0392b
    # The enrolment photo and the three annotated evidence frames (the same picture here:
    # embedded once, drawn four times), scaled down to thumbnails.
    assert "Enrolment photo, taken at check-in" in text
    assert data.count(b"/Subtype /Image") == 1
    assert len(re.findall(r"/FormXob\.\w+ Do", text)) == 4
    assert len(data) < 3 * len(seed_jpeg())


def seed_jpeg() -> bytes:
    from tests.test_retention import JPEG

    return JPEG


def test_a_proctor_gets_only_their_own_candidates_pdf(
    scene: dict[str, object], login_as: Login
) -> None:
    seeded, mine, theirs = scene["ada_s"], scene["mine"], scene["theirs"]
    assert isinstance(seeded, Seeded)
    assert isinstance(theirs, User)
    client = login_as(theirs)
    response = client.get(f"/api/v1/sessions/{seeded.session_id}/report.pdf")
    assert response.status_code == 403
    logout(client)
    assert isinstance(mine, User)
    client = login_as(mine)
    assert client.get(f"/api/v1/sessions/{seeded.session_id}/report.pdf").status_code == 200


def test_the_pdf_says_when_identity_checks_were_off(
    scene: dict[str, object], db: Session, settings: Settings
) -> None:
    seeded = scene["ada_s"]
    assert isinstance(seeded, Seeded)
    session = db.get(ExamSession, seeded.session_id)
    assert session is not None
    assert session.ended_at is not None
    off_at = session.ended_at - timedelta(minutes=20)
    reason = "identity checks off: enrolled with another model, no enrolment photo kept"
    identity_gaps.record_off(db=db, session_id=session.id, reason=reason).created_at = off_at
    db.commit()
    report = session_report(db=db, store=open_store(settings.resolved_storage_url), session=session)
    text = pdf_text(session_pdf(report, now=utcnow(), invariant=True, compress=False))
    said = " ".join(re.findall(r"\((.*?)\) Tj", text))  # the cell's lines, wrapped
    # Still off when the attempt ended: the period ends with it.
    assert f"not checked {off_at:%H:%M:%S} to {session.ended_at:%H:%M:%S} UTC: {reason}" in said
    assert "on throughout" not in said


def test_pdf_is_reproducible_and_readable_uncompressed(
    scene: dict[str, object], db: Session, settings: Settings
) -> None:
    seeded = scene["ada_s"]
    assert isinstance(seeded, Seeded)
    store = open_store(settings.resolved_storage_url)
    session = db.get(ExamSession, seeded.session_id)
    assert session is not None
    # Evidence missing from storage is noted, not an error.
    store.delete(f"sessions/{session.id}/evidence/{seeded.violation_ids[0]}.jpg")
    report = session_report(db=db, store=store, session=session)
    now = utcnow()
    first = session_pdf(report, now=now, invariant=True, compress=False)
    assert first == session_pdf(report, now=now, invariant=True, compress=False)
    assert b"Proctoring report: Ada" in first
    assert b"2 of 3 evidence images shown" in first
    assert b"1 missing or unreadable" in first


def test_a_decompression_bomb_in_storage_is_an_unreadable_image_not_a_failed_report(
    scene: dict[str, object], db: Session, settings: Settings
) -> None:
    seeded = scene["ada_s"]
    assert isinstance(seeded, Seeded)
    store = open_store(settings.resolved_storage_url)
    session = db.get(ExamSession, seeded.session_id)
    assert session is not None
    key = f"sessions/{session.id}/evidence/{seeded.violation_ids[0]}.jpg"
    store.put(key, jpeg_declaring(30000, 30000), "image/jpeg")
    report = session_report(db=db, store=store, session=session)
    pdf = session_pdf(report, now=utcnow(), invariant=True, compress=False)
    assert b"2 of 3 evidence images shown" in pdf
    assert b"1 missing or unreadable" in pdf


FORMULAS = ("=1+2", "+1+2", "-1+2", "@SUM(A1)", "\t=1+2", "\r=1+2")


@pytest.mark.parametrize("database_kind", ["sqlite"])
def test_every_formula_start_in_candidate_text_is_defused(
    factory: Factory, db: Session, login_as: Login
) -> None:
    """Names and external ids come from rosters and integrations: a cell a spreadsheet would
    run (=, +, -, @, tab, carriage return) is prefixed with ' in the CSV."""
    exam = factory.exam()
    for number, formula in enumerate(FORMULAS):
        candidate = factory.candidate(exam, name=f"C{number}")
        candidate.name = formula
        candidate.external_id = f'{formula[0]}HYPERLINK("http://evil.example")'
    db.commit()
    client = login_as(factory.user(Role.ADMIN))
    response = client.get(f"/api/v1/exams/{exam.id}/report.csv")
    assert response.status_code == 200, response.text
    rows = csv_rows(response)
    assert sorted(row["name"] for row in rows) == sorted("'" + f for f in FORMULAS)
    assert all(row["external_id"].startswith("'") for row in rows)


def test_every_message_both_ways_is_in_the_json_the_csv_and_the_pdf(
    scene: dict[str, object], factory: Factory, login_as: Login
) -> None:
    exam, seeded, mine = scene["exam"], scene["ada_s"], scene["mine"]
    assert isinstance(exam, Exam)
    assert isinstance(seeded, Seeded)
    assert isinstance(mine, User)
    said = (
        (Sender.CANDIDATE, MessageKind.HAND_RAISED, "Raised their hand"),
        (Sender.CANDIDATE, MessageKind.MESSAGE, "My screen went black"),
        (Sender.PROCTOR, MessageKind.MESSAGE, "Press F5 please"),
        (Sender.PROCTOR, MessageKind.HAND_LOWERED, "Hand lowered: the proctor answered"),
        (Sender.PROCTOR, MessageKind.BROADCAST, "Five minutes left"),
        (Sender.PROCTOR, MessageKind.WARNING, "Eyes on your own screen"),
    )
    for sender, kind, body in said:
        messages.write(
            db=factory.db, session_id=seeded.session_id, sender=sender, kind=kind, body=body
        )
    factory.db.commit()
    client = login_as(mine)

    report = client.get(f"/api/v1/exams/{exam.id}/report.json").json()
    ada = next(row for row in report["candidates"] if row["name"] == "Ada")
    conversation = ada["messages"]["conversation"]
    seeded_warning = ("proctor", "warning", "Please keep your face in view")
    assert [(m["sender"], m["kind"], m["body"]) for m in conversation] == [
        seeded_warning,
        *((sender.value, kind.value, body) for sender, kind, body in said),
    ]
    assert (ada["messages"]["from_candidate"], ada["messages"]["from_proctors"]) == (1, 4)
    assert ada["messages"]["hands_raised"] == 1

    rows = csv_rows(client.get(f"/api/v1/exams/{exam.id}/report.csv"))
    by_name = {row["name"]: row for row in rows}
    counts = ("messages_from_candidate", "messages_from_proctors", "hands_raised")
    assert tuple(by_name["Ada"][column] for column in counts) == ("1", "4", "1")
    assert tuple(by_name["'=1+2"][column] for column in counts) == ("0", "0", "0")

    text = pdf_text(client.get(f"/api/v1/sessions/{seeded.session_id}/report.pdf").content)
    for expected in (
        "Interventions and messages",
        "Candidate raised their hand",
        "My screen went black",
        "Press F5 please",
        "Five minutes left",
        "Eyes on your own screen",
    ):
        assert expected in text, expected


def test_the_review_page_and_the_pdf_say_which_accommodations_applied(
    factory: Factory, db: Session, settings: Settings, login_as: Login
) -> None:
    store = open_store(settings.resolved_storage_url)
    exam = factory.exam()
    accommodated = factory.candidate(
        exam,
        name="Ada",
        accommodations=Accommodations(extra_percent=25, exempt=[ViolationKind.SPEECH]),
    )
    plain = factory.candidate(exam, name="Bob")
    ada = seed_session(db, store, accommodated, ended_at=utcnow())
    bob = seed_session(db, store, plain, ended_at=utcnow())
    client = login_as(factory.user(Role.REVIEWER))
    html = {"accept": "text/html"}
    page = client.get(f"/review/sessions/{ada.session_id}", headers=html).text
    assert "Accommodations applied:" in page
    assert ">Extra time +25 %<" in page
    assert ">Exempt: speech<" in page
    assert (
        "Accommodations applied"
        not in client.get(f"/review/sessions/{bob.session_id}", headers=html).text
    )
    text = pdf_text(client.get(f"/api/v1/sessions/{ada.session_id}/report.pdf").content)
    assert "(Accommodations) Tj" in text
    assert "(Extra time +25 %; Exempt: speech) Tj" in text
    plain_text = pdf_text(client.get(f"/api/v1/sessions/{bob.session_id}/report.pdf").content)
    assert "(Accommodations) Tj" in plain_text
    assert "Exempt" not in plain_text


def test_the_csv_opens_in_excel_with_the_decision_who_made_it_and_why_it_ended(
    factory: Factory, login_as: Login
) -> None:
    """A BOM first (Excel then reads "Chloé", not "ChloÃ©"), and the decision note, the
    reviewer, the termination reason and the score's maximum in their own columns."""
    exam = factory.exam()
    candidate = factory.candidate(exam, name="Chloé")
    session = running_session(factory, candidate)
    sessions.move(session, SessionState.TERMINATED, reason="a second person in the room")
    factory.db.commit()
    reviewer = factory.user(Role.REVIEWER, email="rey@example.com")
    client = login_as(reviewer)
    decided = client.put(
        f"/api/v1/sessions/{session.id}/decision",
        json={"decision": "cheating", "note": "Confirmed on the recording, 12:04"},
    )
    assert decided.status_code == 200, decided.text
    response = client.get(f"/api/v1/exams/{exam.id}/report.csv")
    assert response.content.startswith(codecs.BOM_UTF8 + b"candidate_id,")
    assert "Chloé".encode() in response.content
    (row,) = csv_rows(response)
    assert row["name"] == "Chloé"
    assert (row["decision"], row["decision_note"]) == (
        "cheating",
        "Confirmed on the recording, 12:04",
    )
    assert row["reviewer"] == "reviewer user <rey@example.com>"
    assert row["termination_reason"] == "a second person in the room"
    assert (row["score"], row["max_score"]) == ("", "1.0")
    # Times carry their zone's offset.
    assert row["ended_at"].endswith("+00:00")


def test_the_pdf_shows_the_reference_photo_beside_the_enrolment_photo(
    scene: dict[str, object], db: Session, settings: Settings
) -> None:
    seeded, ada = scene["ada_s"], scene["ada"]
    assert isinstance(seeded, Seeded)
    assert isinstance(ada, Candidate)
    store = open_store(settings.resolved_storage_url)
    key = reference_key(ada.id)
    blob = store.put(key, seed_jpeg(), "image/jpeg")
    ada.reference_photo = ReferencePhoto(
        key=key,
        content_type=blob.content_type,
        size_bytes=blob.size_bytes,
        sha256=blob.sha256,
        embedding=[0.0],
        embedder="test",
        uploaded_at=utcnow(),
    ).model_dump(mode="json")
    db.commit()
    session = db.get(ExamSession, seeded.session_id)
    assert session is not None
    report = session_report(db=db, store=store, session=session)
    assert [photo.caption for photo in report.photos] == [
        "Reference photo, registered before the exam",
        "Enrolment photo, taken at check-in",
    ]
    text = pdf_text(session_pdf(report, now=utcnow(), invariant=True, compress=False))
    assert "Reference photo, registered before the exam" in text
    assert "Enrolment photo, taken at check-in" in text
    # Gone from storage: said, not a failed report.
    store.delete(key)
    report = session_report(db=db, store=store, session=session)
    text = pdf_text(session_pdf(report, now=utcnow(), invariant=True, compress=False))
    said = " ".join(re.findall(r"\((.*?)\) Tj", text))  # the cell's lines, wrapped
    assert "Reference photo, registered before the exam: missing or unreadable" in said
