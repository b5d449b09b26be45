"""Writing and reading attention samples."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, get_args

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openproctor.domains.attention.models import AttentionSample
from openproctor.pagination import Page, PageRequest, scalars_page
from openproctor.rules.attention import Label

LABELS: tuple[str, ...] = get_args(Label)


def add(*, db: Session, samples: Iterable[AttentionSample]) -> None:
    db.add_all(samples)


def for_session(*, db: Session, session_id: uuid.UUID) -> Sequence[AttentionSample]:
    query = (
        select(AttentionSample)
        .where(AttentionSample.session_id == session_id)
        .order_by(AttentionSample.at)
    )
    return db.scalars(query).all()


def page_for_session(
    *, db: Session, session_id: uuid.UUID, page: PageRequest
) -> Page[AttentionSample]:
    """for_session a page at a time (a sample's time is unique within its session)."""
    query = select(AttentionSample).where(AttentionSample.session_id == session_id)
    return scalars_page(db, query, (AttentionSample.at,), page)


@dataclass(frozen=True, slots=True)
class AttentionSummary:
    """A session's samples in a few numbers: how many, their mean score, each label's share."""

    samples: int
    mean: float
    shares: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        return {"samples": self.samples, "mean": round(self.mean, 1), "shares": self.shares}


def summaries(
    *, db: Session, session_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, AttentionSummary]:
    """Sessions without samples are left out."""
    totals: dict[uuid.UUID, dict[str, tuple[int, float]]] = {}
    if not session_ids:
        return {}
    rows = db.execute(
        select(
            AttentionSample.session_id,
            AttentionSample.label,
            func.count(),
            func.sum(AttentionSample.score),
        )
        .where(AttentionSample.session_id.in_(session_ids))
        .group_by(AttentionSample.session_id, AttentionSample.label)
    )
    for session_id, label, count, score_sum in rows:
        totals.setdefault(session_id, {})[label] = (count, float(score_sum))
    result = {}
    for session_id, by_label in totals.items():
        samples = sum(count for count, _ in by_label.values())
        mean = sum(score_sum for _, score_sum in by_label.values()) / samples
        shares = {label: round(by_label.get(label, (0, 0.0))[0] / samples, 3) for label in LABELS}
        result[session_id] = AttentionSummary(samples, mean, shares)
    return result
