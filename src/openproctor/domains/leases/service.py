"""Taking, renewing and giving back a lease, each in one conditional statement, so two nodes
never both hold it: on PostgreSQL the second UPDATE waits for the first one's row lock and
then finds the row no longer matches; SQLite runs one write at a time."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openproctor.db import utcnow
from openproctor.domains.leases.models import Lease


def database_now(db: Session) -> datetime:
    """The time every node compares expiries with. On PostgreSQL the server's clock, so a node
    whose clock is off can neither take a live lease early nor hold one past its expiry;
    SQLite is a file on one host, whose clock every node shares."""
    if db.get_bind().dialect.name == "postgresql":
        now: datetime = db.scalars(select(func.clock_timestamp())).one()
        return now
    return utcnow()


def hold(*, db: Session, name: str, holder: str, ttl: timedelta) -> bool:
    """Takes the lease, or renews it when `holder` has it already, for `ttl` from now; False
    while another holder's lease runs."""
    now = database_now(db)
    taken = db.execute(
        update(Lease)
        .where(Lease.name == name, or_(Lease.holder == holder, Lease.expires_at <= now))
        .values(holder=holder, expires_at=now + ttl)
        .execution_options(synchronize_session=False)
    )
    if getattr(taken, "rowcount", 0) == 1:
        return True
    if db.get(Lease, name) is not None:
        return False  # another node holds it
    try:
        with db.begin_nested():  # the first taker ever: two at once, one insert wins
            db.add(Lease(name=name, holder=holder, expires_at=now + ttl))
    except IntegrityError:
        return False
    return True


def release(*, db: Session, name: str, holder: str) -> None:
    """Gives the lease up at once (a node stopping), so another takes it at its next try
    rather than after the expiry."""
    db.execute(
        update(Lease)
        .where(Lease.name == name, Lease.holder == holder)
        .values(expires_at=database_now(db))
        .execution_options(synchronize_session=False)
    )
