"""In-process publish/subscribe: the single-machine event bus.

Subscribers get a bounded queue each. A subscriber that falls behind (a proctor on a slow
link) loses its oldest messages, counted in ``dropped``, instead of slowing everyone else.
Publishing is safe from any thread: request handlers run in a thread pool.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

Message = dict[str, Any] | bytes
# What may be published: a message, or a typed one (the TypedDicts of live/messages.py).
Outgoing = Mapping[str, Any] | bytes

SUBSCRIBER_QUEUE = 512


class Subscription:
    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.queue: asyncio.Queue[Message] = asyncio.Queue(SUBSCRIBER_QUEUE)
        self.dropped = 0

    def deliver(self, message: Message) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(message)

    async def get(self) -> Message:
        return await self.queue.get()


class LocalBus:
    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscription]] = defaultdict(set)
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    async def close(self) -> None:
        """Nothing to release: subscriptions end with their context managers."""

    def publish(self, topic: str, *outgoing: Outgoing) -> None:
        """Delivers messages in order to every subscriber of the topic, from any thread."""
        loop = self._loop
        if loop is None:
            return
        messages = tuple(m if isinstance(m, bytes) else dict(m) for m in outgoing)
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._deliver(topic, messages)
        else:
            loop.call_soon_threadsafe(self._deliver, topic, messages)

    def _deliver(self, topic: str, messages: tuple[Message, ...]) -> None:
        for subscription in list(self._subscribers.get(topic, ())):
            for message in messages:
                subscription.deliver(message)

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[Subscription]:
        subscription = Subscription(topic)
        self._subscribers[topic].add(subscription)
        try:
            yield subscription
        finally:
            self._subscribers[topic].discard(subscription)
            if not self._subscribers[topic]:
                del self._subscribers[topic]


def exam_topic(exam_id: object) -> str:
    return f"exam:{exam_id}"


def session_topic(session_id: object) -> str:
    return f"session:{session_id}"


def staff_topic(user_id: object) -> str:
    return f"staff:{user_id}"
