"""Load shedding put into effect: the shedder's factor (live/schedule.py) told to every
candidate held here (as a frame rate) and to the proctor walls (as the "load" message), and
the passes put off counted for the wall and the metrics."""

from __future__ import annotations

import uuid

from openproctor.bus.base import EventBus
from openproctor.bus.local import exam_topic, session_topic
from openproctor.live import messages
from openproctor.live.registry import Registry
from openproctor.live.schedule import LoadShedder
from openproctor.metrics import Metrics


class LoadControl:
    def __init__(self, *, registry: Registry, bus: EventBus, metrics: Metrics) -> None:
        self.registry = registry
        self.bus = bus
        self.metrics = metrics
        self.shedder = LoadShedder()

    @property
    def factor(self) -> float:
        return self.shedder.factor

    def deferred(self, stage: str) -> None:
        """A frame put its due object or identity pass off (see schedule.Plan)."""
        self.shedder.deferred += 1
        self.metrics.deferred.labels(stage).inc()

    def message(self, exam_id: uuid.UUID) -> messages.Load:
        """How far analysis keeps up, for the proctor walls of an exam."""
        policy = next(
            (r.policy for r in self.registry.runtimes.values() if r.exam_id == exam_id), None
        )
        fps = policy.frames_per_second * self.factor if policy else None
        return messages.load(factor=self.factor, fps=fps, deferring=self.shedder.deferring)

    def adapt(self) -> None:
        """Asks every candidate for fewer frames while the workers skip many, and for more
        again once they keep up; proctors see it on their wall, operators in the metrics.
        The wall also says when object and identity passes are being put off."""
        runtimes = list(self.registry.runtimes.values())
        received = sum(r.counters.received for r in runtimes)
        skipped = sum(r.counters.skipped for r in runtimes)
        if not self.shedder.check(received=received, skipped=skipped):
            return
        for runtime in runtimes:
            before = runtime.fps
            runtime.load_factor = self.factor
            if runtime.fps != before:
                self.bus.publish(session_topic(runtime.session_id), messages.rate(runtime.fps))
        for exam_id in {runtime.exam_id for runtime in runtimes}:
            self.bus.publish(exam_topic(exam_id), self.message(exam_id))
        self.metrics.rate_factor.set(self.factor)
