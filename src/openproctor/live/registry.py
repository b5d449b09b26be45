"""Which live sessions this node holds, and what every node tells the others on the hub topic:
state changes, which node holds a session (a claim), assignments, which sessions proctors
watch closely, and a candidate's unread count and hand (written by requests on any node).

Several web nodes run behind a load balancer with Redis: a candidate streams to one node, a
proctor may watch from another. So a watch travels on the hub topic like an assignment does,
and the node holding the session counts it. Watches are renewed every WATCH_RENEW_S and lapse
after WATCH_TTL_S, so a node that starts holding a session later learns of them, and a node
that died leaves none behind. With its renewal each node says it is alive: the live video a
candidate sends to a staff page on a node not heard of for WATCH_TTL_S lapses the same way
(a node that dies cannot send its pages' "leave", live/signalling.py).
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Callable
from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from openproctor.bus.base import EventBus
from openproctor.bus.local import exam_topic, session_topic
from openproctor.db import utcnow
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.exams.models import Exam
from openproctor.domains.messages import service as messages_service
from openproctor.domains.messages.models import Conversation
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.clock import Clock
from openproctor.domains.sessions.models import ExamSession, SessionState
from openproctor.domains.violations.models import Violation
from openproctor.live import messages
from openproctor.live.limits import OPENS_PER_S, SIGNALS_PER_S
from openproctor.live.protocol import MediaKind
from openproctor.live.runtime import CandidateSummary, SessionRuntime
from openproctor.live.schedule import PassSchedule
from openproctor.rules.engine import SessionRules
from openproctor.rules.prompts import SessionPrompts

HUB_TOPIC = "hub"
HUB_FIELDS = frozenset({"event", "session_id", "state", "node"})
WATCH_RENEW_S = 10.0
WATCH_TTL_S = 3 * WATCH_RENEW_S


class Budget(Enum):
    OPEN = "open"
    MEDIA = "media"
    SIGNAL = "signal"


class Registry:
    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        bus: EventBus,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session_factory = session_factory
        self.bus = bus
        self.clock = clock  # when watches lapse
        # Identifies this web node on the bus.
        self.node_id = uuid.uuid4().hex
        self.runtimes: dict[uuid.UUID, SessionRuntime] = {}
        self._loading: dict[uuid.UUID, asyncio.Future[SessionRuntime]] = {}
        # Every node's watches: session -> watcher -> when it lapses (monotonic).
        self._watches: dict[uuid.UUID, dict[str, float]] = {}
        self._mine: dict[str, uuid.UUID] = {}  # this node's watchers and what they watch
        self._nodes: dict[str, float] = {}  # other nodes -> when they lapse unless heard again
        self._watchers = itertools.count()

    # --- runtimes --------------------------------------------------------------------------

    def get(self, session_id: uuid.UUID) -> SessionRuntime | None:
        return self.runtimes.get(session_id)

    async def load(
        self, session_id: uuid.UUID, prepare: Callable[[SessionRuntime], None]
    ) -> SessionRuntime:
        """The session's runtime, read from the database the first time (once, however many
        ask at once) and handed to `prepare` before anyone gets it."""
        runtime = self.runtimes.get(session_id)
        if runtime is not None:
            return runtime
        pending = self._loading.get(session_id)
        if pending is None:
            pending = asyncio.get_running_loop().create_future()
            self._loading[session_id] = pending
            try:
                runtime = await asyncio.to_thread(self._read, session_id)
                prepare(runtime)
                self.runtimes[session_id] = runtime
                pending.set_result(runtime)
            except BaseException as error:
                pending.set_exception(error)
                raise
            finally:
                del self._loading[session_id]
        return await asyncio.shield(pending)

    def forget(self, runtime: SessionRuntime) -> None:
        self.runtimes.pop(runtime.session_id, None)

    def _read(self, session_id: uuid.UUID) -> SessionRuntime:
        with self.session_factory() as db:
            session = db.get(ExamSession, session_id)
            if session is None:
                raise LookupError(f"no session {session_id}")
            candidate = db.get(Candidate, session.candidate_id)
            exam = db.get(Exam, session.exam_id)
            assert candidate is not None
            assert exam is not None
            policy = exam.parsed_policy
            enrollment = session.enrollment or {}
            runtime = SessionRuntime(
                session_id=session.id,
                candidate_id=candidate.id,
                exam_id=exam.id,
                proctor_id=candidate.proctor_id,
                name=candidate.name,
                email=candidate.email,
                external_id=candidate.external_id,
                policy=policy,
                state=session.state,
                rules=SessionRules(policy, auto_terminate=session.auto_terminate),
                prompts=SessionPrompts(policy),
                clock=Clock.of(session, exam, candidate),
                reference=tuple(enrollment["embedding"]) if "embedding" in enrollment else None,
                reference_embedder=enrollment.get("embedder"),
                baseline=tuple(enrollment["baseline"]) if "baseline" in enrollment else None,
                schedule=PassSchedule.spread(time.time(), policy),
            )
            # Violations left open by a node that stopped (or the candidate's earlier socket
            # elsewhere) end now: this runtime's rules start from a clean slate.
            for stale in db.scalars(
                select(Violation).where(
                    Violation.session_id == session.id, Violation.ended_at.is_(None)
                )
            ):
                stale.ended_at = utcnow()
            db.commit()
            runtime.rules.risk_score = session.risk_score
            runtime.accommodate(candidate.accommodated)
            runtime.conversation = messages_service.conversation(db=db, session_id=session.id)
            return runtime

    # --- the candidate's socket ------------------------------------------------------------

    def connect(self, runtime: SessionRuntime) -> int:
        """A candidate socket opened; an older one of the same session, here or on another
        node, is told to close, and other nodes drop their copy of the session."""
        self._replace_socket(runtime)
        runtime.socket_id += 1
        runtime.connected = True
        runtime.link_since = time.time()
        runtime.page_closed = False
        runtime.last_seq.clear()
        self._hub({"event": "claim", "session_id": str(runtime.session_id), "node": self.node_id})
        self.publish_candidate(runtime)
        return runtime.socket_id

    def disconnect(self, runtime: SessionRuntime, socket_id: int, *, page_closed: bool) -> None:
        """The socket closed; `page_closed`: the page closed it itself, going away (a reload,
        a closed tab, a navigation), not the network."""
        if runtime.socket_id != socket_id:
            return  # a newer socket took over
        runtime.connected = False
        runtime.link_since = time.time()
        runtime.page_closed = page_closed
        self.publish_candidate(runtime)

    def admit(self, runtime: SessionRuntime, budget: Budget) -> bool:
        """Spends one message (or socket opening) of the session's budget; False when it is
        spent (see live/limits.py)."""
        now = time.monotonic()
        if budget is Budget.OPEN:
            return runtime.open_budget.take(now, OPENS_PER_S)
        if budget is Budget.SIGNAL:
            return runtime.signal_budget.take(now, SIGNALS_PER_S)
        return runtime.media_budget.take(now, runtime.media_rate)

    def accept_seq(self, runtime: SessionRuntime, kind: MediaKind, seq: int) -> bool:
        """Whether a media message's sequence number moved on (a frame refused if not)."""
        last = runtime.last_seq.get(kind)
        if last is not None and seq <= last:
            runtime.counters.add("rejected")
            return False
        runtime.last_seq[kind] = seq
        return True

    def reject(self, runtime: SessionRuntime) -> None:
        """A frame the socket refused (not a JPEG, too large)."""
        runtime.counters.add("rejected")

    def _replace_socket(self, runtime: SessionRuntime) -> None:
        if runtime.connected:
            replaced = messages.replaced(runtime.socket_id, self.node_id)
            self.bus.publish(session_topic(runtime.session_id), replaced)

    def publish_candidate(self, runtime: SessionRuntime, now: float | None = None) -> None:
        """The candidate's tile changed: its wall hears of it, on every node."""
        summary = runtime.summary(now)
        runtime.analysis_shown = summary.analysis
        message = messages.candidate(summary, runtime.proctor_id)
        self.bus.publish(exam_topic(runtime.exam_id), message)

    def refresh_tile(self, runtime: SessionRuntime, now: float) -> None:
        """Every second: the tile is sent again when its analysis status moved with time alone
        (pictures stopped coming, say), which no event announces."""
        if runtime.analysis_now(now) != runtime.analysis_shown:
            self.publish_candidate(runtime, now)

    # --- what nodes tell each other --------------------------------------------------------

    def state_changed(self, session_id: uuid.UUID, state: SessionState, **extra: Any) -> None:
        self._hub({"event": "state", "session_id": str(session_id), "state": state.value, **extra})

    def _offline(self, candidate_id: uuid.UUID) -> tuple[Candidate, CandidateSummary] | None:
        """The candidate and their tile as the database has it (None: no such candidate)."""
        with self.session_factory() as db:
            candidate = db.get(Candidate, candidate_id)
            if candidate is None:
                return None
            exam = db.get(Exam, candidate.exam_id)
            assert exam is not None
            session = sessions.latest_for_candidate(db=db, candidate_id=candidate_id)
            return candidate, CandidateSummary.offline(candidate, session, exam.parsed_policy)

    def candidate_changed(self, candidate_id: uuid.UUID) -> None:
        """A candidate with no attempt under way changed (their accommodations, say): their
        tile is drawn again from the database on every wall. Safe from request threads."""
        found = self._offline(candidate_id)
        if found is not None:
            candidate, summary = found
            message = messages.candidate(summary, candidate.proctor_id)
            self.bus.publish(exam_topic(candidate.exam_id), message)

    def candidate_assigned(
        self, candidate_id: uuid.UUID, before: uuid.UUID | None, after: uuid.UUID | None
    ) -> None:
        """The tile leaves the old proctor's wall and joins the new one's at once; the node
        holding the live session follows with its live summary. Safe from request threads."""
        found = self._offline(candidate_id)
        if found is None:
            return
        candidate, summary = found
        topic = exam_topic(candidate.exam_id)
        if before is not None and before != after:
            self.bus.publish(topic, messages.unassigned(candidate_id, before))
        # The wall adds the tile unless it has it.
        self.bus.publish(topic, messages.assigned(summary, after))
        proctor = str(after) if after else None
        self._hub({"event": "assigned", "candidate_id": str(candidate_id), "proctor_id": proctor})

    def conversation_changed(self, session_id: uuid.UUID, now: Conversation) -> None:
        """The candidate's unread count or hand changed (committed): the node holding the
        session keeps it for the tile. Safe from request threads."""
        self._hub(
            {
                "event": "conversation",
                "session_id": str(session_id),
                "unread": now.unread,
                "hand_raised": now.hand_raised,
            }
        )

    def new_watcher(self) -> str:
        """An id for one staff socket on this node: its watches, and its viewer id in WebRTC
        signalling (node_of() reads the node back)."""
        return f"{self.node_id}:{next(self._watchers)}"

    def heard_from(self, watcher: str) -> None:
        """A message of this staff socket arrived (a join): its node was alive just now."""
        node = node_of(watcher)
        if node != self.node_id:
            self._nodes[node] = self.clock() + WATCH_TTL_S

    def node_alive(self, watcher: str) -> bool:
        """Whether this staff socket's node still says it is alive: this node always is (its
        sockets leave when they close); another within WATCH_TTL_S of its last word."""
        node = node_of(watcher)
        return node == self.node_id or self._nodes.get(node, 0.0) > self.clock()

    def watch(self, watcher: str, session_id: uuid.UUID | None) -> None:
        """The watcher (one proctor socket) now watches this session closely, or none."""
        before = self._mine.pop(watcher, None)
        if before is not None and before != session_id:
            self._hub({"event": "unwatch", "session_id": str(before), "watcher": watcher})
        if session_id is not None:
            self._mine[watcher] = session_id
            self._hub({"event": "watch", "session_id": str(session_id), "watcher": watcher})

    def watched(self, session_id: uuid.UUID) -> bool:
        now = self.clock()
        return any(lapses > now for lapses in self._watches.get(session_id, {}).values())

    def renew(self) -> None:
        """Tells the other nodes again that this node is alive and what its proctors watch;
        forgets lapsed watches and nodes."""
        now = self.clock()
        self._hub({"event": "alive", "node": self.node_id})
        self._nodes = {node: at for node, at in self._nodes.items() if at > now}
        for session_id in list(self._watches):
            live = {w: at for w, at in self._watches[session_id].items() if at > now}
            if live:
                self._watches[session_id] = live
            else:
                del self._watches[session_id]
        for watcher, session_id in self._mine.items():
            self._hub({"event": "watch", "session_id": str(session_id), "watcher": watcher})

    async def listen(
        self,
        listening: asyncio.Event,
        *,
        on_state: Callable[[uuid.UUID, SessionState, dict[str, Any]], None],
        on_claimed: Callable[[SessionRuntime], None],
    ) -> None:
        """Applies what the nodes say (this one included) to the sessions held here."""
        async with self.bus.subscribe(HUB_TOPIC) as subscription:
            listening.set()
            while True:
                message = await subscription.get()
                if not isinstance(message, dict):
                    continue
                event = message["event"]
                if event == "alive":
                    if message["node"] != self.node_id:
                        self._nodes[message["node"]] = self.clock() + WATCH_TTL_S
                    continue
                if event == "assigned":
                    proctor_id = message["proctor_id"]
                    candidate_id = uuid.UUID(message["candidate_id"])
                    for runtime in list(self.runtimes.values()):
                        if runtime.candidate_id == candidate_id:
                            runtime.proctor_id = uuid.UUID(proctor_id) if proctor_id else None
                            self.publish_candidate(runtime)
                    continue
                session_id = uuid.UUID(message["session_id"])
                if event == "state":
                    extra = {k: v for k, v in message.items() if k not in HUB_FIELDS}
                    on_state(session_id, SessionState(message["state"]), extra)
                elif event == "claim" and message["node"] != self.node_id:
                    held = self.runtimes.get(session_id)
                    if held is not None:  # the candidate is on another node now: its copy rules
                        self._replace_socket(held)
                        on_claimed(held)
                elif event == "watch":
                    lapses = self.clock() + WATCH_TTL_S
                    self._watches.setdefault(session_id, {})[message["watcher"]] = lapses
                elif event == "conversation" and session_id in self.runtimes:
                    now = Conversation(message["unread"], message["hand_raised"])
                    self.runtimes[session_id].conversation = now
                elif event == "unwatch":
                    self._watches.get(session_id, {}).pop(message["watcher"], None)

    def _hub(self, message: dict[str, Any]) -> None:
        self.bus.publish(HUB_TOPIC, message)


def node_of(watcher: str) -> str:
    """The node a staff socket's id (Registry.new_watcher) belongs to."""
    return watcher.partition(":")[0]
