"""Self-correction prompts of live sessions (rules/prompts.py decides them): each change goes
to the candidate's page at once, and is written on the session, off the frame path, on the
hub's writer thread (so a prompt's row is written before its clearing updates it).

    observe (the hub's observations, as the rules get them) -> PromptChange
      -> a "prompt" message on the session's topic (the candidate's socket sends it on)
      -> a session_prompts row when shown; its cleared_at when the condition clears
    clear (the exam stopped running) -> every prompt showing goes away the same way
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from openproctor.bus.base import EventBus
from openproctor.bus.local import session_topic
from openproctor.domains.exams.policy import ViolationKind
from openproctor.domains.sessions.models import SessionPrompt
from openproctor.live import messages
from openproctor.live.runtime import SessionRuntime
from openproctor.rules.engine import Condition
from openproctor.rules.prompts import PromptChange

log = logging.getLogger(__name__)
Spawn = Callable[[Coroutine[Any, Any, None]], "asyncio.Task[None]"]


class PromptFlow:
    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        bus: EventBus,
        writer: ThreadPoolExecutor,
        spawn: Spawn,
    ) -> None:
        self.session_factory = session_factory
        self.bus = bus
        self.writer = writer
        self.spawn = spawn

    def observe(
        self,
        runtime: SessionRuntime,
        at: float,
        conditions: list[Condition],
        evaluated: set[ViolationKind],
    ) -> None:
        self._tell(runtime, runtime.prompts.observe(at, conditions, evaluated))

    def clear(self, runtime: SessionRuntime, at: float) -> None:
        self._tell(runtime, runtime.prompts.clear_all(at))

    def _tell(self, runtime: SessionRuntime, changes: list[PromptChange]) -> None:
        if not changes:
            return
        topic = session_topic(runtime.session_id)
        for change in changes:
            self.bus.publish(topic, messages.prompt(change))
        self.spawn(self._write(runtime.session_id, changes))

    async def _write(self, session_id: uuid.UUID, changes: list[PromptChange]) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self.writer, self._write_rows, session_id, changes)
        except Exception:
            log.exception("writing the prompts of session %s failed", session_id)

    def _write_rows(self, session_id: uuid.UUID, changes: list[PromptChange]) -> None:
        with self.session_factory() as db:
            for change in changes:
                at = datetime.fromtimestamp(change.at, UTC)
                if change.shown:
                    db.add(
                        SessionPrompt(
                            session_id=session_id,
                            kind=change.kind.value,
                            text=change.text,
                            shown_at=at,
                        )
                    )
                    db.flush()
                    continue
                showing = select(SessionPrompt.id).where(
                    SessionPrompt.session_id == session_id,
                    SessionPrompt.kind == change.kind.value,
                    SessionPrompt.cleared_at.is_(None),
                )
                db.execute(
                    update(SessionPrompt).where(SessionPrompt.id.in_(showing)).values(cleared_at=at)
                )
            db.commit()
