"""A recording's end with its effect beyond the recordings domain: once the browser has
declared its last chunk and the session has ended, it is assembled at the next sweep (at
once on the node leading the sweeps, else at the leader's next periodic sweep)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from openproctor.domains.objects.models import Recording, StreamKind
from openproctor.domains.recordings import service
from openproctor.domains.sessions.models import FINAL_STATES, ExamSession

if TYPE_CHECKING:
    from openproctor.background import Sweeps


def complete(
    *,
    db: Session,
    sweeps: Sweeps,
    session: ExamSession,
    kind: StreamKind,
    chunks: int,
    recorded_s: float,
) -> Recording:
    """Records how many chunks the stream has and commits; raises ChunkRefused (nothing
    written) when more chunks were already received."""
    recording = service.complete(
        db=db, session=session, kind=kind, chunks=chunks, recorded_s=recorded_s
    )
    db.commit()
    if session.state in FINAL_STATES:
        sweeps.assemble_soon()
    return recording
