"""What the simulated people do over the real API: set the exam up, candidates stream frames
and signals, proctors watch the wall and note each alert."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from openproctor.live.protocol import MediaKind, pack_media
from openproctor.tools.loadtest.report import Expected, Results
from openproctor.tools.loadtest.scenario import PHASE_STEP, VARIANTS, scene_at
from openproctor.tools.loadtest.server import Target

SETUP_CONCURRENCY = 8
RECORDING_CHUNK_S = 2.0  # the candidate page's MediaRecorder timeslice (take/recorder.js)


@dataclass
class Candidate:
    index: int
    token: str
    session_id: str = ""


async def _login(http: httpx.AsyncClient, email: str, password: str) -> str:
    http.headers["X-CSRF-Token"] = (await http.get("/api/v1/auth/csrf")).json()["csrf_token"]
    response = await http.post("/api/v1/auth/login", json={"email": email, "password": password})
    response.raise_for_status()
    # The token is bound to the staff session, so it changes at sign-in.
    token: str = (await http.get("/api/v1/auth/csrf")).json()["csrf_token"]
    http.headers["X-CSRF-Token"] = token
    return token


async def setup(
    target: Target,
    candidates: int,
    proctors: int,
    duration: float,
    fps: float,
    scenes: dict[str, list[bytes]],
) -> tuple[str, list[Candidate], list[tuple[str, str]], dict[str, float]]:
    from openproctor.db import utcnow

    async with httpx.AsyncClient(base_url=target.base_url, timeout=120) as http:
        await _login(http, target.admin_email, target.admin_password)
        now = utcnow()
        exam = (
            await http.post(
                "/api/v1/exams",
                json={
                    "title": f"Load test {now:%H:%M:%S}",
                    "opens_at": (now - timedelta(minutes=1)).isoformat(),
                    "closes_at": (now + timedelta(hours=6)).isoformat(),
                    "duration_minutes": max(5, math.ceil(duration / 60) + 5),
                    "questions": [{"prompt": "Ready?", "choices": ["yes", "no"], "answer": 0}],
                    # --fps is the exam's frame rate; the server lowers it under load.
                    "policy": {"frames_per_second": fps, "require_fullscreen": False},
                },
            )
        ).json()
        exam_id = exam["id"]
        debounce = {kind: rule["min_duration_s"] for kind, rule in exam["policy"]["rules"].items()}
        accounts = []
        for p in range(proctors):
            email = f"proctor{p}-{secrets.token_hex(3)}@example.com"
            password = secrets.token_urlsafe(12)
            body = {"email": email, "name": f"Proctor {p}", "role": "proctor", "password": password}
            (await http.post("/api/v1/users", json=body)).raise_for_status()
            accounts.append((email, password))
        roster = "name,email\n" + "".join(
            f"Candidate {i},candidate{i}-{secrets.token_hex(3)}@example.com\n"
            for i in range(candidates)
        )
        imported = await http.post(
            f"/api/v1/exams/{exam_id}/candidates/import",
            content=roster,
            headers={"content-type": "text/csv"},
        )
        imported.raise_for_status()
        if proctors:
            per = math.ceil(candidates / proctors)
            (
                await http.post(
                    f"/api/v1/exams/{exam_id}/candidates/auto-assign?max_per_proctor={per}"
                )
            ).raise_for_status()
        people = [
            Candidate(i, row["invite_url"].rsplit("/", 1)[1])
            for i, row in enumerate(imported.json()["candidates"])
        ]
    gate = asyncio.Semaphore(SETUP_CONCURRENCY)

    async def enter(person: Candidate) -> None:
        async with gate, httpx.AsyncClient(base_url=target.base_url, timeout=120) as client:
            csrf = (await client.get("/api/v1/auth/csrf")).json()["csrf_token"]
            client.headers["X-CSRF-Token"] = csrf
            view = (await client.get(f"/api/v1/take/{person.token}")).json()
            person.session_id = view["session"]["id"]
            base = f"/api/v1/take/{person.token}/sessions/{person.session_id}"
            (await client.post(f"{base}/state", json={"state": "checking"})).raise_for_status()
            enrolled = await client.post(
                f"{base}/enrol", content=scenes["one"][0], headers={"content-type": "image/jpeg"}
            )
            enrolled.raise_for_status()
            (await client.post(f"{base}/state", json={"state": "running"})).raise_for_status()

    await asyncio.gather(*(enter(person) for person in people))
    return exam_id, people, accounts, debounce


async def run_candidate(
    base_url: str,
    person: Candidate,
    fps: float,
    duration: float,
    scenes: dict[str, list[bytes]],
    results: Results,
    debounce: dict[str, float],
    fixed_rate: bool,
) -> None:
    url = base_url.replace("http", "ws", 1) + f"/ws/take/{person.token}"
    tab_at = 3.0 + (person.index % 7) * 0.5
    try:
        async with connect(url, max_size=2**22, compression=None) as socket:
            hello = json.loads(await socket.recv())
            # The server sets the rate: higher while it confirms something, lower under load.
            rate = {"fps": fps if fixed_rate else float(hello.get("fps") or fps)}
            rate["fixed"] = float(fixed_rate)
            listener = asyncio.create_task(_follow_rate(socket, rate))
            # Cameras in a real class are not in step: each candidate's frames start at its own
            # point in the frame interval, spread evenly over it.
            await asyncio.sleep((person.index * PHASE_STEP) % 1.0 / fps)
            start = next_at = time.time()
            seq = 0
            tab_sent = scripted_seen = False
            while (elapsed := time.time() - start) < duration:
                scene = scene_at(person.index, elapsed)
                if scene != "one" and not scripted_seen:
                    scripted_seen = True
                    kind = "multiple_faces" if scene == "two" else "no_face"
                    results.expected.append(
                        Expected(person.session_id, kind, time.time() + debounce[kind])
                    )
                if not tab_sent and elapsed >= tab_at:
                    tab_sent = True
                    results.expected.append(Expected(person.session_id, "tab_switch", time.time()))
                    await socket.send(
                        json.dumps({"type": "signal", "name": "tab_hidden", "ts": time.time()})
                    )
                    await socket.send(
                        json.dumps({"type": "signal", "name": "tab_visible", "ts": time.time()})
                    )
                frame = scenes[scene][seq % VARIANTS]
                await socket.send(pack_media(MediaKind.FRAME, seq, time.time() * 1000, frame))
                results.frames_sent += 1
                seq += 1
                next_at += 1 / rate["fps"]
                await asyncio.sleep(max(0.0, next_at - time.time()))
            listener.cancel()
    except (OSError, WebSocketException):
        results.connection_errors += 1


@dataclass(frozen=True)
class RecordingChunk:
    """The body every simulated chunk carries: random bytes (the server stores them without
    decoding) of the size `kbps` gives a chunk, and their SHA-256."""

    body: bytes
    sha256: str

    @classmethod
    def of_rate(cls, kbps: float) -> RecordingChunk:
        body = secrets.token_bytes(max(1, round(kbps * 1000 / 8 * RECORDING_CHUNK_S)))
        return cls(body, hashlib.sha256(body).hexdigest())


async def upload_recording(
    base_url: str, person: Candidate, chunk: RecordingChunk, duration: float, results: Results
) -> None:
    """The webcam recording's chunks, one every RECORDING_CHUNK_S, as the page uploads them."""
    path = f"/api/v1/take/{person.token}/sessions/{person.session_id}/recordings/webcam/chunks"
    started_ms = time.time() * 1000
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        csrf = (await http.get("/api/v1/auth/csrf")).json()["csrf_token"]
        # Recorders start when their candidate does, so chunks are as spread as cameras.
        await asyncio.sleep((person.index * PHASE_STEP) % 1.0 * RECORDING_CHUNK_S)
        start = time.time()
        index = 0
        while time.time() - start < duration:
            headers = {
                "Content-Type": "video/webm;codecs=vp8,opus",
                "X-CSRF-Token": csrf,
                "X-Chunk-SHA256": chunk.sha256,
                "X-Chunk-Started-Ms": str(round(started_ms)),
                "X-Chunk-Sent-Ms": str(round(time.time() * 1000)),
            }
            try:
                response = await http.put(f"{path}/{index}", content=chunk.body, headers=headers)
                ok = response.status_code in (200, 201)
            except httpx.HTTPError:
                ok = False
            results.recording_chunks["stored" if ok else "failed"] += 1
            index += 1
            await asyncio.sleep(max(0.0, start + index * RECORDING_CHUNK_S - time.time()))


async def _follow_rate(socket: ClientConnection, rate: dict[str, float]) -> None:
    with contextlib.suppress(ConnectionClosed):
        async for raw in socket:
            if isinstance(raw, str):
                message = json.loads(raw)
                if message.get("type") == "rate" and not rate.get("fixed"):
                    rate["fps"] = float(message["fps"])


async def run_proctor(
    base_url: str, exam_id: str, email: str, password: str, results: Results, stop: asyncio.Event
) -> None:
    try:
        # A server busy with hundreds of candidates connecting at once may be slow to accept.
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
            await _login(http, email, password)
            cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
    except httpx.HTTPError:
        results.connection_errors += 1
        return
    url = base_url.replace("http", "ws", 1) + f"/ws/proctor/exams/{exam_id}"
    try:
        async with connect(
            url, additional_headers={"Cookie": cookie}, max_size=2**24, compression=None
        ) as socket:
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(socket.recv(), 0.5)
                except TimeoutError:
                    continue
                if isinstance(raw, bytes):
                    continue
                event = json.loads(raw)
                if event.get("type") == "violation" and event.get("event") == "opened":
                    violation = event["violation"]
                    key = (violation["session_id"], violation["kind"])
                    now = time.time()
                    results.received.setdefault(key, now)
                    if violation.get("frame_ts_ms") and violation["kind"] != "tab_switch":
                        results.frame_to_alert_ms.append(now * 1000 - violation["frame_ts_ms"])
    except (OSError, WebSocketException):
        results.connection_errors += 1


async def pass_counts(base_url: str) -> dict[str, float]:
    """The server's count of object and identity passes run and deferred so far."""
    async with httpx.AsyncClient(base_url=base_url) as http:
        text = (await http.get("/metrics")).text
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            stage = sample.labels.get("stage")
            if stage not in ("objects", "identity"):
                continue
            if sample.name == "openproctor_inference_ms_count":
                counts[stage] = sample.value
            elif sample.name == "openproctor_analysis_deferred_total":
                counts[f"{stage}_deferred"] = sample.value
    return counts


async def final_counters(base_url: str, exam_id: str, target: Target) -> dict[str, int]:
    async with httpx.AsyncClient(base_url=base_url) as http:
        await _login(http, target.admin_email, target.admin_password)
        cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
    url = base_url.replace("http", "ws", 1) + f"/ws/proctor/exams/{exam_id}"
    async with connect(
        url, additional_headers={"Cookie": cookie}, max_size=2**24, compression=None
    ) as socket:
        snapshot = json.loads(await socket.recv())
    totals: dict[str, int] = {}
    for row in snapshot["candidates"]:
        for key, value in row["frames"].items():
            totals[key] = totals.get(key, 0) + value
    return totals
