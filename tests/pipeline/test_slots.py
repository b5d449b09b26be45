"""Room at a worker goes to urgent sessions first, and a cancelled waiter never keeps it."""

from __future__ import annotations

import asyncio

from openproctor.pipeline.slots import Slots


def test_urgent_waiters_go_first_and_each_queue_keeps_its_order() -> None:
    async def scenario() -> list[str]:
        slots = Slots(1)
        order: list[str] = []
        release = asyncio.Event()

        async def job(name: str, urgent: bool) -> None:
            async with slots.held(urgent=urgent):
                order.append(name)
                if name == "first":
                    await release.wait()

        first = asyncio.create_task(job("first", False))
        await asyncio.sleep(0)
        waiting = [
            asyncio.create_task(job(name, urgent))
            for name, urgent in (("a", False), ("b", False), ("watched", True), ("c", False))
        ]
        await asyncio.sleep(0)
        assert slots.waiting == 4
        release.set()
        await asyncio.gather(first, *waiting)
        assert slots.waiting == 0
        return order

    assert asyncio.run(scenario()) == ["first", "watched", "a", "b", "c"]


def test_a_cancelled_waiter_gives_its_turn_back() -> None:
    async def scenario() -> None:
        slots = Slots(1)
        async with slots.held():
            gone = asyncio.create_task(slots.held().__aenter__())
            await asyncio.sleep(0)
            gone.cancel()
            await asyncio.sleep(0)
            assert slots.waiting == 0
        # The room is free again: taking it does not wait.
        async with asyncio.timeout(1), slots.held(urgent=True):
            assert slots.waiting == 0

    asyncio.run(scenario())
