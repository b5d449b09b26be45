"""No credential reaches a log: the access log of `openproctor serve` and the application's."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap

import httpx2
from websockets.asyncio.client import connect

from openproctor.settings import Settings
from tests.conftest import Factory
from tests.live.clients import running_session
from tests.servers import free_port, wait_for_port


def test_serve_logs_requests_without_their_credentials(
    settings: Settings, database_url: str, factory: Factory
) -> None:
    candidate = factory.candidate(factory.exam())
    running_session(factory, candidate)
    token = candidate.invite_token
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "OPENPROCTOR_DATA_DIR": str(settings.data_dir),
        "OPENPROCTOR_DATABASE_URL": database_url,
        "OPENPROCTOR_ANALYSIS_WORKERS": "0",
        "OPENPROCTOR_PUBLIC_URL": base_url,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "openproctor.cli", "serve", "--port", str(port), "--no-migrate"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_port(port, timeout_s=60)
        with httpx2.Client(base_url=base_url) as http:
            assert http.get(f"/take/{token}").status_code == 200
            assert http.get(f"/api/v1/take/{token}").status_code == 200
            signed = http.get(f"/detect_faces/evidence/{candidate.id}?expires=1&signature=abc123")
            assert signed.status_code == 403

        async def open_socket() -> None:
            async with connect(f"ws://127.0.0.1:{port}/ws/take/{token}") as socket:
                await socket.recv()

        asyncio.run(open_socket())
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=30)
    assert token not in output
    assert "abc123" not in output
    # The requests were logged, without their credentials.
    assert '"GET /take/[redacted] HTTP/1.1" 200' in output
    assert '"GET /api/v1/take/[redacted] HTTP/1.1" 200' in output
    assert '"WebSocket /ws/take/[redacted]" [accepted]' in output
    assert "signature=[redacted]" in output


def run_logging(setup: str) -> str:
    """Logs as the application does, in a process of its own set up with `setup`; returns
    what reached stderr."""
    script = textwrap.dedent(
        f"""
        import logging, logging.config
        from openproctor.logs import install_redaction, log_config
        {setup}
        log = logging.getLogger("openproctor.domains.webhooks.deliverer")
        log.warning(
            "webhook delivery %s to %s failed: %s",
            7,
            "https://hooks.example.com/in?token=HOOKSECRET",
            OSError("redis://:REDISPASSWORD@cache:6379 refused"),
        )
        try:
            raise ValueError(
                "no session for /take/INVITETOKEN with Bearer opk_APITOKEN "
                "signed whsec_SIGN+KEY/HALF=="
            )
        except ValueError:
            log.exception("handling a frame failed")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stderr


def test_application_logs_and_tracebacks_are_redacted() -> None:
    for setup in (
        "logging.config.dictConfig(log_config())",  # openproctor serve
        "logging.basicConfig(); install_redaction()",  # openproctor worker, embedding servers
    ):
        output = run_logging(setup)
        assert "webhook delivery 7 to https://hooks.example.com/in?token=[redacted]" in output
        assert "redis://:[redacted]@cache:6379" in output
        assert "/take/[redacted] with Bearer [redacted]" in output  # the traceback's line
        assert "signed whsec_[redacted]" in output  # Standard Webhooks secrets: +, / and =
        for secret in ("HOOKSECRET", "REDISPASSWORD", "INVITETOKEN", "APITOKEN", "KEY/HALF"):
            assert secret not in output, setup
