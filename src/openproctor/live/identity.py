"""Enrolments made by another identity model than the one running now.

Each enrolment records the embedder that made it (IdentityConfig.embedder). Embeddings from
different models are 0.07-0.12 apart on the very same photo, so a session enrolled before a
model switch is never checked against its old embedding: the enrolment photo (kept in the
object store) is embedded again by the running model, and until that succeeds the session has
no identity checks, which the proctor wall says (SessionRuntime.identity_off) and the audit
log keeps for the review page and the PDF (domains/sessions/identity_gaps.py). Nothing here
imports a model: the embedding is done by the analysis workers.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from openproctor.domains.sessions import identity_gaps
from openproctor.domains.sessions.models import ExamSession
from openproctor.live.runtime import SessionRuntime
from openproctor.pipeline.jobs import Analysis
from openproctor.storage.base import ObjectStore, StorageError

log = logging.getLogger(__name__)


def enrolment_key(session_id: uuid.UUID | str) -> str:
    """Where the enrolment photo is kept in the object store."""
    return f"sessions/{session_id}/enrolment.jpg"


def needs_new_embedding(runtime: SessionRuntime, embedder: str) -> bool:
    """Whether the session's enrolment embedding comes from another model (or from before
    enrolments recorded theirs) and so must not be compared with what `embedder` makes."""
    return runtime.reference is not None and runtime.reference_embedder != embedder


def set_aside(runtime: SessionRuntime) -> None:
    """No identity checks until the enrolment is embedded again."""
    made_by = runtime.reference_embedder or "an earlier model"
    runtime.reference = None
    runtime.identity_off = f"enrolled with {made_by}; re-embedding the enrolment photo"


async def re_embed(
    runtime: SessionRuntime,
    *,
    embedder: str,
    analysis: Analysis | None,
    store: ObjectStore,
    session_factory: sessionmaker[Session],
) -> bool:
    """Embeds the stored enrolment photo with the running model and makes it the session's
    reference (and its stored enrolment); on failure identity checks stay off and
    runtime.identity_off says why. Returns whether the session has a reference again. The
    audit log keeps when checks went off, why, and when they came back (identity_gaps)."""
    session_id = runtime.session_id
    started = time.monotonic()
    await _record(
        session_factory, identity_gaps.record_off, session_id, reason=runtime.identity_off
    )
    try:
        photo: bytes | None = await asyncio.to_thread(store.get, enrolment_key(session_id))
    except StorageError:
        photo = None
    if photo is None or analysis is None:
        why = "no enrolment photo kept" if photo is None else "face analysis is not running"
        await _stay_off(
            runtime, f"identity checks off: enrolled with another model, {why}", session_factory
        )
        return False
    outcome = await analysis.enrol(str(session_id), photo)
    if not outcome.ok or outcome.embedder != embedder:
        await _stay_off(
            runtime,
            "identity checks off: the enrolment photo could not be embedded again "
            f"({outcome.guidance if not outcome.ok else 'the workers run ' + outcome.embedder})",
            session_factory,
        )
        return False
    await asyncio.to_thread(
        _store_embedding, session_factory, session_id, outcome.embedding, embedder
    )
    runtime.reference, runtime.reference_embedder = outcome.embedding, embedder
    runtime.identity_off = None
    await _record(
        session_factory, identity_gaps.record_on, session_id, seconds=time.monotonic() - started
    )
    log.info("session %s: enrolment embedded again with %s", session_id, embedder)
    return True


async def _stay_off(
    runtime: SessionRuntime, why: str, session_factory: sessionmaker[Session]
) -> None:
    runtime.identity_off = why
    log.warning("session %s: %s", runtime.session_id, why)
    await _record(session_factory, identity_gaps.record_off, runtime.session_id, reason=why)


async def _record(
    session_factory: sessionmaker[Session],
    write: Callable[..., object],
    session_id: uuid.UUID,
    **details: Any,
) -> None:
    """One identity_gaps entry, committed on a worker thread."""

    def commit() -> None:
        with session_factory() as db:
            write(db=db, session_id=session_id, **details)
            db.commit()

    await asyncio.to_thread(commit)


def _store_embedding(
    session_factory: sessionmaker[Session],
    session_id: uuid.UUID,
    embedding: tuple[float, ...],
    embedder: str,
) -> None:
    with session_factory() as db:
        session = db.get(ExamSession, session_id)
        if session is None or session.enrollment is None:
            return  # removed meanwhile (retention): nothing to update
        session.enrollment = {
            **session.enrollment,
            "embedding": list(embedding),
            "embedder": embedder,
        }
        db.commit()
