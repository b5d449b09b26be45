"""Writing and reading attention samples."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from openproctor.domains.attention.models import AttentionSample


def add(*, db: Session, samples: Iterable[AttentionSample]) -> None:
    db.add_all(samples)


def for_session(*, db: Session, session_id: uuid.UUID) -> Sequence[AttentionSample]:
    query = (
        select(AttentionSample)
        .where(AttentionSample.session_id == session_id)
        .order_by(AttentionSample.at)
    )
    return db.scalars(query).all()
