"""Budgets for live sockets: how many messages a socket may send and how many sockets may open.

Sized well above what the real pages do (web/static/js/take/stream.js and proctor/wall.js),
so only a flood or a broken client reaches them:

- candidate media: frames at the asked rate (at most 10 fps by policy, 2 while confirming)
  and two 0.5 s audio chunks a second; the budget is twice the frame rate plus 4 a second.
- candidate text: a heartbeat every 5 s and browser signals, which come in bursts (a window
  switch is 2-4 signals, a held Ctrl+V repeats at ~30/s) and up to 200 queued while offline,
  sent at once on reconnect.
- candidate sockets: the page reconnects after 0.5-1 s, doubling to 5-10 s (web/static/js/lib/
  socket.js); a reload opens one more.
- proctor text: a "watch" message when the proctor opens or closes a candidate's detail view.
- proctor signalling (WebRTC, live/signalling.py): a join, an answer and a few ICE candidates
  per candidate on the wall, all at once when the wall opens (30 tiles: ~250 messages); ICE
  candidates are also limited per connection there.

These budgets live in one node's memory: behind a load balancer each web node enforces its own.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

MEDIA_BURST = 20.0
MEDIA_EXTRA_PER_S = 4.0  # audio chunks and slack, on top of twice the frame rate
SIGNAL_BURST = 400.0
SIGNALS_PER_S = 20.0
OPEN_BURST = 10.0
OPENS_PER_S = 0.5
WATCH_BURST = 50.0
WATCHES_PER_S = 10.0
RTC_BURST = 600.0
RTC_PER_S = 60.0


@dataclass(slots=True)
class TokenBucket:
    """Holds up to `capacity` tokens, refilled at the rate given on each take."""

    capacity: float
    tokens: float = field(init=False)
    checked_at: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.tokens = self.capacity

    def take(self, now: float, rate: float) -> bool:
        """Spends one token; False (and nothing spent) when the bucket is empty."""
        self.tokens = min(self.capacity, self.tokens + (now - self.checked_at) * rate)
        self.checked_at = now
        # The clock's large values lose bits: a full token's wait can refill 0.99999999.
        if self.tokens < 1 - 1e-6:
            return False
        self.tokens -= 1
        return True


class StaffSockets:
    """Staff sockets open on this node, per user, so one account cannot hold hundreds."""

    def __init__(self) -> None:
        self._open: Counter[uuid.UUID] = Counter()

    def acquire(self, user_id: uuid.UUID, limit: int) -> bool:
        if self._open[user_id] >= limit:
            return False
        self._open[user_id] += 1
        return True

    def release(self, user_id: uuid.UUID) -> None:
        self._open[user_id] -= 1
        if self._open[user_id] <= 0:
            del self._open[user_id]
