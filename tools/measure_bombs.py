"""What a decompression-bomb frame costs the server, and what it does to another candidate.

Starts a fresh `openproctor serve` (SQLite, one analysis worker, real models) as `openproctor
loadtest` does, with an exam of two candidates, then:

1. cost: sends --bombs frames whose JPEG header declares 30000x30000 (about 630 bytes each),
   each on its own candidate socket, and as many sockets that send nothing; reports the server
   process tree's CPU time per connection of each kind (whole connection: handshake, invite
   check, hello, the frame; CPU time is counted in 10 ms ticks, so many connections), and the
   peak growth of its memory (RSS, sampled every 20 ms);
2. bystander: --rounds times, alternately without and with an attacker (one bomb a second,
   reconnecting whenever the server closes the socket), one candidate streams real frames at
   --fps for --duration seconds; reports that candidate's analysed frames per second, from
   the server's own counters.

    PYTHONPATH=src python tools/measure_bombs.py --models ~/.local/share/openproctor/models

The server runs the openproctor on PYTHONPATH, so the same script measures any version.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from openproctor.live.protocol import MediaKind, pack_media
from openproctor.loadtest import (
    Candidate,
    ProcessTree,
    Results,
    Target,
    _login,
    frame_variants,
    local_server,
    run_candidate,
    setup,
)


def bomb(width: int = 30000, height: int = 30000) -> bytes:
    small = bytes(cv2.imencode(".jpg", np.full((8, 8, 3), 128, np.uint8))[1])
    at = small.index(b"\xff\xc0") + 5
    return small[:at] + height.to_bytes(2, "big") + width.to_bytes(2, "big") + small[at + 4 :]


def ws(target: Target, person: Candidate) -> str:
    return target.base_url.replace("http", "ws", 1) + f"/ws/take/{person.token}"


async def counters(target: Target, exam_id: str) -> dict[str, dict[str, int]]:
    """Each candidate's frame counters as the proctor wall's snapshot gives them."""
    async with httpx.AsyncClient(base_url=target.base_url) as http:
        await _login(http, target.admin_email, target.admin_password)
        cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
    url = target.base_url.replace("http", "ws", 1) + f"/ws/proctor/exams/{exam_id}"
    async with connect(url, additional_headers={"Cookie": cookie}, max_size=2**24) as socket:
        snapshot = json.loads(await socket.recv())
    return {row["session_id"]: row["frames"] for row in snapshot["candidates"]}


async def one_connection(url: str, payload: bytes | None, seq: int) -> str:
    """Connects, sends payload (if any) and waits up to 2 s for the server to close."""
    async with connect(url, max_size=2**22) as socket:
        await socket.recv()  # hello
        if payload is None:
            return "sent nothing"
        await socket.send(pack_media(MediaKind.FRAME, seq, time.time() * 1000, payload))
        try:
            while True:
                await asyncio.wait_for(socket.recv(), 2)
        except ConnectionClosed as closed:
            frame = closed.rcvd
            return f"closed {frame.code} {frame.reason!r}" if frame else "closed"
        except TimeoutError:
            return "still open after 2 s"


async def peak_rss(tree: ProcessTree, done: asyncio.Event) -> float:
    peak = tree.rss_mb()
    while not done.is_set():
        peak = max(peak, tree.rss_mb())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), 0.02)
    return peak


async def cost(target: Target, person: Candidate, count: int, settle_s: float) -> dict[str, Any]:
    tree = ProcessTree(target.process.pid)  # type: ignore[union-attr]
    url = ws(target, person)
    results: dict[str, Any] = {}
    for label, payload in (("plain", None), ("bomb", bomb())):
        await asyncio.sleep(settle_s)
        rss_before, cpu_before = tree.rss_mb(), tree.cpu_seconds()
        done = asyncio.Event()
        sampler = asyncio.create_task(peak_rss(tree, done))
        outcomes = [await one_connection(url, payload, seq) for seq in range(count)]
        await asyncio.sleep(settle_s)  # let the workers finish whatever the frames started
        done.set()
        peak = await sampler
        cpu = tree.cpu_seconds() - cpu_before
        results[label] = {
            "connections": count,
            "cpu_s": round(cpu, 3),
            "cpu_ms_per_connection": round(1000 * cpu / count, 1),
            "rss_before_mb": rss_before,
            "rss_peak_growth_mb": round(peak - rss_before, 1),
            "outcome": sorted(set(outcomes)),
        }
    return results


async def attacker(target: Target, person: Candidate, stop: asyncio.Event) -> int:
    """One bomb a second, on the same socket while the server keeps it open."""
    sent = seq = 0
    frame = bomb()
    while not stop.is_set():
        with contextlib.suppress(ConnectionClosed, OSError):
            async with connect(ws(target, person), max_size=2**22) as socket:
                await socket.recv()
                while not stop.is_set():
                    await socket.send(pack_media(MediaKind.FRAME, seq, time.time() * 1000, frame))
                    sent, seq = sent + 1, seq + 1
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), 1.0)
        await asyncio.sleep(0.05)
    return sent


async def bystander_round(
    target: Target,
    exam_id: str,
    people: list[Candidate],
    attacked: bool,
    args: argparse.Namespace,
    scenes: dict[str, list[bytes]],
    debounce: dict[str, float],
) -> dict[str, Any]:
    calm, evil = people
    before = (await counters(target, exam_id))[calm.session_id]
    stop = asyncio.Event()
    attack = asyncio.create_task(attacker(target, evil, stop)) if attacked else None
    results = Results(candidates=1)
    started = time.monotonic()
    await run_candidate(
        target.base_url, calm, args.fps, args.duration, scenes, results, debounce, True
    )
    stop.set()
    bombs = await attack if attack else 0
    await asyncio.sleep(3)  # the last frames are analysed
    after = (await counters(target, exam_id))[calm.session_id]
    elapsed = time.monotonic() - started
    analysed = after["analysed"] - before["analysed"]
    return {
        "attacker": attacked,
        "bombs_sent": bombs,
        "frames_sent": results.frames_sent,
        "analysed": analysed,
        "skipped": after["skipped"] - before["skipped"],
        "analysed_per_s": round(analysed / args.duration, 2),
        "seconds": round(elapsed, 1),
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    scenes = frame_variants()
    # One scene only: the bystander streams the one-face scene the whole time.
    scenes = {"one": scenes["one"], "two": scenes["one"], "none": scenes["one"]}
    async with local_server(args.models, workers=args.workers) as target:
        exam_id, people, _, debounce = await setup(target, 2, 0, 3600, args.fps, scenes)
        report: dict[str, Any] = {"cost": await cost(target, people[1], args.bombs, args.settle)}
        rounds = []
        for index in range(2 * args.rounds):
            round_ = await bystander_round(
                target, exam_id, people, index % 2 == 1, args, scenes, debounce
            )
            print(json.dumps(round_), flush=True)
            rounds.append(round_)
        report["bystander"] = rounds
        for attacked in (False, True):
            rates = [r["analysed_per_s"] for r in rounds if r["attacker"] is attacked]
            report[f"mean_analysed_per_s_{'with' if attacked else 'without'}_attacker"] = round(
                sum(rates) / len(rates), 3
            )
        return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=Path, required=True, help="an installed models dir")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--bombs", type=int, default=20)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds after the bombs")
    parser.add_argument("--rounds", type=int, default=3, help="pairs of without/with runs")
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--fps", type=float, default=2.0)
    print(json.dumps(asyncio.run(main(parser.parse_args())), indent=2))
