"""What the application is wired with: built once by create_app, handed to requests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from openproctor.live.limits import StaffSockets
from openproctor.pipeline.jobs import Analysis
from openproctor.settings import Settings
from openproctor.storage import ObjectStore

if TYPE_CHECKING:
    from openproctor.background import Sweeps
    from openproctor.domains.invitations.mailer import Mailer
    from openproctor.domains.lti.control_deliverer import ControlDeliverer
    from openproctor.live.hub import LiveHub


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    store: ObjectStore
    hub: LiveHub
    analysis: Analysis | None  # None: this server analyses nothing
    mailer: Mailer  # sends nothing while no mail server is configured
    sweeps: Sweeps  # retention and recording assembly, on the node holding their lease
    staff_sockets: StaffSockets = field(default_factory=StaffSockets)
    # Sends LTI Assessment Control requests (None: built without one, e.g. in a tool).
    lti_control: ControlDeliverer | None = None
