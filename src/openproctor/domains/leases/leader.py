"""Whether this node leads the cluster's background work.

Every node tries for the lease every third of its lifetime; the holder's try renews it. A node
believes it leads until `lease_s` after it *sent* its last successful renewal (its monotonic
clock): the row's expiry was set later than that, so the node stops before any other node can
take over, even when the database stops answering. When the holder dies, the lease expires
and another node takes it at its next try: within lease_s * 4/3 of the last renewal.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from datetime import timedelta

from prometheus_client import Gauge
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from openproctor.db import transaction
from openproctor.domains.leases import service
from openproctor.domains.leases.models import HOLDER_MAX_CHARS

log = logging.getLogger(__name__)

BACKGROUND_LEASE = "background"


def node_name() -> str:
    """Unique per process, and says where it runs (host and pid) to whoever reads the row."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:HOLDER_MAX_CHARS]


class Leadership:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        lease_s: float,
        gauge: Gauge,
        name: str = BACKGROUND_LEASE,
    ) -> None:
        self.session_factory = session_factory
        self.name = name
        self.holder = node_name()
        self.lease_s = lease_s
        self.try_every_s = lease_s / 3
        self._leads_until = 0.0  # monotonic
        self._last_try = float("-inf")
        # Read at each scrape: it drops to 0 the moment the lease runs out, tried or not.
        gauge.set_function(lambda: 1.0 if self.leading else 0.0)

    @property
    def leading(self) -> bool:
        return time.monotonic() < self._leads_until

    def try_due(self) -> bool:
        return time.monotonic() - self._last_try >= self.try_every_s

    def try_to_lead(self) -> bool:
        """Takes or renews the lease (blocking: run it off the event loop); whether this node
        leads now. A database error keeps what was believed until the lease runs out."""
        was_leading = self.leading
        sent = self._last_try = time.monotonic()
        try:
            with transaction(self.session_factory) as db:
                held = service.hold(
                    db=db, name=self.name, holder=self.holder, ttl=timedelta(seconds=self.lease_s)
                )
        except SQLAlchemyError:
            log.warning("could not renew the %s lease; trying again", self.name, exc_info=True)
        else:
            self._leads_until = sent + self.lease_s if held else 0.0
        leading = self.leading
        if leading != was_leading:
            log.info(
                "%s %s the cluster's %s work",
                self.holder,
                "now leads" if leading else "no longer leads",
                self.name,
            )
        return leading

    def release(self) -> None:
        """Gives the lease up when this node stops, so another takes over at its next try."""
        if not self.leading:
            return
        self._leads_until = 0.0
        try:
            with transaction(self.session_factory) as db:
                service.release(db=db, name=self.name, holder=self.holder)
        except SQLAlchemyError:
            log.warning("could not give the %s lease up; it expires", self.name, exc_info=True)
