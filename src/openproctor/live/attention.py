"""The attention score of each live session (rules/attention.py), on the wall and in the
session's record, and the overlay of the watched candidate's detail view.

    on_frame (every analysed frame, memory only) -> the session's window of glances
      -> the tile, when the label changes or the score moves by TILE_STEP (tick, every
         second, checks this too, so a score without frames runs out)
      -> an "analysis" message, while a proctor watches the candidate
      -> a sample every SAMPLE_S, kept until BATCH of them are written in one go
    flush (the session ended, was forgotten, or the server stops) -> the rest is written

Samples are written on the hub's writer thread, off the frame path, like violations.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from openproctor.bus.base import EventBus
from openproctor.bus.local import exam_topic
from openproctor.detectors.detections import Detections
from openproctor.domains.attention import service
from openproctor.domains.attention.models import AttentionSample
from openproctor.live import messages
from openproctor.live.registry import Registry
from openproctor.live.runtime import Frame, SessionRuntime
from openproctor.pipeline.jobs import FrameOutcome
from openproctor.rules.attention import Attention, glance

log = logging.getLogger(__name__)
SAMPLE_S = 5.0  # one sample of a running session's score every this many seconds
BATCH = 12  # samples a session collects before they are written (a minute's worth)
TILE_STEP = 5  # the tile follows the score in steps of this much (and every label change)

Spawn = Callable[[Coroutine[Any, Any, None]], "asyncio.Task[None]"]


class AttentionFlow:
    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        bus: EventBus,
        registry: Registry,
        writer: ThreadPoolExecutor,
        spawn: Spawn,
    ) -> None:
        self.session_factory = session_factory
        self.bus = bus
        self.registry = registry
        self.writer = writer
        self.spawn = spawn
        self._samples: dict[uuid.UUID, list[AttentionSample]] = {}
        self._sampled_at: dict[uuid.UUID, float] = {}
        self._on_tile: dict[uuid.UUID, Attention | None] = {}
        # The newest object pass of each session, and its frame's capture time (ms).
        self._objects: dict[uuid.UUID, tuple[Detections, float]] = {}

    def on_frame(
        self, runtime: SessionRuntime, frame: Frame, outcome: FrameOutcome, *, watched: bool
    ) -> None:
        """An analysed frame of a running session."""
        session_id = runtime.session_id
        signals = runtime.signals
        runtime.glances.add(
            glance(
                frame.received_at,
                faces=outcome.faces,
                look=outcome.looks[0] if outcome.looks else None,
                page_in_front=not (signals.tab_hidden or signals.window_blur),
            )
        )
        attention = self._score(runtime, frame.received_at)
        if outcome.objects_ran:
            self._objects[session_id] = (outcome.objects, outcome.ts_ms)
        if watched:
            told = messages.analysis(
                session_id,
                runtime.proctor_id,
                outcome,
                objects=self._objects.get(session_id),
                attention=attention,
            )
            self.bus.publish(exam_topic(runtime.exam_id), told)
        last = self._sampled_at.get(session_id)
        if attention is not None and (last is None or frame.received_at - last >= SAMPLE_S):
            self._sampled_at[session_id] = frame.received_at
            at = datetime.fromtimestamp(frame.received_at, UTC)
            kept = self._samples.setdefault(session_id, [])
            kept.append(
                AttentionSample(
                    session_id=session_id, at=at, score=attention.score, label=attention.label
                )
            )
            if len(kept) >= BATCH:
                self.spawn(self.flush(session_id))

    def tick(self, runtime: SessionRuntime, now: float) -> None:
        """Every second: the score moves on without frames too (none analysed for the window
        is unknown, as when the camera or the analysis stops)."""
        self._score(runtime, now)

    def _score(self, runtime: SessionRuntime, now: float) -> Attention | None:
        attention = runtime.attention = runtime.glances.score(now)
        if tile_moved(self._on_tile.get(runtime.session_id), attention):
            self._on_tile[runtime.session_id] = attention
            self.registry.publish_candidate(runtime)
        return attention

    async def flush(self, session_id: uuid.UUID) -> None:
        """Writes the samples the session has kept."""
        samples = self._samples.pop(session_id, [])
        if not samples:
            return
        try:
            await asyncio.get_running_loop().run_in_executor(self.writer, self._write, samples)
        except Exception:
            log.exception(
                "%d attention samples of session %s not written", len(samples), session_id
            )

    async def flush_all(self) -> None:
        for session_id in list(self._samples):
            await self.flush(session_id)

    def forget(self, session_id: uuid.UUID) -> None:
        """The session's runtime goes: what it kept is written, the rest forgotten."""
        self.spawn(self.flush(session_id))
        for kept in (self._sampled_at, self._on_tile, self._objects):
            kept.pop(session_id, None)

    def _write(self, samples: list[AttentionSample]) -> None:
        with self.session_factory() as db:
            service.add(db=db, samples=samples)
            db.commit()


def tile_moved(before: Attention | None, now: Attention | None) -> bool:
    """Whether the tile, showing `before`, should show `now`."""
    if before is None or now is None:
        return before is not now
    return before.label != now.label or abs(before.score - now.score) >= TILE_STEP
