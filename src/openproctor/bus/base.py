"""What the live loop needs from an event bus: in-process (local.py) or Redis (redis.py)."""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from openproctor.bus.local import Outgoing, Subscription


class EventBus(Protocol):
    def bind(self, loop: asyncio.AbstractEventLoop) -> None: ...

    async def close(self) -> None: ...

    def publish(self, topic: str, *messages: Outgoing) -> None: ...

    def subscribe(self, topic: str) -> AbstractAsyncContextManager[Subscription]: ...
