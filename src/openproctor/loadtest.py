"""`openproctor loadtest`: real candidate sessions over WebSocket, real JPEG frames, real
proctor dashboards, and what arrived how fast.

Each simulated candidate goes through the real flow (invite, consent, enrolment with a face
photo, start), then streams frames at the asked rate, obeying the server's rate messages. Its
script: every candidate switches tabs once; one in ten shows two faces for a while, one in ten
leaves the camera. Those are the violations expected; the proctor sockets count which arrive
and when. Frames move by a few pixels from one to the next, as a person does, so the cheap
"unchanged frame" gate does not make the numbers look better than a real class would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from openproctor.live.protocol import MediaKind, pack_media

SAMPLES = Path(__file__).parent / "samples"
FRAME_SIZE = (640, 480)
# Prime, so a session skipping frames rarely analyses the same variant twice in a row (which
# the frozen-video gate would rightly flag).
VARIANTS = 31
SCRIPT_START_S = 8.0
SCRIPT_LENGTH_S = 6.0
SETUP_CONCURRENCY = 8
DRAIN_S = 6.0
SETTLE_TRIES = 30
PHASE_STEP = (math.sqrt(5) - 1) / 2  # golden ratio: consecutive candidates land far apart


def _in_flight(frames: dict[str, int]) -> int:
    done = frames.get("analysed", 0) + frames.get("skipped", 0) + frames.get("rejected", 0)
    return frames.get("received", 0) - done


@dataclass
class Expected:
    session_id: str
    kind: str
    due_at: float  # when the violation should open: scripted start + debounce


@dataclass
class Results:
    candidates: int
    frames_sent: int = 0
    connection_errors: int = 0
    expected: list[Expected] = field(default_factory=list)
    received: dict[tuple[str, str], float] = field(default_factory=dict)
    unexpected: dict[str, int] = field(default_factory=dict)
    server: dict[str, Any] = field(default_factory=dict)
    frames: dict[str, int] = field(default_factory=dict)
    # From the capture of the frame that opened a violation to a proctor receiving it.
    frame_to_alert_ms: list[float] = field(default_factory=list)
    # Object and identity passes run and put off during the run (from /metrics), and the
    # seconds between two passes of one candidate that they amount to.
    passes: dict[str, float] = field(default_factory=dict)

    def report(self) -> dict[str, Any]:
        """latency_ms runs from the capture of the frame, or the sending of the browser signal,
        that opened a violation to a proctor receiving it; scripted_frame_alert_ms from the
        moment a scripted scene has lasted its rule's debounce."""
        latencies = {"signal": [], "frame": []}  # type: dict[str, list[float]]
        matched = 0
        for item in self.expected:
            at = self.received.get((item.session_id, item.kind))
            if at is None:
                continue
            matched += 1
            ms = max(0.0, (at - item.due_at) * 1000)
            latencies["signal" if item.kind == "tab_switch" else "frame"].append(ms)
        return {
            "candidates": self.candidates,
            "frames_sent": self.frames_sent,
            "frames_received": self.frames.get("received", 0),
            "frames_analysed": self.frames.get("analysed", 0),
            "frames_skipped": self.frames.get("skipped", 0),
            "frames_rejected": self.frames.get("rejected", 0),
            "frames_in_flight": _in_flight(self.frames),
            "violations_expected": len(self.expected),
            "violations_received": matched,
            "violations_unexpected": self.unexpected,
            "latency_ms": _percentiles(latencies["signal"] + self.frame_to_alert_ms),
            "signal_latency_ms": _percentiles(latencies["signal"]),
            "frame_alert_latency_ms": _percentiles(self.frame_to_alert_ms),
            "scripted_frame_alert_ms": _percentiles(latencies["frame"]),
            "connection_errors": self.connection_errors,
            "passes": self.passes,
            "server": self.server,
        }


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)], 1)

    return {"p50": pick(0.5), "p95": pick(0.95), "p99": pick(0.99), "max": round(ordered[-1], 1)}


def frame_variants() -> dict[str, list[bytes]]:
    """Each sample scene letterboxed to 640x480, in a few slightly shifted versions."""
    rng = np.random.default_rng(7)
    scenes: dict[str, list[bytes]] = {}
    for scene, name in (
        ("one", "pai_webcam_center"),
        ("two", "fr_two_people"),
        ("none", "noface_coffee"),
    ):
        image = cv2.imread(str(SAMPLES / f"{name}.jpg"))
        if image is None:
            raise RuntimeError(f"sample {name} is missing from {SAMPLES}")
        scale = min(FRAME_SIZE[0] / image.shape[1], FRAME_SIZE[1] / image.shape[0])
        resized = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        variants = []
        h, w = resized.shape[:2]
        dx, dy = (FRAME_SIZE[0] - w) // 2, (FRAME_SIZE[1] - h) // 2
        for _ in range(VARIANTS):
            canvas = np.full((FRAME_SIZE[1], FRAME_SIZE[0], 3), 40, np.uint8)
            shift = np.array([[1, 0, rng.uniform(-6, 6)], [0, 1, rng.uniform(-4, 4)]], np.float32)
            canvas[dy : dy + h, dx : dx + w] = cv2.warpAffine(
                resized, shift, (w, h), borderMode=cv2.BORDER_REPLICATE
            )
            variants.append(
                cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes()
            )
        scenes[scene] = variants
    return scenes


# --- the server under test -------------------------------------------------------------------


@dataclass
class Target:
    base_url: str
    admin_email: str
    admin_password: str
    process: subprocess.Popen[bytes] | None = None
    workdir: Path | None = None


@asynccontextmanager
async def local_server(models_dir: Path, workers: int | None) -> AsyncIterator[Target]:
    """A fresh `openproctor serve` on SQLite in a temporary directory, with an admin."""
    from openproctor.cli import main as _  # noqa: F401 - fail early if the package is broken
    from openproctor.db import make_engine, make_session_factory, transaction
    from openproctor.domains.users import service as users
    from openproctor.domains.users.models import Role, UserCreate
    from openproctor.migrations import upgrade

    workdir = Path(tempfile.mkdtemp(prefix="openproctor-loadtest-"))
    data = workdir / "data"
    data.mkdir()
    (data / "models").symlink_to(models_dir.resolve())
    port = _free_port()
    env = {
        **os.environ,
        "OPENPROCTOR_DATA_DIR": str(data),
        "OPENPROCTOR_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "OPENPROCTOR_DATABASE_URL": "",
    }
    if workers is not None:
        env["OPENPROCTOR_ANALYSIS_WORKERS"] = str(workers)
    engine = make_engine(f"sqlite:///{data / 'openproctor.db'}")
    upgrade(engine)
    password = secrets.token_urlsafe(16)
    with transaction(make_session_factory(engine)) as db:
        users.create(
            db=db,
            user_in=UserCreate(
                email="loadtest-admin@example.com",
                name="Load test",
                role=Role.ADMIN,
                password=password,
            ),
        )
    engine.dispose()
    with (workdir / "server.log").open("wb") as log:  # the server writes to its own copy
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "openproctor.cli", "serve", "--port", str(port), "--no-migrate"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    target = Target(
        f"http://127.0.0.1:{port}", "loadtest-admin@example.com", password, process, workdir
    )
    try:
        await _wait_ready(target.base_url, process)
        yield target
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(workdir, ignore_errors=True)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _wait_ready(base_url: str, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=base_url) as http:
        for _ in range(600):
            if process.poll() is not None:
                raise RuntimeError("the server under test exited; see its server.log")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get("/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError("the server under test did not become ready within 60 s")


class ProcessTree:
    """CPU seconds and memory of a process and its children (the analysis workers)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.ticks = os.sysconf("SC_CLK_TCK")

    def _pids(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(entry.name))
        found, queue = [], [self.pid]
        while queue:
            pid = queue.pop()
            found.append(pid)
            queue += children.get(pid, [])
        return found

    def cpu_seconds(self) -> float:
        total = 0
        for pid in self._pids():
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
        return total / self.ticks

    def rss_mb(self) -> float:
        total = 0
        for pid in self._pids():
            with contextlib.suppress(OSError, ValueError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        return round(total / 1024, 1)


# --- setup through the REST API --------------------------------------------------------------


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


# --- the run ---------------------------------------------------------------------------------


def _scene(index: int, elapsed: float) -> str:
    scripted = SCRIPT_START_S <= elapsed < SCRIPT_START_S + SCRIPT_LENGTH_S
    if scripted and index % 10 == 0:
        return "two"
    if scripted and index % 10 == 1:
        return "none"
    return "one"


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
                scene = _scene(person.index, elapsed)
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
    async with httpx.AsyncClient(base_url=base_url) as http:
        await _login(http, email, password)
        cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
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


async def _pass_counts(base_url: str) -> dict[str, float]:
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


async def _final_counters(base_url: str, exam_id: str, target: Target) -> dict[str, int]:
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


async def loadtest(
    *,
    candidates: int,
    fps: float,
    duration: float,
    proctors: int,
    url: str | None,
    admin_email: str | None,
    admin_password: str | None,
    models_dir: Path,
    workers: int | None,
    fixed_rate: bool = False,
) -> dict[str, Any]:
    scenes = frame_variants()
    async with contextlib.AsyncExitStack() as stack:
        if url is None:
            target = await stack.enter_async_context(local_server(models_dir, workers))
        else:
            if not admin_email or not admin_password:
                raise ValueError(
                    "--url needs --admin-email and --admin-password to set up the exam"
                )
            target = Target(url.rstrip("/"), admin_email, admin_password)
        exam_id, people, accounts, debounce = await setup(
            target, candidates, proctors, duration, fps, scenes
        )
        results = Results(candidates=candidates)
        tree = ProcessTree(target.process.pid) if target.process else None
        cpu_before, wall_before = (tree.cpu_seconds() if tree else 0.0), time.time()
        passes_before = await _pass_counts(target.base_url)
        stop = asyncio.Event()
        watchers = [
            asyncio.create_task(
                run_proctor(target.base_url, exam_id, email, password, results, stop)
            )
            for email, password in accounts
        ]
        await asyncio.sleep(1)  # let the dashboards subscribe before anything happens
        await asyncio.gather(
            *(
                run_candidate(
                    target.base_url, p, fps, duration, scenes, results, debounce, fixed_rate
                )
                for p in people
            )
        )
        await asyncio.sleep(DRAIN_S)
        stop.set()
        await asyncio.gather(*watchers)
        expected = {(e.session_id, e.kind) for e in results.expected}
        # The two-person scene is two people: an object pass during it rightly adds this.
        allowed = {
            (e.session_id, "extra_person") for e in results.expected if e.kind == "multiple_faces"
        }
        for session_id, kind in results.received:
            if (session_id, kind) not in expected | allowed:
                results.unexpected[kind] = results.unexpected.get(kind, 0) + 1
        # Frames still waiting for a worker are not lost: wait until every one is analysed or
        # skipped (or half a minute has passed; what is left is then reported as in flight).
        for _ in range(SETTLE_TRIES):
            results.frames = await _final_counters(target.base_url, exam_id, target)
            if _in_flight(results.frames) == 0:
                break
            await asyncio.sleep(1)
        passes = await _pass_counts(target.base_url)
        results.passes = {key: passes[key] - passes_before.get(key, 0.0) for key in passes}
        for stage in ("objects", "identity"):
            if results.passes.get(stage):
                seconds = candidates * duration / results.passes[stage]
                results.passes[f"{stage}_every_s"] = round(seconds, 1)
        if tree is not None:
            wall = time.time() - wall_before
            cpu = tree.cpu_seconds() - cpu_before
            results.server = {
                "cpu_percent": round(100 * cpu / wall, 1),
                "cpu_percent_per_candidate": round(100 * cpu / wall / max(1, candidates), 2),
                "rss_mb": tree.rss_mb(),
                "cores": os.cpu_count(),
            }
        return results.report()
