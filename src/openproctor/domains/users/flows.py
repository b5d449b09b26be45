"""Effects of staff account changes beyond the users domain: open staff sockets hear of them."""

from __future__ import annotations

import uuid

from openproctor.bus.base import EventBus
from openproctor.bus.local import staff_topic


def sign_ins_changed(bus: EventBus, user_id: uuid.UUID) -> None:
    """After a committed sign-out or account change: every web node's open sockets of this
    user check their sign-in at once and close if it ended. Safe from request threads."""
    bus.publish(staff_topic(user_id), {"type": "sign_in_changed"})
