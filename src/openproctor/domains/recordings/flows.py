"""A recording's end with its effect beyond the recordings domain: once the browser has
declared its last chunk and the session has ended, the hub assembles it at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from openproctor.domains.objects.models import Recording, StreamKind
from openproctor.domains.recordings import service
from openproctor.domains.sessions.models import FINAL_STATES, ExamSession

if TYPE_CHECKING:
    from openproctor.live.hub import LiveHub


def complete(
    *,
    db: Session,
    hub: LiveHub,
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
        hub.assemble_recordings()
    return recording
