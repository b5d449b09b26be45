"""The public URL: derived from where the server listens, and the start-up warnings when the
links it names cannot reach the server."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from openproctor.demo import DEMO_TITLE
from openproctor.public_url import primary_address, reach_warnings, url_for
from openproctor.server import warn_unreachable_links
from openproctor.settings import load_settings
from tests.servers import free_port

REPO = Path(__file__).resolve().parents[1]
EVERY_ADDRESS = "0.0.0.0"  # noqa: S104 (the host `make run HOST=0.0.0.0` binds to)


def test_the_primary_address_is_one_of_this_machines_network_addresses() -> None:
    address = primary_address()
    assert not ipaddress.ip_address(address).is_loopback
    # Only an address of this machine can be bound to.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((address, 0))


def test_a_wildcard_bind_names_the_network_address_and_others_name_themselves() -> None:
    network = f"http://{primary_address()}:8100"
    assert url_for(EVERY_ADDRESS, 8100) == network
    assert url_for("::", 8100) == network
    assert url_for("127.0.0.1", 8100) == "http://127.0.0.1:8100"
    assert url_for("10.1.2.3", 80) == "http://10.1.2.3:80"
    assert url_for("fd00::7", 8000) == "http://[fd00::7]:8000"


@pytest.mark.parametrize(
    ("public_url", "host", "port", "behind_proxy", "complaints"),
    [
        # Links that reach the server.
        ("http://127.0.0.1:8000", "127.0.0.1", 8000, False, []),
        ("http://localhost:8000/", "::1", 8000, False, []),
        ("http://10.1.2.3:8100", EVERY_ADDRESS, 8100, False, []),
        ("http://exam.example.org:8100", EVERY_ADDRESS, 8100, False, []),
        ("http://10.1.2.3:8100", "10.1.2.3", 8100, False, []),
        # A proxy (a trusted-proxy list, or TLS, which serve does not speak) answers for them.
        ("https://exam.example.org", "127.0.0.1", 8000, False, []),
        ("http://exam.example.org", "127.0.0.1", 8000, True, []),
        ("http://10.1.2.3", "10.1.2.4", 8000, True, []),
        # The cases: PORT=8100 with the default URL, HOST=0.0.0.0 with the default URL.
        ("http://127.0.0.1:8000", "127.0.0.1", 8100, False, ["port 8000"]),
        ("http://127.0.0.1:8000", EVERY_ADDRESS, 8000, False, ["opens only on this machine"]),
        # Bound to loopback while links name another host; to one address, links another.
        ("http://10.1.2.3:8000", "127.0.0.1", 8000, False, ["no other machine can reach"]),
        ("http://10.1.2.3:8000", "10.1.2.4", 8000, False, ["listens on 10.1.2.4 only"]),
        (
            "http://10.1.2.3:9000",
            "127.0.0.1",
            8000,
            False,
            ["no other machine can reach", "port 9000"],
        ),
    ],
)
def test_reach_warnings(
    public_url: str, host: str, port: int, behind_proxy: bool, complaints: list[str]
) -> None:
    problems = reach_warnings(public_url, host=host, port=port, behind_proxy=behind_proxy)
    assert len(problems) == len(complaints), problems
    for problem, complaint in zip(problems, complaints, strict=True):
        assert complaint in problem


def test_each_warning_names_a_fix() -> None:
    (loopback_link,) = reach_warnings(
        "http://127.0.0.1:8000", host=EVERY_ADDRESS, port=8100, behind_proxy=True
    )
    assert f"OPENPROCTOR_PUBLIC_URL=http://{primary_address()}:8100" in loopback_link
    (wrong_port,) = reach_warnings(
        "http://127.0.0.1:8000", host="127.0.0.1", port=8100, behind_proxy=False
    )
    assert "OPENPROCTOR_PUBLIC_URL=http://127.0.0.1:8100" in wrong_port
    assert "OPENPROCTOR_TRUSTED_PROXIES" in wrong_port


def test_serve_logs_the_warnings_to_the_console(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings(env="test", data_dir=tmp_path, public_url="http://127.0.0.1:8000")
    with caplog.at_level(logging.WARNING, logger="openproctor.server"):
        problems = warn_unreachable_links(settings, host="127.0.0.1", port=8100)
        assert warn_unreachable_links(settings, host="127.0.0.1", port=8000) == []
    assert len(problems) == 1
    assert [r.getMessage() for r in caplog.records] == [
        f"candidates may not be able to open the links: {problems[0]}"
    ]
    # Trusted proxies set by the operator: a proxy answers for the public URL, on its own port.
    proxied = load_settings(
        env="test",
        data_dir=tmp_path,
        public_url="http://127.0.0.1:8000",
        trusted_proxies="10.0.0.5",
    )
    assert warn_unreachable_links(proxied, host="127.0.0.1", port=8100) == []


def _printed_links(log: Path, server: subprocess.Popen[bytes]) -> dict[str, str]:
    """The links `make run` printed, once it says it is serving."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        text = log.read_text()
        if "Serving on" in text:
            return dict(re.findall(r"^ *([A-Za-z ()]+?):? +(http\S+)", text, re.MULTILINE))
        assert server.poll() is None, f"make run stopped:\n{text}"
        time.sleep(0.2)
    raise AssertionError(f"make run printed no links within 120 s:\n{log.read_text()}")


def _get_from(address: str, url: str) -> httpx.Response:
    """GET url from a socket bound to `address`, retrying until the server is up."""
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(transport=transport, timeout=10) as http:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                return http.get(url)
            assert time.monotonic() < deadline, f"{url} did not answer within 60 s"
            time.sleep(0.2)


def test_make_run_on_every_address_prints_links_that_open_from_the_network(
    tmp_path: Path,
) -> None:
    venv, port = Path(sys.prefix), free_port()
    env = {
        **os.environ,
        "OPENPROCTOR_DATA_DIR": str(tmp_path),
        "OPENPROCTOR_ANALYSIS_WORKERS": "0",
        "PYTHONPATH": str(REPO / "src"),
    }
    env.pop("OPENPROCTOR_PUBLIC_URL", None)
    # The venv running the tests is installed already: -o keeps make from installing into it.
    make = ["make", "-s", "-C", str(REPO), "-o", f"{venv}/.server", f"VENV={venv}"]
    log = tmp_path / "run.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [*make, "run", "HOST=0.0.0.0", f"PORT={port}"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # make and the server it execs: one group to stop
        )
    try:
        links = _printed_links(log, server)
        network = primary_address()
        assert links["Serving on"] == f"http://{network}:{port}"
        candidate = urlsplit(links["Candidate link"])
        assert (candidate.hostname, candidate.port) == (network, port)
        # Fetched from this machine's network address, as another machine would.
        page = _get_from(network, links["Candidate link"])
        assert page.status_code == 200
        assert DEMO_TITLE in page.text
        assert _get_from(network, links["Sign in"]).status_code == 200
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
    assert "may not be able to open the links" not in log.read_text()
