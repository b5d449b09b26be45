"""The periods without identity checks, read back from the audit log entries live/identity.py
writes (domains/sessions/identity_gaps.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from openproctor.db import utcnow
from openproctor.domains.sessions import identity_gaps
from openproctor.domains.sessions.identity_gaps import IdentityGap
from openproctor.domains.sessions.models import ExamSession
from tests.conftest import Factory
from tests.live.clients import running_session

UTC_ZONE = ZoneInfo("UTC")

T0 = utcnow().replace(microsecond=0) - timedelta(hours=1)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def off(db: Session, session: ExamSession, seconds: float, reason: str) -> None:
    identity_gaps.record_off(db=db, session_id=session.id, reason=reason).created_at = at(seconds)


def on(db: Session, session: ExamSession, seconds: float) -> None:
    identity_gaps.record_on(db=db, session_id=session.id, seconds=1.0).created_at = at(seconds)


def test_entries_make_periods_with_the_newest_reason(db: Session, factory: Factory) -> None:
    session = running_session(factory, factory.candidate(factory.exam()))
    other = running_session(factory, factory.candidate(factory.exam()))
    off(db, session, 0, "re-embedding")
    off(db, session, 2, "no enrolment photo kept")  # the first try failed: still off
    off(db, other, 3, "another session's")
    on(db, session, 10)
    on(db, session, 11)  # a second "on" without an "off" before it opens nothing
    off(db, session, 20, "the workers run dlib")
    db.commit()
    assert identity_gaps.gaps(db=db, session=session) == [
        IdentityGap(at(0), at(10), "no enrolment photo kept"),
        IdentityGap(at(20), None, "the workers run dlib"),  # still off
    ]
    assert identity_gaps.gaps(db=db, session=other) == [
        IdentityGap(at(3), None, "another session's")
    ]


def test_a_period_open_when_the_session_ended_ends_with_it(db: Session, factory: Factory) -> None:
    session = running_session(factory, factory.candidate(factory.exam()))
    off(db, session, 0, "re-embedding")
    session.ended_at = at(30)
    # A wall that loads the ended session later sets its checks aside again: not a period.
    off(db, session, 40, "re-embedding")
    on(db, session, 41)
    db.commit()
    assert identity_gaps.gaps(db=db, session=session) == [
        IdentityGap(at(0), at(30), "re-embedding")
    ]


def test_each_period_is_described_in_one_line() -> None:
    assert IdentityGap(at(0), at(65), "why").describe(UTC_ZONE) == (
        f"{at(0):%H:%M:%S} to {at(65):%H:%M:%S} UTC: why"
    )
    assert (
        IdentityGap(at(0), None, "why").describe(UTC_ZONE)
        == f"from {at(0):%H:%M:%S} UTC, still off: why"
    )
