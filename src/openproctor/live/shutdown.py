"""The hub's shutdown steps, each given STOP_WAIT_S: a stuck task or a dead Redis must not
keep the server from stopping."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)

STOP_WAIT_S = 5.0  # how long shutdown waits for each of its steps


async def settle(tasks: set[asyncio.Task[Any]]) -> None:
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=STOP_WAIT_S)
    for task in pending:
        log.warning("still running %.0f s into shutdown, cancelled: %r", STOP_WAIT_S, task)
        task.cancel()


async def bounded(what: str, closing: Coroutine[Any, Any, None]) -> None:
    try:
        await asyncio.wait_for(closing, STOP_WAIT_S)
    except TimeoutError:
        log.warning("closing %s took longer than %.0f s; shutdown goes on", what, STOP_WAIT_S)
