"""Hearing what a flow told the live hub: a real subscription on the running app's bus, made
on the app's event loop through the TestClient's portal."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from openproctor.bus.local import Subscription
from openproctor.live import messages
from openproctor.live.hub import LiveHub

QUIET = {"type": "test_marker"}
LOAD = messages.load(factor=1.0, fps=None, deferring=False)["type"]
ALIVE = "alive"  # a node's heartbeat on the hub topic (live/registry.py)


@dataclass
class Listener:
    client: TestClient
    hub: LiveHub
    subscription: Subscription

    def next(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next message on the topic; fails the test if none comes within the timeout.
        Passes over the messages a clock sends rather than the flow under test: the load
        shedder's (they follow how busy the machine is) and the nodes' heartbeats."""
        assert self.client.portal is not None
        while True:
            message = self.client.portal.call(asyncio.wait_for, self.subscription.get(), timeout)
            assert isinstance(message, dict), message
            if message.get("type") != LOAD and message.get("event") != ALIVE:
                return message

    def next_matching(
        self, match: Callable[[dict[str, Any]], bool], timeout: float = 5.0
    ) -> dict[str, Any]:
        """The next message that matches, passing over the others: a wall's topic also hears
        tile refreshes whose timing follows the machine's load (analysis status ageing)."""
        while not match(message := self.next(timeout)):
            pass
        return message

    def assert_silent(self, match: Callable[[dict[str, Any]], bool] = lambda _: True) -> None:
        """Nothing (that matches) was published before this call: a marker published now
        arrives before any such message."""
        self.hub.bus.publish(self.subscription.topic, QUIET)
        while (message := self.next()) != QUIET:
            assert not match(message), message


@contextmanager
def listening(client: TestClient, topic: str) -> Iterator[Listener]:
    hub: LiveHub = client.app.state.context.hub  # type: ignore[attr-defined]
    assert client.portal is not None
    with client.portal.wrap_async_context_manager(hub.bus.subscribe(topic)) as subscription:
        yield Listener(client, hub, subscription)
