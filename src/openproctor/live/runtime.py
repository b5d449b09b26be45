"""What the server keeps in memory for one live session, and its tile on the proctor wall
(CandidateSummary: a field added there and filled in SessionRuntime.summary reaches every
wall). Nothing here touches the database: the per-frame path only updates these counters and
the rule engine."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from prometheus_client import Counter

from openproctor.domains.candidates.accommodations import Accommodations
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.checkin.models import CheckIn
from openproctor.domains.exams.policy import ExamPolicy
from openproctor.domains.messages.models import Conversation
from openproctor.domains.sessions.clock import Clock
from openproctor.domains.sessions.models import ExamSession, SessionState
from openproctor.live.limits import (
    MEDIA_BURST,
    MEDIA_EXTRA_PER_S,
    OPEN_BURST,
    SIGNAL_BURST,
    TokenBucket,
)
from openproctor.live.schedule import PassSchedule
from openproctor.live.tile import analysis_status, stage_detail, stage_of
from openproctor.rules.attention import Attention, AttentionWindow
from openproctor.rules.conditions import BrowserSignals, Link
from openproctor.rules.engine import SessionRules
from openproctor.rules.prompts import SessionPrompts


@dataclass(slots=True)
class Frame:
    seq: int
    ts_ms: float
    received_at: float
    jpeg: bytes


@dataclass(slots=True)
class FrameCounters:
    """A session's frames by outcome; each count also goes to the server-wide metric."""

    metric: Counter | None = None
    received: int = 0
    analysed: int = 0
    skipped: int = 0
    rejected: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)
        if self.metric is not None:
            self.metric.labels(outcome).inc()

    def to_dict(self) -> dict[str, int]:
        return {
            "received": self.received,
            "analysed": self.analysed,
            "skipped": self.skipped,
            "rejected": self.rejected,
        }


@dataclass(frozen=True, slots=True)
class CandidateSummary:
    """A candidate's tile on the proctor wall (CANDIDATE of live/protocol.py). A live
    session's runtime fills it (SessionRuntime.summary); a candidate not connected to this
    node keeps the defaults."""

    candidate_id: str
    session_id: str | None
    name: str
    email: str
    state: str
    risk_score: float
    auto_terminate: bool
    # Where the candidate is (live/tile.py Stage) and a line more about it (refused photos).
    stage: str
    stage_detail: str | None = None
    # Whether their camera is analysed now (live/tile.py AnalysisStatus); None before and
    # after the exam.
    analysis: str | None = None
    external_id: str | None = None
    connected: bool = False
    open_violations: list[str] = field(default_factory=list)
    unread: int = 0  # the candidate's messages no proctor has read
    hand_raised: bool = False
    frames: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("received", "analysed", "skipped", "rejected"), 0)
    )
    # {"score": 0-100, "label": "focused" | "distracted" | "away"} (rules/attention.py); None
    # while nothing was analysed in the window.
    attention: dict[str, Any] | None = None
    # Why this candidate's identity is not being checked (live/identity.py); None: it is, or
    # they have not enrolled.
    identity_off: str | None = None
    # The candidate's accommodations, one chip each ("Extra time +25 %", "Exempt: speech").
    accommodations: list[str] = field(default_factory=list)

    @classmethod
    def offline(
        cls,
        candidate: Candidate,
        session: ExamSession | None,
        policy: ExamPolicy,
        conversations: Mapping[uuid.UUID, Conversation] | None = None,
    ) -> CandidateSummary:
        auto_terminate = session.auto_terminate if session is not None else None
        talk = (conversations or {}).get(session.id) if session else None
        state = session.state if session else SessionState.INVITED
        checkin = CheckIn.of(session.checkin if session else None)
        stage = stage_of(state, checkin)
        # Not connected to this node: a running exam is not analysed here (a node holding it
        # sends its live tile).
        analysis = analysis_status(state, connected=False, pictures=False, camera_off=False)
        return cls(
            candidate_id=str(candidate.id),
            session_id=str(session.id) if session else None,
            name=candidate.name,
            email=candidate.email,
            state=state.value,
            risk_score=session.risk_score if session else 0.0,
            auto_terminate=policy.auto_terminate if auto_terminate is None else auto_terminate,
            stage=stage.value,
            stage_detail=stage_detail(stage, checkin),
            analysis=analysis.value if analysis else None,
            external_id=candidate.external_id,
            unread=talk.unread if talk else 0,
            hand_raised=talk.hand_raised if talk else False,
            accommodations=candidate.accommodated.labels(),
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(eq=False)
class SessionRuntime:
    session_id: uuid.UUID
    candidate_id: uuid.UUID
    exam_id: uuid.UUID
    proctor_id: uuid.UUID | None
    name: str
    email: str
    policy: ExamPolicy
    state: SessionState
    rules: SessionRules
    prompts: SessionPrompts
    clock: Clock | None = None
    external_id: str | None = None  # the candidate's id in the institution's own system
    reference: tuple[float, ...] | None = None
    # What made `reference` (IdentityConfig.embedder; None: an enrolment from before they
    # recorded it), and why identity checks are off while the session has no usable reference.
    reference_embedder: str | None = None
    identity_off: str | None = None
    baseline: tuple[float, float, float] | None = None
    counters: FrameCounters = field(default_factory=FrameCounters)
    connected: bool = False
    socket_id: int = 0
    # When the candidate's socket last opened or closed (epoch s), and whether the page closed
    # it itself (reloaded, closed, navigated away) rather than the network.
    link_since: float | None = None
    page_closed: bool = False
    last_frame_at: float | None = None
    last_seq: dict[int, int] = field(default_factory=dict)
    pending: Frame | None = None
    frame_ready: asyncio.Event = field(default_factory=asyncio.Event)
    last_analysed: Frame | None = None
    last_boxes: dict[str, Any] = field(default_factory=dict)
    # The costly passes run when due; each session has its own schedule (live/schedule.py).
    schedule: PassSchedule = field(default_factory=PassSchedule)
    thumbnail: bytes = b""
    # Read with the runtime, then kept by what the nodes announce (live/registry.py).
    conversation: Conversation = field(default_factory=Conversation)
    signals: BrowserSignals = field(default_factory=BrowserSignals)
    apply_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Per session, not per socket, so reconnecting does not refill them (see live/limits.py).
    media_budget: TokenBucket = field(default_factory=lambda: TokenBucket(MEDIA_BURST))
    signal_budget: TokenBucket = field(default_factory=lambda: TokenBucket(SIGNAL_BURST))
    open_budget: TokenBucket = field(default_factory=lambda: TokenBucket(OPEN_BURST))
    requested_fps: float = 0.0
    # Below 1 while the analysis workers fall behind: the hub asks everyone for fewer frames.
    load_factor: float = 1.0
    task: asyncio.Task[None] | None = None
    # Kept by live/attention.py from each analysed frame.
    glances: AttentionWindow = field(default_factory=AttentionWindow)
    attention: Attention | None = None
    accommodations: list[str] = field(default_factory=list)  # their labels, for the tile
    # The analysis status the walls were last sent (registry.refresh_tile sends a change).
    analysis_shown: str | None = None
    analysis_off: bool = False  # the server runs no analysis (OPENPROCTOR_ANALYSIS_WORKERS=0)

    def accommodate(self, accommodations: Accommodations) -> None:
        """The candidate's accommodations (on loading, or changed by an admin): the rules
        stop opening exempt kinds, the tile shows them. Their extra time is in the clock."""
        self.rules.exempt = frozenset(accommodations.exempt)
        self.accommodations = accommodations.labels()

    def hear(self, extra: Mapping[str, Any]) -> None:
        """What a state message changes beside the state (domains/sessions publishes it): the
        auto-termination switch, the clock, the accommodations."""
        if "auto_terminate" in extra:
            self.rules.auto_terminate = bool(extra["auto_terminate"])
        if "clock" in extra:
            self.clock = Clock.from_json(extra["clock"])
        if "accommodations" in extra:
            self.accommodate(Accommodations.model_validate(extra["accommodations"]))

    @property
    def fps(self) -> float:
        """The rate frames are asked for: the policy's (lowered while workers fall behind),
        raised while a proctor watches closely or a condition is being confirmed."""
        return max(self.policy.frames_per_second * self.load_factor, self.requested_fps)

    def offer(self, frame: Frame) -> None:
        """Keeps only the newest frame waiting; the one it replaces is counted as skipped."""
        if self.pending is not None:
            self.counters.add("skipped")
        self.pending = frame
        self.frame_ready.set()

    def take(self) -> Frame | None:
        frame, self.pending = self.pending, None
        self.frame_ready.clear()
        return frame

    def link(self) -> Link:
        """The socket, as the rules see it."""
        return Link(self.connected, self.link_since, self.page_closed, self.last_frame_at)

    @property
    def media_rate(self) -> float:
        """Media messages a second the budget refills: twice the frame rate, plus audio."""
        return self.fps * 2 + MEDIA_EXTRA_PER_S

    def analysis_now(self, now: float) -> str | None:
        """The tile's analysis status (live/tile.py) at epoch time `now`."""
        pictures = self.last_frame_at is not None and self.last_frame_at >= (self.link_since or 0)
        camera_off = self.signals.camera_ended or self.link().camera_stalled(now, self.fps)
        status = analysis_status(
            self.state,
            connected=self.connected,
            pictures=pictures,
            camera_off=camera_off,
            server_off=self.analysis_off,
        )
        return status.value if status else None

    def summary(self, now: float | None = None) -> CandidateSummary:
        """The candidate's tile on the proctor wall, live (at epoch time `now`: by default, now)."""
        stage = stage_of(self.state, CheckIn())  # a live session is past its check-in
        return CandidateSummary(
            candidate_id=str(self.candidate_id),
            session_id=str(self.session_id),
            name=self.name,
            email=self.email,
            state=self.state.value,
            risk_score=self.rules.risk_score,
            auto_terminate=self.rules.auto_terminate,
            stage=stage.value,
            analysis=self.analysis_now(time.time() if now is None else now),
            external_id=self.external_id,
            connected=self.connected,
            open_violations=sorted(
                kind.value + (f":{label}" if label else "")
                for kind, label in self.rules.open_kinds()
            ),
            unread=self.conversation.unread,
            hand_raised=self.conversation.hand_raised,
            frames=self.counters.to_dict(),
            attention=self.attention.to_json() if self.attention else None,
            identity_off=self.identity_off,
            accommodations=self.accommodations,
        )
