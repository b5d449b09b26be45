"""When a failed delivery is tried again: exponential back-off with full jitter, over a day.

Failed attempt n waits a random time between 0 and min(max_s, first_s * 2**(n-1)) ("full
jitter": receivers coming back after an outage are not hit by every sender at the same
moment), until span_s after the first failure; the last attempt is made at that deadline,
so a receiver down for most of a day still gets every event afterwards.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from openproctor.db import transaction


def up_to(ceiling_s: float) -> float:
    """A uniformly random wait between 0 and the ceiling."""
    return random.uniform(0.0, ceiling_s)  # spreads retries, guards nothing


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    first_s: float = 30.0
    max_s: float = 4 * 3600.0
    span_s: float = 24 * 3600.0
    # At most this many attempts, the schedule shortened (None: as many as span_s allows).
    attempts: int | None = None
    # Picks the wait below a ceiling (tests pin it to the ceiling to count attempts).
    jitter: Callable[[float], float] = field(default=up_to)

    def ceiling(self, attempts_made: int) -> float:
        """The longest wait after `attempts_made` attempts (1-based) failed."""
        return float(min(self.max_s, self.first_s * 2 ** max(0, attempts_made - 1)))

    def deadline(self, first_failure: datetime) -> datetime:
        return first_failure + timedelta(seconds=self.span_s)

    def next_attempt(
        self, *, attempts_made: int, now: datetime, retry_until: datetime
    ) -> datetime | None:
        """When to try again, or None: the schedule is over (now is at its deadline)."""
        if now >= retry_until or (self.attempts is not None and attempts_made >= self.attempts):
            return None
        wait = min(self.ceiling(attempts_made), max(0.0, self.jitter(self.ceiling(attempts_made))))
        return min(now + timedelta(seconds=wait), retry_until)


def claim(
    session_factory: sessionmaker[Session],
    row: Any,
    *,
    row_id: uuid.UUID,
    pending: Any,
    due_at: datetime,
    until: datetime,
) -> bool:
    """Claims one due row of an outbox table (webhook deliveries, scores, control requests:
    each has id, status and next_attempt_at) for an attempt: moves its next_attempt_at to
    `until` in one conditional UPDATE, so of several nodes that saw it due, one sends it."""
    with transaction(session_factory) as db:
        claimed = db.execute(
            update(row)
            .where(row.id == row_id, row.status == pending, row.next_attempt_at == due_at)
            .values(next_attempt_at=until)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(claimed, "rowcount", 0) == 1)


def next_due(session_factory: sessionmaker[Session], row: Any, *, pending: Any) -> datetime | None:
    """When the next pending row of an outbox table is due (None: nothing is pending)."""
    with session_factory() as db:
        due: datetime | None = db.scalar(
            select(row.next_attempt_at)
            .where(row.status == pending)
            .order_by(row.next_attempt_at)
            .limit(1)
        )
        return due
