"""What arrived how fast: the violations expected and received, frame counters, latencies."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


def in_flight(frames: dict[str, int]) -> int:
    done = frames.get("analysed", 0) + frames.get("skipped", 0) + frames.get("rejected", 0)
    return frames.get("received", 0) - done


@dataclass
class Expected:
    session_id: str
    kind: str
    due_at: float  # when the violation should open: scripted start + debounce


@dataclass
class Results:
    candidates: int
    frames_sent: int = 0
    recording_chunks: dict[str, int] = field(default_factory=lambda: {"stored": 0, "failed": 0})
    connection_errors: int = 0
    expected: list[Expected] = field(default_factory=list)
    received: dict[tuple[str, str], float] = field(default_factory=dict)
    unexpected: dict[str, int] = field(default_factory=dict)
    server: dict[str, Any] = field(default_factory=dict)
    frames: dict[str, int] = field(default_factory=dict)
    # From the capture of the frame that opened a violation to a proctor receiving it.
    frame_to_alert_ms: list[float] = field(default_factory=list)
    # Object and identity passes run and put off during the run (from /metrics), and the
    # seconds between two passes of one candidate that they amount to.
    passes: dict[str, float] = field(default_factory=dict)

    def report(self) -> dict[str, Any]:
        """latency_ms runs from the capture of the frame, or the sending of the browser signal,
        that opened a violation to a proctor receiving it; scripted_frame_alert_ms from the
        moment a scripted scene has lasted its rule's debounce."""
        latencies = {"signal": [], "frame": []}  # type: dict[str, list[float]]
        matched = 0
        for item in self.expected:
            at = self.received.get((item.session_id, item.kind))
            if at is None:
                continue
            matched += 1
            ms = max(0.0, (at - item.due_at) * 1000)
            latencies["signal" if item.kind == "tab_switch" else "frame"].append(ms)
        return {
            "candidates": self.candidates,
            "frames_sent": self.frames_sent,
            "frames_received": self.frames.get("received", 0),
            "frames_analysed": self.frames.get("analysed", 0),
            "frames_skipped": self.frames.get("skipped", 0),
            "frames_rejected": self.frames.get("rejected", 0),
            "frames_in_flight": in_flight(self.frames),
            "violations_expected": len(self.expected),
            "violations_received": matched,
            "violations_unexpected": self.unexpected,
            "latency_ms": percentiles(latencies["signal"] + self.frame_to_alert_ms),
            "signal_latency_ms": percentiles(latencies["signal"]),
            "frame_alert_latency_ms": percentiles(self.frame_to_alert_ms),
            "scripted_frame_alert_ms": percentiles(latencies["frame"]),
            "connection_errors": self.connection_errors,
            "recording_chunks": self.recording_chunks,
            "passes": self.passes,
            "server": self.server,
        }


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)], 1)

    return {"p50": pick(0.5), "p95": pick(0.95), "p99": pick(0.99), "max": round(ordered[-1], 1)}
