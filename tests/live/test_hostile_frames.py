"""Hostile frames on a real server: a decompression bomb is refused from its header, counted and
its socket closed, while another candidate's socket carries on; nor is it decoded for evidence."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import cv2
import numpy as np
from websockets.asyncio.client import connect

from openproctor.domains.candidates.models import Candidate
from openproctor.domains.users.models import Role
from openproctor.live.evidence import annotate
from openproctor.live.protocol import CloseCode, MediaKind, pack_media
from tests.conftest import Factory
from tests.hostile_images import jpeg_declaring
from tests.live.clients import ONE_FACE, Proctor, close_of, proctor_socket, running_session, ws_url


def test_a_decompression_bomb_frame_is_refused_counted_and_closed(
    live_server: str, factory: Factory
) -> None:
    proctor_user = factory.user(Role.PROCTOR)
    exam = factory.exam()
    attacker = factory.candidate(exam, proctor_user, name="Mallory")
    bystander = factory.candidate(exam, proctor_user, name="Cleo")
    running_session(factory, attacker)
    running_session(factory, bystander)
    proctor = Proctor(live_server, proctor_user)

    def url(candidate: Candidate) -> str:
        return ws_url(live_server, f"/ws/take/{candidate.invite_token}")

    def frames_of(name: str, **counts: int) -> Any:
        def match(event: dict[str, Any]) -> bool:
            row = event.get("candidate", {})
            frames = row.get("frames", {})
            return bool(
                event["type"] == "candidate"
                and row["name"] == name
                and not row["connected"]
                and all(frames[key] == value for key, value in counts.items())
            )

        return match

    async def send_one(frame: bytes) -> tuple[int, str]:
        async with connect(url(attacker)) as socket:
            hello = json.loads(await socket.recv())
            assert (hello["width"], hello["height"]) == (640, 480)
            await socket.send(pack_media(MediaKind.FRAME, 0, 1.0, frame))
            return await close_of(socket)

    async def scenario() -> None:
        async with proctor_socket(proctor, exam.id):
            await proctor.wait_for(lambda e: e["type"] == "snapshot")
            async with connect(url(bystander)) as calm:
                await calm.recv()  # hello
                await calm.send(pack_media(MediaKind.FRAME, 0, 1.0, ONE_FACE))

                bomb = jpeg_declaring(30000, 30000)
                assert len(bomb) < 1024
                assert await send_one(bomb) == (
                    CloseCode.TOO_LARGE,
                    "frame refused: the image declares 30000x30000 pixels; "
                    "at most 640x480 is accepted",
                )
                await proctor.wait_for(frames_of("Mallory", received=0, rejected=1))
                # A header that cannot be read is refused too, as a bad message.
                assert await send_one(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200) == (
                    CloseCode.BAD_MESSAGE,
                    "frame refused: the JPEG header is truncated or damaged",
                )
                await proctor.wait_for(frames_of("Mallory", received=0, rejected=2))

                # The bystander's socket never noticed; its portrait frame (362x640) fits the
                # 640x480 policy the other way round and is taken like the first.
                await calm.send(pack_media(MediaKind.FRAME, 1, 2.0, ONE_FACE))
                await calm.ping()
            await proctor.wait_for(frames_of("Cleo", received=2, rejected=0))

    asyncio.run(scenario())


def test_evidence_is_not_decoded_again_when_it_exceeds_the_cap() -> None:
    # Larger than STILL_LIMIT, small enough that the landed code decoded it quickly.
    bomb = jpeg_declaring(4000, 4000)
    assert annotate(bomb, [(1.0, 1.0, 5.0, 5.0)], []) == bomb  # kept as it came, undrawn
    frame = cv2.imencode(".jpg", np.full((480, 640, 3), 90, np.uint8))[1].tobytes()
    assert annotate(frame, [(10.0, 10.0, 50.0, 50.0)], []) != frame  # boxes drawn
