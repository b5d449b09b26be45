"""A full disk on a real server (issue 11, finding 4): every violation still reaches the
database and the proctor's wall, with the reason its evidence image is missing; recording
uploads are answered 507 and nothing is lost; /readyz says not ready; once space is back the
kept chunk arrives, the recording assembles with no gap, and evidence is stored again.

The object store sits on a 32 MiB tmpfs (tests/disks.py) that the test fills."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from typing import Any

import httpx2
import pytest
from sqlalchemy import select
from websockets.asyncio.client import connect

from openproctor.domains.candidates.models import Candidate
from openproctor.domains.objects.models import ObjectPurpose, StoredObject
from openproctor.domains.sessions.models import ExamSession
from openproctor.domains.users.models import Role
from openproctor.domains.violations.models import Violation
from openproctor.settings import Settings
from tests.conftest import Factory
from tests.disks import MIB, SmallDisk
from tests.domains.test_recordings import split, webm
from tests.live.clients import (
    NO_FACE,
    TWO_FACES,
    Proctor,
    evidence_of,
    opened,
    proctor_socket,
    running_session,
    stream,
    ws_url,
)

pytestmark = pytest.mark.analysis

THRESHOLD = 8 * MIB


@pytest.fixture
def settings(settings: Settings, small_disk: SmallDisk) -> Settings:
    return settings.model_copy(
        update={"storage_url": small_disk.storage.as_uri(), "min_free_bytes": THRESHOLD}
    )


class CandidateUploads:
    """The candidate's browser sending recording chunks, over HTTP to the real server."""

    def __init__(self, base_url: str, candidate: Candidate, session: ExamSession) -> None:
        self.http = httpx2.Client(base_url=base_url)
        self.http.headers["X-CSRF-Token"] = self.http.get("/api/v1/auth/csrf").json()["csrf_token"]
        self.base = f"/api/v1/take/{candidate.invite_token}/sessions/{session.id}/recordings"

    def put(self, index: int, body: bytes) -> httpx2.Response:
        headers = {
            "Content-Type": "video/webm;codecs=vp8",
            "X-Chunk-SHA256": hashlib.sha256(body).hexdigest(),
            "X-Chunk-Started-Ms": str(time.time() * 1000),
        }
        return self.http.put(f"{self.base}/webcam/chunks/{index}", content=body, headers=headers)

    def complete(self, chunks: int, recorded_s: float) -> httpx2.Response:
        body = {"chunks": chunks, "recorded_s": recorded_s}
        return self.http.post(f"{self.base}/webcam/complete", json=body)


def test_with_storage_full_violations_reach_the_database_and_the_wall_and_nothing_is_lost(
    live_server: str, factory: Factory, small_disk: SmallDisk
) -> None:
    proctor_user = factory.user(Role.PROCTOR)
    exam = factory.exam()
    candidate = factory.candidate(exam, proctor_user)
    session = running_session(factory, candidate)
    proctor = Proctor(live_server, proctor_user)
    uploads = CandidateUploads(live_server, candidate, session)
    chunks = split(webm(4), 2)

    # Nearly full: writes still work, but the node says it is not ready.
    small_disk.fill(leave=2 * MIB)
    assert uploads.put(0, chunks[0]).status_code == 201
    ready = httpx2.get(f"{live_server}/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["storage_space"].endswith(
        "below OPENPROCTOR_MIN_FREE_BYTES (8 MiB)"
    )

    # Full: the upload is refused with a reason the page can show, and is not stored.
    small_disk.fill()
    refused = uploads.put(1, chunks[1])
    assert refused.status_code == 507
    assert refused.json() == {
        "detail": "the server is out of space: nothing was stored; send it again later"
    }
    assert refused.headers["retry-after"] == "30"
    assert httpx2.get(f"{live_server}/readyz").status_code == 503

    async def scenario() -> None:
        async with proctor_socket(proctor, exam.id):
            await proctor.wait_for(lambda e: e["type"] == "snapshot")
            async with connect(ws_url(live_server, f"/ws/take/{candidate.invite_token}")) as cand:
                await cand.recv()  # hello
                # The same picture without a face: no_face after 3 s, frozen_video after 5 s.
                seq = await stream(cand, NO_FACE, 8.0, 0)
                await cand.send(json.dumps({"type": "signal", "name": "tab_hidden", "ts": 1}))
                for kind in ("no_face", "frozen_video", "tab_switch"):
                    alert = await proctor.wait_for(opened(kind))
                    assert alert["violation"]["evidence_url"] is None
                    update = await proctor.wait_for(evidence_of(kind))
                    assert update["violation"]["id"] == alert["violation"]["id"]
                    assert update["violation"]["evidence_url"] is None
                    assert "no space left" in update["violation"]["evidence_error"]

                # Space is back: evidence is stored again, and announced once it is.
                small_disk.free_up()
                await stream(cand, TWO_FACES, 3.0, seq)
                alert = await proctor.wait_for(opened("multiple_faces"))
                assert alert["violation"]["evidence_url"] is None
                update = await proctor.wait_for(evidence_of("multiple_faces"))
                assert update["violation"]["evidence_error"] is None
                picture = proctor.get(update["violation"]["evidence_url"])
                assert picture.status_code == 200
                assert picture.content.startswith(b"\xff\xd8")

    asyncio.run(scenario())
    factory.db.expire_all()
    violations = {v.kind.value: v for v in factory.db.scalars(select(Violation))}
    assert {"no_face", "frozen_video", "tab_switch", "multiple_faces"} <= set(violations)
    for kind in ("no_face", "frozen_video", "tab_switch"):
        assert "no space left" in (violations[kind].evidence_error or "")
    assert violations["multiple_faces"].evidence_error is None
    with_evidence = set(
        factory.db.scalars(
            select(StoredObject.violation_id).where(StoredObject.purpose == ObjectPurpose.EVIDENCE)
        )
    )
    assert violations["multiple_faces"].id in with_evidence
    assert not with_evidence & {violations[k].id for k in ("no_face", "frozen_video", "tab_switch")}
    metrics = httpx2.get(f"{live_server}/metrics").text
    assert "openproctor_evidence_failed_total 3.0" in metrics.splitlines()
    listed = {v["kind"]: v for v in proctor.get(f"/api/v1/exams/{exam.id}/violations").json()}
    assert listed["no_face"]["evidence_url"] is None
    assert "no space left" in listed["no_face"]["evidence_error"]

    # The kept chunk arrives now, and the recording assembles without a gap.
    assert httpx2.get(f"{live_server}/readyz").status_code == 200
    assert uploads.put(1, chunks[1]).status_code == 201
    ended = proctor.post(f"/api/v1/sessions/{session.id}/terminate", {"reason": "test over"})
    assert ended.status_code == 200, ended.text
    assert uploads.complete(2, 4.0).status_code == 200
    recording = wait_for_recording(proctor, session.id)
    assert recording["missing_chunks"] == []
    assert recording["error"] is None
    assert recording["duration_s"] == pytest.approx(4.0, abs=0.2)
    uploads.http.close()


def wait_for_recording(proctor: Proctor, session_id: uuid.UUID) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        (recording,) = proctor.get(f"/api/v1/sessions/{session_id}/recordings").json()
        if recording["ready"]:
            return dict(recording)
        time.sleep(0.3)
    raise AssertionError("the recording was not assembled within 30 s")
