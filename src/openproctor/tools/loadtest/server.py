"""The server under test: a fresh local one, or one at --url; its CPU and memory."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


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
