"""Redis pub/sub as the event bus, so that a proctor on one web node sees candidates on another.

Same interface as the in-process bus. Messages are JSON; the one binary field the live loop
sends (a JPEG under "jpeg") travels base64-encoded. One connection publishes, in order; one
reader connection receives every subscribed topic and hands messages to local subscribers.
A lost connection is retried until Redis is back, and topics are subscribed again.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from openproctor.bus.local import Message, Outgoing, Subscription

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "openproctor:"
RETRY_S = 0.5
SUBSCRIBE_WAIT_S = 2.0
CLOSE_WAIT_S = 2.0


def encode(message: Outgoing) -> bytes:
    if isinstance(message, bytes):
        return json.dumps({"__bytes__": base64.b64encode(message).decode()}).encode()
    body = dict(message)
    if isinstance(body.get("jpeg"), bytes):
        body["jpeg"] = {"__bytes__": base64.b64encode(body["jpeg"]).decode()}
    return json.dumps(body, separators=(",", ":")).encode()


def decode(raw: bytes) -> Message:
    body: dict[str, Any] = json.loads(raw)
    if "__bytes__" in body:
        return base64.b64decode(body["__bytes__"])
    jpeg = body.get("jpeg")
    if isinstance(jpeg, dict) and "__bytes__" in jpeg:
        body["jpeg"] = base64.b64decode(jpeg["__bytes__"])
    return body


class RedisBus:
    def __init__(self, url: str) -> None:
        self.url = url
        self._subscribers: dict[str, set[Subscription]] = defaultdict(set)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._outbox: asyncio.Queue[tuple[str, bytes]] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._pubsub_changed = asyncio.Event()
        # Set once Redis confirmed the subscription, so nothing published after it is missed.
        self._active: dict[str, asyncio.Event] = {}

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._outbox = asyncio.Queue()
        self._pubsub_changed = asyncio.Event()
        self._tasks = [loop.create_task(self._publisher()), loop.create_task(self._reader())]

    async def close(self) -> None:
        """Stops the publisher and the reader. Bounded: closing a connection cut mid-read can
        wait on a socket that never answers, and a node's shutdown must not hang on it."""
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _, stuck = await asyncio.wait(self._tasks, timeout=CLOSE_WAIT_S)
            if stuck:
                log.warning("redis bus: %d connection(s) did not close in time", len(stuck))

    def publish(self, topic: str, *messages: Outgoing) -> None:
        """Queues messages for Redis, in order, from any thread."""
        loop, outbox = self._loop, self._outbox
        if loop is None or outbox is None:
            return
        items = [(CHANNEL_PREFIX + topic, encode(message)) for message in messages]
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            for item in items:
                outbox.put_nowait(item)
        else:
            for item in items:
                loop.call_soon_threadsafe(outbox.put_nowait, item)

    async def _publisher(self) -> None:
        assert self._outbox is not None
        client = aioredis.from_url(self.url)
        pending: tuple[str, bytes] | None = None
        try:
            while True:
                if pending is None:
                    pending = await self._outbox.get()
                try:
                    await client.publish(*pending)
                    pending = None
                except (RedisError, OSError) as error:
                    log.warning("redis publish failed (%s); retrying", error)
                    await asyncio.sleep(RETRY_S)
        finally:
            await client.aclose()

    async def _reader(self) -> None:
        while True:
            client = aioredis.from_url(self.url)
            pubsub = client.pubsub()
            try:
                subscribed: set[str] = set()
                while True:
                    wanted = {CHANNEL_PREFIX + topic for topic in self._subscribers}
                    if wanted - subscribed:
                        await pubsub.subscribe(*(wanted - subscribed))
                        for channel in wanted - subscribed:
                            topic = channel.removeprefix(CHANNEL_PREFIX)
                            self._active.setdefault(topic, asyncio.Event()).set()
                    if subscribed - wanted:
                        await pubsub.unsubscribe(*(subscribed - wanted))
                    subscribed = wanted
                    self._pubsub_changed.clear()
                    if not subscribed:
                        await self._pubsub_changed.wait()
                        continue
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
                    if message is None or message["type"] != "message":
                        continue
                    topic = message["channel"].decode().removeprefix(CHANNEL_PREFIX)
                    decoded = decode(message["data"])
                    for subscription in list(self._subscribers.get(topic, ())):
                        subscription.deliver(decoded)
            except (RedisError, OSError) as error:
                log.warning("redis subscription lost (%s); reconnecting", error)
                for event in self._active.values():
                    event.clear()
                await asyncio.sleep(RETRY_S)
            finally:
                await pubsub.aclose()  # type: ignore[no-untyped-call]
                await client.aclose()

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[Subscription]:
        subscription = Subscription(topic)
        self._subscribers[topic].add(subscription)
        self._pubsub_changed.set()
        active = self._active.setdefault(topic, asyncio.Event())
        try:
            # Wait (briefly: Redis may be restarting) until the topic is live at Redis.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(active.wait(), SUBSCRIBE_WAIT_S)
            yield subscription
        finally:
            self._subscribers[topic].discard(subscription)
            if not self._subscribers[topic]:
                del self._subscribers[topic]
                self._active.pop(topic, None)
            self._pubsub_changed.set()
