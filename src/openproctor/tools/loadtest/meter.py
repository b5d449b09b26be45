"""What the server under test used during a run: CPU time and memory of its processes (the
web node and the analysis workers), and the load on its PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path
from typing import Any

from openproctor.tools.loadtest.backends import (
    PG_STATS_FLUSH_S,
    DatabaseSnapshot,
    RedisSnapshot,
    database_load,
    database_snapshot,
    redis_load,
    redis_snapshot,
)
from openproctor.tools.loadtest.server import Target

TICKS = os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """The process `pid` first, then its children and theirs."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        pid = queue.pop()
        found.append(pid)
        queue += children.get(pid, [])
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time of these processes so far."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / TICKS


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return round(total / 1024, 1)


def _is_pool_worker(pid: int) -> bool:
    """An analysis worker the server spawned (multiprocessing), not its resource tracker."""
    with contextlib.suppress(OSError):
        return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    return False


class ServerMeter:
    """Between start() and finish(): the CPU time of the web node and of each analysis worker
    (in CPU time, so other load on the machine does not count), their memory at both ends, and
    the database's and Redis's counters when they are PostgreSQL and Redis."""

    def __init__(self, target: Target, *, stats_flush_s: float = PG_STATS_FLUSH_S) -> None:
        assert target.process is not None
        self.stats_flush_s = stats_flush_s
        self.web_pid = target.process.pid
        self.worker_pids = [worker.pid for worker in target.workers]
        self.database_url = target.database_url
        self.redis_url = target.redis_url
        self.cpu_before = (0.0, 0.0)
        self.wall_before = 0.0
        self.memory_start: dict[str, Any] = {}
        self.database_before: DatabaseSnapshot | None = None
        self.redis_before: RedisSnapshot | None = None

    def _groups(self) -> tuple[list[int], list[list[int]]]:
        """The web node's own pid, and each analysis worker's pids."""
        if self.worker_pids:
            return [self.web_pid], [descendants(pid) for pid in self.worker_pids]
        children = descendants(self.web_pid)[1:]
        return [self.web_pid], [[pid] for pid in children if _is_pool_worker(pid)]

    def _cpu(self) -> tuple[float, float]:
        web, workers = self._groups()
        return cpu_seconds(web), sum(cpu_seconds(pids) for pids in workers)

    def memory(self) -> dict[str, Any]:
        """RSS in MB of the web node and of each analysis worker."""
        web, workers = self._groups()
        return {"web": rss_mb(web), "workers": [rss_mb(pids) for pids in workers]}

    async def start(self) -> None:
        self.memory_start = self.memory()
        self.cpu_before, self.wall_before = self._cpu(), time.time()
        if self.database_url and self.database_url.startswith("postgresql"):
            self.database_before = await asyncio.to_thread(database_snapshot, self.database_url)
        if self.redis_url:
            self.redis_before = await asyncio.to_thread(redis_snapshot, self.redis_url)

    async def finish(self, *, candidates: int, streamed_s: float) -> dict[str, Any]:
        """`streamed_s`: how long the candidates streamed (rates per second are over it)."""
        wall = time.time() - self.wall_before
        web_cpu, workers_cpu = (b - a for a, b in zip(self.cpu_before, self._cpu(), strict=True))
        cpu = web_cpu + workers_cpu
        memory_end = self.memory()
        server: dict[str, Any] = {
            "cpu_percent": round(100 * cpu / wall, 1),
            "cpu_percent_per_candidate": round(100 * cpu / wall / max(1, candidates), 2),
            "web_cpu_percent": round(100 * web_cpu / wall, 1),
            "workers_cpu_percent": round(100 * workers_cpu / wall, 1),
            # The server's CPU time for the run over the candidate-seconds streamed.
            "cpu_ms_per_candidate_second": round(1000 * cpu / (candidates * streamed_s), 2),
            "web_cpu_ms_per_candidate_second": round(1000 * web_cpu / (candidates * streamed_s), 2),
            "workers_cpu_ms_per_candidate_second": round(
                1000 * workers_cpu / (candidates * streamed_s), 2
            ),
            "rss_mb": round(memory_end["web"] + sum(memory_end["workers"]), 1),
            "memory_mb": {"start": self.memory_start, "end": memory_end},
            "cores": os.cpu_count(),
        }
        if self.database_before is not None and self.database_url:
            await asyncio.sleep(self.stats_flush_s)
            after = await asyncio.to_thread(database_snapshot, self.database_url)
            server["database"] = database_load(
                self.database_before, after, seconds=streamed_s, candidates=candidates
            )
        if self.redis_before is not None and self.redis_url:
            after_redis = await asyncio.to_thread(redis_snapshot, self.redis_url)
            server["redis"] = redis_load(self.redis_before, after_redis, seconds=streamed_s)
        return server
