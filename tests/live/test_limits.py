"""Socket budgets on a real server (live/limits.py): a signal flood closes with 4429 while a
bystander's frames and signals are handled as before, a proctor's flood of watch messages
closes too, a candidate cannot open sockets as fast as it likes, and one staff account holds
a bounded number of sockets."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from openproctor.domains.candidates.models import Candidate
from openproctor.domains.users.models import Role
from openproctor.live.limits import OPEN_BURST, OPENS_PER_S, SIGNAL_BURST
from openproctor.live.protocol import CloseCode, MediaKind, pack_media
from openproctor.settings import Settings
from tests.conftest import Factory, serving
from tests.live.clients import (
    ONE_FACE,
    Proctor,
    close_of,
    opened,
    proctor_socket,
    running_session,
    ws_url,
)

# Far above any budget: the landed code took 200k-750k signals in 10 s and never closed.
FLOOD_MESSAGES = 20 * int(SIGNAL_BURST)
SIGNAL = json.dumps({"type": "signal", "name": "window_blur", "ts": 1})


async def _flood(socket: ClientConnection, message: str | bytes) -> tuple[int, str, float]:
    """Sends FLOOD_MESSAGES at once (or until the server closes); the close and how long after
    the first message it came."""
    started = time.monotonic()
    with contextlib.suppress(ConnectionClosed):
        for _ in range(FLOOD_MESSAGES):
            await socket.send(message)
    try:
        code, reason = await close_of(socket, timeout=5)
    except TimeoutError:
        raise AssertionError(f"still open 5 s after a flood of {FLOOD_MESSAGES}") from None
    return code, reason, time.monotonic() - started


async def _snapshot_row(proctor: Proctor, exam_id: Any, candidate: Candidate) -> dict[str, Any]:
    """The candidate's wall row as a newly opened wall gets it (with the live counters)."""
    proctor.events = []
    async with proctor_socket(proctor, exam_id):
        snapshot = await proctor.wait_for(lambda e: e["type"] == "snapshot")
    rows = {row["candidate_id"]: row for row in snapshot["candidates"]}
    row: dict[str, Any] = rows[str(candidate.id)]
    return row


async def _stream_for(socket: ClientConnection, seconds: float, seq: int) -> int:
    """A bystander's camera: one frame every 0.5 s; returns the next sequence number."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        await socket.send(pack_media(MediaKind.FRAME, seq, time.time() * 1000, ONE_FACE))
        seq += 1
        await asyncio.sleep(0.5)
    return seq


@pytest.mark.analysis
def test_a_signal_flood_closes_with_4429_and_the_bystander_is_analysed_as_before(
    live_server: str, factory: Factory
) -> None:
    proctor_user = factory.user(Role.PROCTOR)
    exam = factory.exam()
    attacker = factory.candidate(exam, proctor_user, name="Mallory")
    bystander = factory.candidate(exam, proctor_user, name="Cleo")
    running_session(factory, attacker)
    running_session(factory, bystander)
    proctor = Proctor(live_server, proctor_user)
    phase_s = 6.0

    async def attack(until: float) -> list[tuple[int, str, float]]:
        """Floods, and reconnects to flood again, until `until`: how each socket closed."""
        closes = []
        url = ws_url(live_server, f"/ws/take/{attacker.invite_token}")
        while time.monotonic() < until:
            async with connect(url) as socket:
                closes.append(await _flood(socket, SIGNAL))
        return closes

    async def scenario() -> None:
        url = ws_url(live_server, f"/ws/take/{bystander.invite_token}")
        async with connect(url) as calm:
            await calm.recv()  # hello
            # The bystander alone, then the same again while the attacker floods.
            seq = await _stream_for(calm, phase_s, 0)
            await asyncio.sleep(1.0)  # the last frame's analysis
            alone = (await _snapshot_row(proctor, exam.id, bystander))["frames"]
            async with proctor_socket(proctor, exam.id):
                await proctor.wait_for(lambda e: e["type"] == "snapshot")
                flooding = asyncio.create_task(attack(time.monotonic() + phase_s))
                await asyncio.sleep(0.5)
                await calm.send(json.dumps({"type": "signal", "name": "tab_hidden", "ts": 2}))
                started = time.monotonic()
                event = await proctor.wait_for(
                    lambda e: (
                        opened("tab_switch")(e)
                        and e["violation"]["candidate_id"] == str(bystander.id)
                    )
                )
                signal_latency = time.monotonic() - started
                assert event["violation"]["detections"] == ["tab"]
                sent_alone = seq
                seq = await _stream_for(calm, phase_s - 0.5, seq)
                sent_during = seq - sent_alone
                closes = await flooding
            await asyncio.sleep(1.0)
            during = (await _snapshot_row(proctor, exam.id, bystander))["frames"]

        assert closes[0][:2] == (CloseCode.FLOODING, "too many signals: slow down")
        # Reconnecting does not refill the session's budget: each new socket closes too, and
        # soon the candidate may not even open one.
        assert {code for code, _, _ in closes} == {CloseCode.FLOODING}
        assert "reconnecting too fast: wait a few seconds" in {reason for _, reason, _ in closes}
        share_alone = alone["analysed"] / sent_alone
        share_during = (during["analysed"] - alone["analysed"]) / sent_during
        print(
            f"attacker: {len(closes)} sockets, the first closed {closes[0][2]:.2f} s into its "
            f"flood of {FLOOD_MESSAGES} signals; bystander frames analysed: "
            f"{alone['analysed']}/{sent_alone} alone, {during['analysed'] - alone['analysed']}/"
            f"{sent_during} during the flood; its tab_switch reached the wall in "
            f"{signal_latency:.2f} s"
        )
        assert share_alone >= 0.9
        assert share_during >= share_alone - 0.1  # within 10 % of a quiet run
        assert signal_latency < 2.0
        assert during["rejected"] == 0

    asyncio.run(scenario())


def test_a_proctor_flooding_watch_messages_is_closed_with_4429(
    live_server: str, factory: Factory
) -> None:
    proctor_user = factory.user(Role.PROCTOR)
    exam = factory.exam()
    factory.candidate(exam, proctor_user)
    proctor = Proctor(live_server, proctor_user)

    async def scenario() -> None:
        async with proctor_socket(proctor, exam.id) as watching:
            await watching.wait_for(lambda e: e["type"] == "snapshot")
            assert watching.socket is not None
            watch = json.dumps({"type": "watch", "session_id": None})
            code, reason, _ = await _flood(watching.socket, watch)
        assert (code, reason) == (CloseCode.FLOODING, "too many messages: slow down")

    asyncio.run(scenario())


def test_a_candidate_opening_sockets_too_fast_is_refused_and_may_come_back_later(
    live_server: str, factory: Factory
) -> None:
    exam = factory.exam()
    candidate = factory.candidate(exam)
    running_session(factory, candidate)
    url = ws_url(live_server, f"/ws/take/{candidate.invite_token}")

    async def opens() -> tuple[int, str] | None:
        """Opens a socket; None if it said hello, else the code and reason it was closed with."""
        async with connect(url) as socket:
            try:
                hello = json.loads(await asyncio.wait_for(socket.recv(), 5))
            except ConnectionClosed:
                return await close_of(socket)
            assert hello["type"] == "hello"
            return None

    async def scenario() -> None:
        started = time.monotonic()
        accepted = 0
        while (refused := await opens()) is None and accepted < 3 * OPEN_BURST:
            accepted += 1
        assert refused == (CloseCode.FLOODING, "reconnecting too fast: wait a few seconds")
        # The burst (reloads, a flaky link) is fine, then about one every 1/OPENS_PER_S s.
        refilled = (time.monotonic() - started) * OPENS_PER_S
        assert OPEN_BURST <= accepted <= OPEN_BURST + refilled + 1
        await asyncio.sleep(1 / OPENS_PER_S + 0.5)  # the page's back-off: one more may open
        assert await opens() is None

    asyncio.run(scenario())


def test_one_staff_account_holds_at_most_the_set_number_of_sockets(
    settings: Settings, factory: Factory
) -> None:
    proctor_user = factory.user(Role.PROCTOR)
    exam = factory.exam()
    factory.candidate(exam, proctor_user)
    capped = settings.model_copy(update={"staff_sockets_per_user": 3})

    async def wall(base_url: str, proctor: Proctor) -> ClientConnection:
        socket = await connect(
            ws_url(base_url, f"/ws/proctor/exams/{exam.id}"),
            additional_headers={"Cookie": proctor.cookie_header},
        )
        return socket

    async def scenario(base_url: str) -> None:
        proctor = Proctor(base_url, proctor_user)
        walls = [await wall(base_url, proctor) for _ in range(3)]
        try:
            for socket in walls:
                assert json.loads(await socket.recv())["type"] == "snapshot"
            walls.append(await wall(base_url, proctor))
            try:
                code, reason = await close_of(walls[-1], 5)
            except TimeoutError:
                raise AssertionError("a fourth socket of the account was let in") from None
            assert (code, reason) == (
                CloseCode.TOO_MANY_SOCKETS,
                "this account has 3 live pages open already: close one",
            )
            await walls.pop(0).close()
            await asyncio.sleep(0.2)  # the server hears the close
            walls.append(await wall(base_url, proctor))  # a closed one frees its place
            assert json.loads(await walls[-1].recv())["type"] == "snapshot"
        finally:
            for socket in walls:
                await socket.close()

    with serving(capped) as base_url:
        asyncio.run(scenario(base_url))
