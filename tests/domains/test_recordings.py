"""Chunk uploads (idempotent, checked, resumable), gap detection and assembly into a seekable
recording, through the API as a browser and a reviewer use it."""

from __future__ import annotations

import hashlib
import io
from datetime import datetime, timedelta
from typing import Any

import av
import boto3
import httpx2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from openproctor.app import create_app
from openproctor.db import utcnow
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.exams.models import Exam
from openproctor.domains.objects.models import Recording
from openproctor.domains.recordings import service
from openproctor.domains.recordings.assemble import duration_of
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import ExamSession, SessionState
from openproctor.domains.users.models import Role
from openproctor.settings import Settings
from tests.conftest import S3_TEST_CREDENTIALS, Factory, login


def webm(seconds: float, fps: int = 10, shade: int = 0) -> bytes:
    """A live-style WebM (no cues, no duration), as MediaRecorder writes it."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="webm", options={"live": "1"}) as output:
        stream = output.add_stream("libvpx", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for i in range(round(seconds * fps)):
            pixels = np.full((120, 160, 3), (shade + i * 7) % 255, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return buffer.getvalue()


def split(data: bytes, pieces: int) -> list[bytes]:
    size = -(-len(data) // pieces)
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.fixture
def session_of(factory: Factory) -> tuple[Candidate, ExamSession]:
    exam = factory.exam()
    candidate = factory.candidate(exam)
    session = sessions.current_for_candidate(db=factory.db, candidate=candidate)
    for state in (SessionState.CHECKING, SessionState.ENROLLED, SessionState.RUNNING):
        sessions.move(session, state)
    factory.db.commit()
    return candidate, session


class Uploader:
    """The candidate's browser: chunk uploads with the invite token and the CSRF header."""

    def __init__(self, client: TestClient, candidate: Candidate, session: ExamSession) -> None:
        self.client = client
        client.headers["X-CSRF-Token"] = client.get("/api/v1/auth/csrf").json()["csrf_token"]
        self.base = f"/api/v1/take/{candidate.invite_token}/sessions/{session.id}/recordings"

    def put(
        self,
        index: int,
        body: bytes,
        *,
        part: int = 0,
        sha: str | None = None,
        started: datetime | None = None,
        sent: datetime | None = None,
        timed: bool = True,
    ) -> httpx2.Response:
        """started and sent are by the browser's clock (started defaults to now); timed=False
        sends neither, like a page from before the browser said when a part started."""
        headers = {
            "Content-Type": "video/webm;codecs=vp8",
            "X-Chunk-SHA256": sha or hashlib.sha256(body).hexdigest(),
            "X-Recording-Part": str(part),
        }
        if timed:
            headers["X-Chunk-Started-Ms"] = str((started or utcnow()).timestamp() * 1000)
            if sent is not None:
                headers["X-Chunk-Sent-Ms"] = str(sent.timestamp() * 1000)
        return self.client.put(f"{self.base}/webcam/chunks/{index}", content=body, headers=headers)

    def complete(self, chunks: int, recorded_s: float) -> httpx2.Response:
        body = {"chunks": chunks, "recorded_s": recorded_s}
        return self.client.post(f"{self.base}/webcam/complete", json=body)

    def status(self) -> dict[str, Any]:
        streams: list[dict[str, Any]] = self.client.get(self.base).json()["streams"]
        return streams[0]


def end(factory: Factory, session: ExamSession) -> None:
    sessions.move(session, SessionState.SUBMITTED)
    factory.db.commit()


def close_to(iso: str, expected: datetime, within_s: float) -> bool:
    return abs((datetime.fromisoformat(iso) - expected).total_seconds()) <= within_s


def test_chunks_are_idempotent_checked_and_assembled(
    client: TestClient, factory: Factory, session_of: tuple[Candidate, ExamSession]
) -> None:
    candidate, session = session_of
    browser = Uploader(client, candidate, session)
    first_run, second_run = split(webm(4), 3), split(webm(3, shade=90), 2)
    chunks = [(0, c) for c in first_run] + [(1, c) for c in second_run]  # a reload between
    for index, (part, body) in enumerate(chunks):
        assert browser.put(index, body, part=part).status_code == 201
    assert browser.put(1, chunks[1][1]).status_code == 200  # a retry whose answer was lost
    conflict = browser.put(1, b"something else")
    assert conflict.status_code == 409
    assert "different content" in conflict.json()["detail"]
    damaged = browser.put(9, chunks[0][1], sha="0" * 64)
    assert damaged.status_code == 422
    assert "damaged" in damaged.json()["detail"]
    assert browser.put(9, b"").status_code == 422

    status = browser.status()
    assert status["received"] == [0, 1, 2, 3, 4]
    assert status["missing_chunks"] == []
    assert status["chunk_sha256"]["2"] == hashlib.sha256(chunks[2][1]).hexdigest()

    done = browser.complete(5, 7.0)
    assert done.status_code == 200, done.text
    assert browser.complete(3, 7.0).status_code == 409
    end(factory, session)
    context = client.app.state.context  # type: ignore[attr-defined]
    with context.session_factory() as db:
        assert service.due_for_assembly(db=db, now=utcnow()) != []
        recording_id = service.due_for_assembly(db=db, now=utcnow())[0]
        recording = service.assemble_recording(
            db=db, store=context.store, recording_id=recording_id
        )
        db.commit()
        assert recording.ready
        assert recording.error is None
        assert recording.duration_s is not None
        assert recording.duration_s == pytest.approx(7.0, abs=0.3)

    login(client, factory.user(Role.REVIEWER))
    listed = client.get(f"/api/v1/sessions/{session.id}/recordings").json()
    assert [(r["kind"], r["chunks"], r["missing_chunks"], r["ready"]) for r in listed] == [
        ("webcam", 5, [], True)
    ]
    media = client.get(listed[0]["url"])
    assert media.status_code == 200
    assert hashlib.sha256(media.content).hexdigest() == listed[0]["sha256"]
    assert duration_of(media.content) == pytest.approx(7.0, abs=0.3)
    ranged = client.get(listed[0]["url"], headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206
    assert len(ranged.content) == 100


def test_gaps_are_named_and_a_late_chunk_reassembles(
    client: TestClient, factory: Factory, session_of: tuple[Candidate, ExamSession]
) -> None:
    candidate, session = session_of
    browser = Uploader(client, candidate, session)
    pieces = split(webm(4), 4)
    for index in (0, 1, 3):
        assert browser.put(index, pieces[index]).status_code == 201
    assert browser.complete(4, 4.0).status_code == 200
    status = browser.status()
    assert status["missing_chunks"] == [2]
    end(factory, session)
    context = client.app.state.context  # type: ignore[attr-defined]
    with context.session_factory() as db:
        # Complete but with a hole: not assembled until the browser catches up (or it is late).
        assert service.due_for_assembly(db=db, now=utcnow()) == []
        abandoned = service.due_for_assembly(db=db, now=utcnow() + service.ASSEMBLE_AFTER)
        assert len(abandoned) == 1
    assert browser.put(2, pieces[2]).status_code == 201
    with client.app.state.context.session_factory() as db:  # type: ignore[attr-defined]
        [recording_id] = service.due_for_assembly(db=db, now=utcnow())
        recording = service.assemble_recording(
            db=db,
            store=client.app.state.context.store,
            recording_id=recording_id,  # type: ignore[attr-defined]
        )
        db.commit()
        assert recording.ready
        assert recording.error is None
    later = browser.put(4, pieces[0])
    assert later.status_code == 409
    assert "completed with 4 chunks" in later.json()["detail"]


def test_uploads_need_the_candidates_own_session(
    client: TestClient, factory: Factory, session_of: tuple[Candidate, ExamSession]
) -> None:
    candidate, session = session_of
    exam = factory.db.get(Exam, candidate.exam_id)
    assert exam is not None
    other = factory.candidate(exam, name="Zed")
    response = Uploader(client, other, session).put(0, b"\x1a\x45\xdf\xa3")
    assert response.status_code == 403
    assert factory.db.scalars(select(Recording)).all() == []


def test_each_part_keeps_its_start_and_its_place_in_the_file(
    client: TestClient, factory: Factory, session_of: tuple[Candidate, ExamSession]
) -> None:
    """A 4 s run, a reload, then a 3 s run from 10 s after the first began: the file is 7 s
    long and the second part sits 4 s into it, though it started 10 s into the attempt."""
    candidate, session = session_of
    browser = Uploader(client, candidate, session)
    first_start = utcnow() - timedelta(seconds=60)
    second_start = first_start + timedelta(seconds=10)
    # As the browser numbers them: a run's part is the index of its first chunk.
    runs = [(0, first_start, split(webm(4), 2)), (2, second_start, split(webm(3, shade=90), 2))]
    index = 0
    for part, started, pieces in runs:
        for body in pieces:
            answer = browser.put(index, body, part=part, started=started, sent=utcnow())
            assert answer.status_code == 201, answer.text
            index += 1
    assert browser.complete(4, 7.0).status_code == 200
    end(factory, session)
    context = client.app.state.context  # type: ignore[attr-defined]
    with context.session_factory() as db:
        [recording_id] = service.due_for_assembly(db=db, now=utcnow())
        service.assemble_recording(db=db, store=context.store, recording_id=recording_id)
        db.commit()

    login(client, factory.user(Role.REVIEWER))
    [webcam] = client.get(f"/api/v1/sessions/{session.id}/recordings").json()
    assert webcam["ready"]
    assert webcam["duration_s"] == pytest.approx(7.0, abs=0.3)
    parts = webcam["parts"]
    assert [(p["part"], p["start_clock"]) for p in parts] == [(0, "browser"), (2, "browser")]
    assert close_to(parts[0]["started_at"], first_start, 0.01)
    assert close_to(parts[1]["started_at"], second_start, 0.01)
    assert webcam["started_at"] == parts[0]["started_at"]
    # Where each part is in the file: the 6 s between the runs are not in it.
    assert parts[0]["offset_s"] == 0
    assert parts[1]["offset_s"] == pytest.approx(4.0, abs=0.15)
    assert parts[0]["duration_s"] == pytest.approx(parts[1]["offset_s"])
    assert parts[1]["offset_s"] + parts[1]["duration_s"] == pytest.approx(
        webcam["duration_s"], abs=0.15
    )


def test_a_slow_browser_clock_is_corrected_and_an_untimed_part_starts_on_arrival(
    client: TestClient, factory: Factory, session_of: tuple[Candidate, ExamSession]
) -> None:
    """A browser clock 90 minutes slow (a time zone set by hand) says when its run started:
    moved by what its uploads measure, the start is right. A part sent without times (a page
    from before they were sent) starts when its first chunk arrived."""
    candidate, session = session_of
    browser = Uploader(client, candidate, session)
    slow = timedelta(minutes=90)
    started = utcnow() - timedelta(seconds=20)
    pieces = split(webm(3), 3)
    for index in (0, 1):
        sent = utcnow() - slow
        answer = browser.put(index, pieces[index], part=0, started=started - slow, sent=sent)
        assert answer.status_code == 201, answer.text
    before = utcnow()
    assert browser.put(2, pieces[2], part=2, timed=False).status_code == 201
    after = utcnow()

    first, untimed = browser.status()["parts"]
    assert first["start_clock"] == "browser"
    assert close_to(first["started_at"], started, 1.0)
    assert untimed["start_clock"] == "server"
    assert before <= datetime.fromisoformat(untimed["started_at"]) <= after
    assert first["offset_s"] is None  # not assembled yet


@pytest.mark.parametrize(
    "content_type", ["text/html", "text/html; charset=utf-8", "image/svg+xml", "video/mp4"]
)
def test_chunks_of_a_type_we_do_not_record_are_refused_with_415(
    client: TestClient,
    factory: Factory,
    session_of: tuple[Candidate, ExamSession],
    content_type: str,
) -> None:
    candidate, session = session_of
    browser = Uploader(client, candidate, session)
    page = b"<html><script>fetch('/api/v1/users')</script></html>"
    refused = browser.client.put(
        f"{browser.base}/webcam/chunks/0",
        content=page,
        headers={"Content-Type": content_type, "X-Chunk-SHA256": hashlib.sha256(page).hexdigest()},
    )
    assert refused.status_code == 415
    assert "must be video/webm" in refused.json()["detail"]
    assert browser.client.get(browser.base).json()["streams"] == []


def test_a_recording_is_served_as_webm_whatever_type_its_row_kept(
    client: TestClient, factory: Factory, session_of: tuple[Candidate, ExamSession]
) -> None:
    candidate, session = session_of
    browser = Uploader(client, candidate, session)
    assert browser.put(0, webm(2)).status_code == 201
    assert browser.complete(1, 2.0).status_code == 200
    end(factory, session)
    context = client.app.state.context  # type: ignore[attr-defined]
    with context.session_factory() as db:
        [recording_id] = service.due_for_assembly(db=db, now=utcnow())
        recording = service.assemble_recording(
            db=db, store=context.store, recording_id=recording_id
        )
        # A row stored before types were checked: a candidate's chunks claimed HTML.
        recording.content_type = "text/html"
        db.commit()
    login(client, factory.user(Role.REVIEWER))
    url = f"/api/v1/recordings/{recording_id}/media"
    played = client.get(url)
    assert played.status_code == 200
    assert played.headers["content-type"] == "video/webm"
    assert played.headers["x-content-type-options"] == "nosniff"
    assert played.headers["content-disposition"].startswith("inline;")
    saved = client.get(url, params={"download": "true"})
    assert saved.headers["content-type"] == "video/webm"
    assert saved.headers["content-disposition"] == (
        f'attachment; filename="session-{session.id}-webcam.webm"'
    )


def test_a_chunk_the_store_cannot_take_is_answered_503_with_a_reason_and_not_recorded(
    settings: Settings,
    factory: Factory,
    session_of: tuple[Candidate, ExamSession],
    moto_server: str,
    s3_bucket: str,
) -> None:
    """S3 storage that fails (here its bucket is gone): a clear status, never a bare 500."""
    on_s3 = settings.model_copy(
        update={
            "storage_url": f"s3://{s3_bucket}/openproctor",
            "s3_endpoint_url": moto_server,
            "s3_access_key_id": S3_TEST_CREDENTIALS["access_key_id"],
            "s3_secret_access_key": SecretStr(S3_TEST_CREDENTIALS["secret_access_key"]),
        }
    )
    app = create_app(on_s3)
    with TestClient(app) as client:
        candidate, session = session_of
        browser = Uploader(client, candidate, session)
        boto3.session.Session().client(
            "s3",
            endpoint_url=moto_server,
            region_name="us-east-1",
            aws_access_key_id=S3_TEST_CREDENTIALS["access_key_id"],
            aws_secret_access_key=S3_TEST_CREDENTIALS["secret_access_key"],
        ).delete_bucket(Bucket=s3_bucket)
        response = browser.put(0, split(webm(1), 1)[0])
        assert response.status_code == 503
        assert response.json() == {
            "detail": "the server cannot store this right now: nothing was stored; "
            "send it again later"
        }
        assert response.headers["retry-after"] == "30"
        assert client.get(browser.base).json() == {"streams": []}
        # With S3 storage free space does not apply: only the data directory is watched.
        assert "storage_space" not in client.get("/readyz").json()["checks"]
    app.state.context.engine.dispose()
