"""Two web nodes (real `openproctor serve` processes) on one database: only the one holding
the lease runs the background sweeps; when it is killed (SIGKILL: it cannot give the lease
up), the other takes over within the lease's time and sweeps once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from openproctor.background import ASSEMBLY_SWEEP_S
from openproctor.settings import Settings
from tests.servers import free_port, wait_for_port

# Short, so the test is quick, yet long enough that a node starved of CPU on a busy test
# machine (2 cores, many test runs) still renews in time.
LEASE_S = 6.0
# The lease runs out at most LEASE_S after the kill; the follower tries every LEASE_S / 3 (and
# looks each second); plus slack for polling on a loaded machine.
TAKEOVER_S = LEASE_S * 4 / 3 + 3.0
SWEEPS = ("retention", "assembly")


class Node:
    def __init__(self, settings: Settings, log: Path) -> None:
        self.port = free_port()
        self.started = time.monotonic()
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "openproctor.cli",
                    "serve",
                    "--no-migrate",
                    "--port",
                    str(self.port),
                ],
                env={
                    **os.environ,
                    "OPENPROCTOR_ENV": "test",
                    "OPENPROCTOR_DATA_DIR": str(settings.data_dir),
                    "OPENPROCTOR_DATABASE_URL": settings.database_url,
                    "OPENPROCTOR_ANALYSIS_WORKERS": "0",
                    "OPENPROCTOR_LEADER_LEASE_S": str(LEASE_S),
                },
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        wait_for_port(self.port, timeout_s=60)

    def metrics(self) -> dict[str, float]:
        """This node's background metrics: the leader gauge and sweeps by kind."""
        text = httpx.get(f"http://127.0.0.1:{self.port}/metrics", timeout=30).text
        found: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "openproctor_background_leader":
                    found["leader"] = sample.value
                if sample.name == "openproctor_background_sweeps_total":
                    found[sample.labels["sweep"]] = sample.value
        return found


@pytest.fixture
def nodes(settings: Settings, tmp_path: Path) -> Iterator[list[Node]]:
    started: list[Node] = []

    def start() -> Node:
        node = Node(settings, tmp_path / f"node{len(started)}.log")
        started.append(node)
        return node

    try:
        yield [start(), start()]
    finally:
        for node in started:
            if node.process.poll() is None:
                node.process.terminate()
                node.process.wait(30)


def wait_for(condition: object, what: str, timeout_s: float) -> float:
    """Seconds until `condition()` held; fails after timeout_s."""
    assert callable(condition)
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout_s, f"{what} within {timeout_s} s"
        time.sleep(0.1)
    return time.monotonic() - started


# Several nodes share a database in scale-out, on PostgreSQL; the lease's queries run on both
# databases in tests/domains/test_leases_service.py.
@pytest.mark.databases("postgresql")
def test_the_other_node_takes_over_the_sweeps_when_the_leader_dies(nodes: list[Node]) -> None:
    wait_for(
        lambda: sum(node.metrics().get("leader", 0) for node in nodes) == 1,
        "one node leads",
        TAKEOVER_S,
    )
    leader, follower = sorted(nodes, key=lambda node: -node.metrics()["leader"])
    # Two lease periods side by side: the follower neither sweeps nor claims to lead; the
    # leader sweeps once per period (retention hourly, assembly every ASSEMBLY_SWEEP_S). (On a
    # machine starved of CPU the lease may have moved once while the second node started, so
    # the follower's earlier sweeps are the baseline.)
    before = follower.metrics()
    deadline = time.monotonic() + 2 * LEASE_S
    while time.monotonic() < deadline:
        assert follower.metrics() == {**before, "leader": 0}
        time.sleep(0.3)
    swept = leader.metrics()
    assert swept["leader"] == 1
    assert swept["retention"] == 1
    # Assembly at once when leading, then every ASSEMBLY_SWEEP_S.
    assert 1 <= swept["assembly"] <= 1 + (time.monotonic() - leader.started) // ASSEMBLY_SWEEP_S

    leader.process.send_signal(signal.SIGKILL)
    leader.process.wait(10)
    took = wait_for(lambda: follower.metrics()["leader"] == 1, "the follower leads", TAKEOVER_S)
    after = {"leader": 1, **{sweep: before.get(sweep, 0) + 1 for sweep in SWEEPS}}
    wait_for(lambda: follower.metrics() == after, "it sweeps", 5)
    time.sleep(2)
    assert follower.metrics() == after  # once: the next sweeps are a period away
    print(f"took over {took:.1f} s after the kill (lease {LEASE_S} s)")
