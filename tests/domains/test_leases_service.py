"""The lease: one holder at a time, renewed by its holder, taken by another once it expired or
was given up; Leadership believes it leads only while its last renewal holds."""

from __future__ import annotations

import time
from datetime import timedelta

from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy.orm import Session, sessionmaker

from openproctor.db import transaction
from openproctor.domains.leases import service
from openproctor.domains.leases.leader import Leadership

TTL = timedelta(seconds=1)


def hold(session_factory: sessionmaker[Session], holder: str, ttl: timedelta = TTL) -> bool:
    with transaction(session_factory) as db:
        return service.hold(db=db, name="job", holder=holder, ttl=ttl)


def test_one_holder_at_a_time_until_its_lease_expires(
    session_factory: sessionmaker[Session],
) -> None:
    assert hold(session_factory, "a")  # the first taker ever inserts the row
    assert not hold(session_factory, "b")
    assert hold(session_factory, "a")  # renewed by its holder
    time.sleep(TTL.total_seconds() + 0.2)
    assert hold(session_factory, "b")  # a stopped renewing: b takes over
    assert not hold(session_factory, "a")  # and a, back, does not get it back


def test_a_lease_given_up_is_taken_at_once(session_factory: sessionmaker[Session]) -> None:
    assert hold(session_factory, "a", timedelta(hours=1))
    with transaction(session_factory) as db:
        service.release(db=db, name="job", holder="b")  # not b's to give up
    assert not hold(session_factory, "b")
    with transaction(session_factory) as db:
        service.release(db=db, name="job", holder="a")
    assert hold(session_factory, "b")


def leader(
    session_factory: sessionmaker[Session], lease_s: float
) -> tuple[Leadership, CollectorRegistry]:
    """A node's leadership and the registry its gauge is scraped from."""
    registry = CollectorRegistry()
    gauge = Gauge("leader", "whether this node leads", registry=registry)
    return Leadership(session_factory, lease_s=lease_s, gauge=gauge), registry


def says_it_leads(registry: CollectorRegistry) -> bool:
    return registry.get_sample_value("leader") == 1


def test_a_node_leads_only_while_its_lease_holds(session_factory: sessionmaker[Session]) -> None:
    a, a_metrics = leader(session_factory, lease_s=3)
    b, b_metrics = leader(session_factory, lease_s=3)
    assert a.try_to_lead()
    assert a.leading
    assert says_it_leads(a_metrics)
    assert not b.try_to_lead()
    assert not b.leading
    assert not says_it_leads(b_metrics)
    assert not b.try_due()  # followers try every third of the lease
    # a stops renewing (a stalled node): it stops believing it leads before b may take over.
    a._leads_until = time.monotonic() + 0.5  # as if its last renewal was 2.5 s ago
    time.sleep(0.6)
    assert not a.leading
    assert not says_it_leads(a_metrics)
    assert not b.try_to_lead()  # the row's expiry has not come yet
    time.sleep(2.6)
    assert b.try_to_lead()
    assert b.leading
    assert not a.try_to_lead()
    assert not a.leading
    b.release()
    assert not b.leading
    assert a.try_to_lead()
