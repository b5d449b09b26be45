"""The live loop end to end on a real server: a candidate socket streams real JPEG frames and
signals, an analysis worker runs the real models, the rules open violations with evidence,
a proctor socket receives them, and proctor actions reach the candidate."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

import cv2
import httpx2
import numpy as np
import pytest
from sqlalchemy import select
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from openproctor.domains.objects.models import ObjectPurpose, StoredObject
from openproctor.domains.sessions.models import ExamSession, SessionState
from openproctor.domains.users.models import Role
from openproctor.domains.violations.models import Violation
from openproctor.live.protocol import MediaKind, pack_media
from tests.conftest import Factory
from tests.live.clients import (
    NO_FACE,
    ONE_FACE,
    TWO_FACES,
    Proctor,
    candidate_messages,
    close_of,
    evidence_of,
    opened,
    pcm,
    proctor_socket,
    running_session,
    stream,
    ws_url,
)

pytestmark = pytest.mark.analysis


def test_frames_and_signals_become_violations_with_evidence_and_actions_reach_the_candidate(
    live_server: str, factory: Factory
) -> None:
    proctor_user = factory.user(Role.PROCTOR)
    exam = factory.exam()
    candidate = factory.candidate(exam, proctor_user)
    session = running_session(factory, candidate)
    proctor = Proctor(live_server, proctor_user)

    async def scenario() -> None:
        async with proctor_socket(proctor, exam.id):
            snapshot = await proctor.wait_for(lambda e: e["type"] == "snapshot")
            assert [c["name"] for c in snapshot["candidates"]] == ["Ada"]
            async with connect(ws_url(live_server, f"/ws/take/{candidate.invite_token}")) as cand:
                hello = json.loads(await cand.recv())
                assert hello["type"] == "hello"
                assert hello["state"] == "running"
                started = time.monotonic()
                seq = await stream(cand, ONE_FACE, 1.0, 0)
                seq = await stream(cand, TWO_FACES, 3.0, seq)
                multiple = await proctor.wait_for(opened("multiple_faces"))
                assert time.monotonic() - started < 8
                # Announced once the row exists; the picture follows once it is stored.
                assert multiple["violation"]["evidence_url"] is None
                stored = await proctor.wait_for(evidence_of("multiple_faces"))
                assert stored["violation"]["id"] == multiple["violation"]["id"]
                assert stored["violation"]["evidence_error"] is None
                evidence = proctor.get(stored["violation"]["evidence_url"])
                assert evidence.status_code == 200
                assert evidence.headers["content-type"] == "image/jpeg"
                assert evidence.content.startswith(b"\xff\xd8")

                seq = await stream(cand, NO_FACE, 5.0, seq)
                await proctor.wait_for(opened("no_face"))
                no_face = await proctor.wait_for(evidence_of("no_face"))
                assert no_face["violation"]["evidence_url"]

                await cand.send(json.dumps({"type": "signal", "name": "tab_hidden", "ts": 1}))
                await proctor.wait_for(opened("tab_switch"))
                await cand.send(json.dumps({"type": "signal", "name": "paste", "ts": 2}))
                await proctor.wait_for(opened("copy_paste", "paste"))

                sent = proctor.post(
                    f"/api/v1/sessions/{session.id}/messages",
                    {"body": "Please face the camera", "kind": "warning"},
                )
                assert sent.status_code == 201, sent.text
                message = await candidate_messages(cand, "message")
                assert message["body"] == "Please face the camera"
                assert message["kind"] == "warning"

                ended = proctor.post(
                    f"/api/v1/sessions/{session.id}/terminate", {"reason": "phone"}
                )
                assert ended.status_code == 200, ended.text
                state = await candidate_messages(cand, "state")
                assert state["state"] == "terminated"
                assert (await close_of(cand))[0] == 4409

    asyncio.run(scenario())
    factory.db.expire_all()
    kinds = {v.kind.value for v in factory.db.scalars(select(Violation))}
    assert {"multiple_faces", "no_face", "tab_switch", "copy_paste"} <= kinds
    assert all(v.ended_at is not None for v in factory.db.scalars(select(Violation)))
    evidence = factory.db.scalars(
        select(StoredObject).where(StoredObject.purpose == ObjectPurpose.EVIDENCE)
    ).all()
    assert len(evidence) >= 2
    stored = factory.db.get(ExamSession, session.id)
    assert stored is not None
    assert stored.state is SessionState.TERMINATED
    assert stored.risk_score > 0
    listed = proctor.get(f"/api/v1/exams/{exam.id}/violations").json()
    assert {
        "session_id",
        "candidate_id",
        "kind",
        "label",
        "severity",
        "started_at",
        "ended_at",
        "evidence_url",
    } <= set(listed[0])


def test_bad_input_is_refused_with_a_reason_and_other_sessions_carry_on(
    live_server: str, factory: Factory
) -> None:
    proctor_user = factory.user(Role.PROCTOR)
    exam = factory.exam()
    victim = factory.candidate(exam, proctor_user, name="Bob")
    bystander = factory.candidate(exam, proctor_user, name="Cleo")
    running_session(factory, victim)
    running_session(factory, bystander)
    other_exam = factory.exam(title="Other")
    url = lambda c: ws_url(live_server, f"/ws/take/{c.invite_token}")  # noqa: E731

    async def refused(payload: bytes | str) -> tuple[int, str]:
        async with connect(url(victim)) as socket:
            await socket.recv()  # hello
            await socket.send(payload)
            return await close_of(socket)

    async def scenario() -> None:
        async with connect(url(bystander)) as calm:
            await calm.recv()
            assert await refused(pack_media(MediaKind.FRAME, 0, 1.0, b"GIF89a not a jpeg")) == (
                4400,
                "frames must be JPEG",
            )
            code, reason = await refused(
                pack_media(MediaKind.FRAME, 0, 1.0, b"\xff\xd8" + b"0" * (1024 * 1024))
            )
            assert code == 4413
            assert "larger than" in reason
            assert (await refused(b"\x01\x00"))[0] == 4400
            assert (await refused(pack_media(9, 0, 1.0, b"x")))[0] == 4400  # type: ignore[arg-type]
            assert (await refused("{not json"))[0] == 4400
            assert (await refused(json.dumps({"type": "signal", "name": "teleport"})))[0] == 4400
            async with connect(url(victim)) as socket:
                await socket.recv()
                await socket.send(pack_media(MediaKind.FRAME, 5, 1.0, ONE_FACE))
                await socket.send(pack_media(MediaKind.FRAME, 5, 2.0, ONE_FACE))
                code, reason = await close_of(socket)
                assert code == 4400
                assert "replayed" in reason
            async with connect(url(victim)) as socket:
                await socket.recv()
                with contextlib.suppress(ConnectionClosed):
                    for seq in range(200):
                        await socket.send(pack_media(MediaKind.FRAME, seq, 1.0, ONE_FACE))
                code, reason = await close_of(socket)
                assert code == 4429
                assert reason == "too many messages: slow down"
            async with connect(ws_url(live_server, "/ws/take/not-a-token")) as socket:
                code, reason = await close_of(socket)
                assert code == 4401
                assert reason == "this invite link is not valid"
            async with connect(
                url(victim), additional_headers={"Origin": "https://evil.example"}
            ) as socket:
                assert (await close_of(socket))[0] == 4403
            # A second window replaces the first.
            async with connect(url(victim)) as first:
                await first.recv()
                async with connect(url(victim)) as second:
                    await second.recv()
                    assert (await close_of(first))[0] == 4408
            # A proctor may not watch an exam without their candidates, nor may anyone anonymous.
            proctor = Proctor(live_server, proctor_user)
            async with connect(
                ws_url(live_server, f"/ws/proctor/exams/{other_exam.id}"),
                additional_headers={"Cookie": proctor.cookie_header},
            ) as socket:
                assert (await close_of(socket))[0] == 4403
            async with connect(ws_url(live_server, f"/ws/proctor/exams/{exam.id}")) as socket:
                assert (await close_of(socket))[0] == 4401
            # Through all of that the bystander's socket stayed up and still works.
            await calm.send(pack_media(MediaKind.FRAME, 0, 1.0, ONE_FACE))
            await calm.send(json.dumps({"type": "heartbeat", "ts": 1}))
            await calm.ping()

    asyncio.run(scenario())


def test_speech_and_a_covered_camera_end_the_exam_when_auto_termination_is_on(
    live_server: str, factory: Factory
) -> None:
    proctor_user = factory.user(Role.PROCTOR)
    exam = factory.exam(policy={"auto_terminate_risk": 25})
    candidate = factory.candidate(exam, proctor_user)
    session = running_session(factory, candidate)
    proctor = Proctor(live_server, proctor_user)
    speech = pcm("speech_en.wav")
    half_second = 16000  # bytes of 0.5 s of 16 kHz s16le
    black = cv2.imencode(".jpg", np.zeros((480, 640, 3), np.uint8))[1].tobytes()

    async def scenario() -> None:
        toggled = proctor.post(
            f"/api/v1/exams/{exam.id}/my-sessions/auto-terminate", {"enabled": True}
        )
        assert toggled.status_code == 405  # it is a PUT
        with httpx2.Client(base_url=live_server, cookies=proctor.cookies) as http:
            response = http.put(
                f"/api/v1/exams/{exam.id}/my-sessions/auto-terminate",
                json={"enabled": True},
                headers={"X-CSRF-Token": proctor.csrf},
            )
            assert response.status_code == 200, response.text
        async with proctor_socket(proctor, exam.id):
            await proctor.wait_for(lambda e: e["type"] == "snapshot")
            async with connect(ws_url(live_server, f"/ws/take/{candidate.invite_token}")) as cand:
                await cand.recv()
                for seq in range(10):  # 5 s of speech, looped
                    start = (seq * half_second) % (len(speech) - half_second)
                    chunk = speech[start : start + half_second]
                    await cand.send(pack_media(MediaKind.AUDIO, seq, time.time() * 1000, chunk))
                    await asyncio.sleep(0.5)
                spoken = await proctor.wait_for(opened("speech"))
                assert spoken["violation"]["severity"] == "medium"
                with contextlib.suppress(ConnectionClosed):  # it ends while we stream
                    await stream(cand, black, 6.0, 0)
                await proctor.wait_for(opened("camera_covered"))
                await proctor.wait_for(
                    lambda e: e["type"] == "candidate" and e["candidate"]["state"] == "terminated"
                )
                state = await candidate_messages(cand, "state")  # delivered before the close
                assert state["state"] == "terminated"
                assert "ended automatically" in state["reason"]
                assert (await close_of(cand))[0] == 4409

    asyncio.run(scenario())
    factory.db.expire_all()
    stored = factory.db.get(ExamSession, session.id)
    assert stored is not None
    assert stored.state is SessionState.TERMINATED
    assert stored.risk_score >= 25
