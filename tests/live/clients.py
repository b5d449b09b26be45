"""Clients for live-loop tests: a proctor (REST + socket) and candidate socket helpers."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
import wave
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from openproctor.domains.candidates.models import Candidate
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import ExamSession, SessionState
from openproctor.domains.users.models import User
from openproctor.live.protocol import MediaKind, pack_media
from tests.conftest import PASSWORD, Factory

FIXTURES = Path(__file__).parent.parent / "fixtures"
TWO_FACES = (FIXTURES / "fr_two_people.jpg").read_bytes()
ONE_FACE = (FIXTURES / "pai_webcam_center.jpg").read_bytes()
NO_FACE = (FIXTURES / "noface_coffee.jpg").read_bytes()


def ws_url(base_url: str, path: str) -> str:
    return base_url.replace("http://", "ws://") + path


def running_session(factory: Factory, candidate: Candidate) -> ExamSession:
    session = sessions.current_for_candidate(db=factory.db, candidate=candidate)
    for state in (SessionState.CHECKING, SessionState.ENROLLED, SessionState.RUNNING):
        sessions.move(session, state)
    factory.db.commit()
    return session


def staff_cookie(base_url: str, user: User) -> tuple[dict[str, str], str]:
    with httpx2.Client(base_url=base_url) as http:
        token = http.get("/api/v1/auth/csrf").json()["csrf_token"]
        response = http.post(
            "/api/v1/auth/login",
            json={"email": user.email, "password": PASSWORD},
            headers={"X-CSRF-Token": token},
        )
        assert response.status_code == 200, response.text
        signed_in_token = http.get("/api/v1/auth/csrf").json()["csrf_token"]  # new at sign-in
        return dict(http.cookies), signed_in_token


class Proctor:
    """A proctor's socket plus REST calls with the same sign-in."""

    def __init__(self, base_url: str, user: User) -> None:
        self.base_url = base_url
        self.cookies, self.csrf = staff_cookie(base_url, user)
        self.events: list[dict[str, Any]] = []
        self.socket: ClientConnection | None = None

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def post(self, path: str, body: dict[str, Any] | None = None) -> httpx2.Response:
        with httpx2.Client(base_url=self.base_url, cookies=self.cookies) as http:
            return http.post(path, json=body or {}, headers={"X-CSRF-Token": self.csrf})

    def patch(self, path: str, body: dict[str, Any]) -> httpx2.Response:
        with httpx2.Client(base_url=self.base_url, cookies=self.cookies) as http:
            return http.patch(path, json=body, headers={"X-CSRF-Token": self.csrf})

    def get(self, path: str) -> httpx2.Response:
        with httpx2.Client(base_url=self.base_url, cookies=self.cookies) as http:
            return http.get(path)

    async def wait_for(
        self, match: Callable[[dict[str, Any]], bool], timeout: float = 15
    ) -> dict[str, Any]:
        assert self.socket is not None
        deadline = time.monotonic() + timeout
        for event in self.events:
            if match(event):
                return event
        while time.monotonic() < deadline:
            try:
                raw = await asyncio.wait_for(self.socket.recv(), deadline - time.monotonic())
            except TimeoutError:
                break
            if isinstance(raw, bytes):
                continue
            event = json.loads(raw)
            self.events.append(event)
            if match(event):
                return event
        raise AssertionError(f"no matching proctor event in {timeout} s; got {self.events[-5:]}")


@asynccontextmanager
async def proctor_socket(proctor: Proctor, exam_id: uuid.UUID) -> AsyncIterator[Proctor]:
    async with connect(
        ws_url(proctor.base_url, f"/ws/proctor/exams/{exam_id}"),
        additional_headers={"Cookie": proctor.cookie_header},
        # The first wall socket of a node just started on PostgreSQL + Redis took 9.7 s to
        # open beside the browser tests; the library's 10-s default failed it once in three.
        open_timeout=30,
    ) as socket:
        proctor.socket = socket
        yield proctor


def opened(kind: str, label: str | None = None) -> Callable[[dict[str, Any]], bool]:
    def match(event: dict[str, Any]) -> bool:
        violation = event.get("violation", {})
        return (
            event.get("type") == "violation"
            and event.get("event") == "opened"
            and violation.get("kind") == kind
            and (label is None or violation.get("label") == label)
        )

    return match


def evidence_of(kind: str) -> Callable[[dict[str, Any]], bool]:
    """The update that follows an opened violation once its evidence image is stored (or
    could not be)."""

    def match(event: dict[str, Any]) -> bool:
        return (
            event.get("type") == "violation"
            and event.get("event") == "evidence"
            and event["violation"]["kind"] == kind
        )

    return match


async def stream(socket: ClientConnection, frame: bytes, seconds: float, start_seq: int) -> int:
    """Sends one frame every 0.5 s (the server asks for 2 fps while confirming)."""
    seq = start_seq
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        await socket.send(pack_media(MediaKind.FRAME, seq, time.time() * 1000, frame))
        seq += 1
        await asyncio.sleep(0.5)
    return seq


async def candidate_messages(
    socket: ClientConnection, kind: str, timeout: float = 10
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        raw = await asyncio.wait_for(socket.recv(), max(0.01, deadline - time.monotonic()))
        message = json.loads(raw)
        if message["type"] == kind:
            return message


async def close_of(socket: ClientConnection, timeout: float = 10) -> tuple[int, str]:
    """Reads until the server closes the socket; its close code and reason."""
    try:
        while True:
            await asyncio.wait_for(socket.recv(), timeout)
    except ConnectionClosed as closed:
        frame = closed.rcvd
    if frame is None:
        raise AssertionError("the server closed without a close frame")
    return frame.code, frame.reason


def pcm(name: str) -> bytes:
    with wave.open(str(FIXTURES / name)) as source:
        assert source.getframerate() == 16000
        return source.readframes(source.getnframes())
