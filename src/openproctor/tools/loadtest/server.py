"""The server under test: a fresh local one (on SQLite with its own analysis workers, or a web
node and `openproctor worker` processes on a PostgreSQL and a Redis you give), or one at --url;
its CPU and memory."""

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
from dataclasses import dataclass, field
from pathlib import Path

import httpx


@dataclass
class Target:
    base_url: str
    admin_email: str
    admin_password: str
    process: subprocess.Popen[bytes] | None = None
    workdir: Path | None = None
    # `openproctor worker` processes (with --redis-url); otherwise the workers are children of
    # `process`.
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    database_url: str | None = None
    redis_url: str | None = None


WORKER_READY = b"taking jobs from"  # what `openproctor worker` logs once its models are loaded


@asynccontextmanager
async def local_server(
    models_dir: Path,
    workers: int | None,
    *,
    database_url: str | None = None,
    redis_url: str | None = None,
) -> AsyncIterator[Target]:
    """A fresh `openproctor serve` in a temporary directory, with an admin: on SQLite there,
    or on `database_url` (migrated first); with `redis_url` a web node and `workers` (default
    2) `openproctor worker` processes, all stopped at the end."""
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
        "OPENPROCTOR_DATABASE_URL": database_url or "",
        "OPENPROCTOR_REDIS_URL": redis_url or "",
        "PYTHONUNBUFFERED": "1",  # a worker's "taking jobs" line reaches its log at once
    }
    if workers is not None and redis_url is None:
        env["OPENPROCTOR_ANALYSIS_WORKERS"] = str(workers)
    engine = make_engine(database_url or f"sqlite:///{data / 'openproctor.db'}")
    upgrade(engine)
    # A database given may already have an admin from an earlier run.
    email = f"loadtest-admin-{secrets.token_hex(4)}@example.com"
    password = secrets.token_urlsafe(16)
    with transaction(make_session_factory(engine)) as db:
        users.create(
            db=db,
            user_in=UserCreate(email=email, name="Load test", role=Role.ADMIN, password=password),
        )
    engine.dispose()
    command = [sys.executable, "-m", "openproctor.cli"]
    target = Target(
        f"http://127.0.0.1:{port}",
        email,
        password,
        workdir=workdir,
        database_url=database_url,
        redis_url=redis_url,
    )
    try:
        with (workdir / "server.log").open("wb") as log:  # each process writes its own copy
            target.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [*command, "serve", "--port", str(port), "--no-migrate"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        worker_count = (2 if workers is None else workers) if redis_url else 0
        for index in range(worker_count):
            with (workdir / f"worker{index}.log").open("wb") as log:
                target.workers.append(
                    subprocess.Popen(  # noqa: S603 - our own interpreter and module
                        [*command, "worker", "--name", f"loadtest-{index}"],
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        await _wait_ready(target.base_url, target.process)
        for index, worker in enumerate(target.workers):
            await _wait_logged(workdir / f"worker{index}.log", WORKER_READY, worker)
        yield target
    finally:
        for process in [*target.workers, target.process]:
            if process is not None:
                _stop(process)
        shutil.rmtree(workdir, ignore_errors=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


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


async def _wait_logged(log: Path, line: bytes, process: subprocess.Popen[bytes]) -> None:
    for _ in range(1200):
        if process.poll() is not None:
            raise RuntimeError(f"a process under test exited; see its {log.name}")
        if line in log.read_bytes():
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{log.name} did not say it was ready within 120 s")
