"""Prometheus metrics, one registry per application (so tests can run several side by side)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["CONTENT_TYPE", "Metrics"]

INFERENCE_BUCKETS_MS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
# Seconds from the request to the end of its answer: pages and API calls take milliseconds,
# uploads of recording parts and reports seconds.
REQUEST_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.frames = Counter(
            "openproctor_frames",
            "Webcam frames by outcome: received, analysed, skipped (counted, never lost) "
            "or rejected (not a decodable JPEG).",
            ["outcome"],
            registry=self.registry,
        )
        self.inference_ms = Histogram(
            "openproctor_inference_ms",
            "Milliseconds per analysis stage, per frame that ran it.",
            ["stage"],
            buckets=INFERENCE_BUCKETS_MS,
            registry=self.registry,
        )
        self.violations = Counter(
            "openproctor_violations_opened",
            "Violations opened, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.evidence_failed = Counter(
            "openproctor_evidence_failed",
            "Evidence images that could not be stored (storage full or down); each violation "
            "is kept all the same, with the reason.",
            registry=self.registry,
        )
        self.deferred = Counter(
            "openproctor_analysis_deferred",
            "Due object or identity passes put off to a later frame because the frame had "
            "waited for a worker: the face pass of every frame comes first.",
            ["stage"],
            registry=self.registry,
        )
        self.upload_bytes = Counter(
            "openproctor_upload_bytes",
            "Recording bytes received and stored.",
            registry=self.registry,
        )
        self.connections = Gauge(
            "openproctor_websocket_connections",
            "Open WebSockets, by side.",
            ["side"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "openproctor_analysis_queue_depth",
            "Sessions waiting for room at an analysis worker.",
            registry=self.registry,
        )
        self.rate_factor = Gauge(
            "openproctor_analysis_rate_factor",
            "Share of the policy's frame rate asked of candidates: 1 at full rate, lower while "
            "the analysis workers fall behind.",
            registry=self.registry,
        )
        self.rate_factor.set(1)
        self.leader = Gauge(
            "openproctor_background_leader",
            "1 while this node holds the lease for the cluster's background sweeps (retention, "
            "recording assembly), else 0: exactly one node of a cluster should say 1.",
            registry=self.registry,
        )
        self.sweeps = Counter(
            "openproctor_background_sweeps",
            "Background sweeps this node started, by sweep (retention, assembly); only the "
            "leader sweeps.",
            ["sweep"],
            registry=self.registry,
        )
        self.free_bytes = Gauge(
            "openproctor_free_bytes",
            "Bytes free on the disk of each place this node writes to: the local storage "
            "(absent with S3 storage) and the data directory.",
            ["volume"],
            registry=self.registry,
        )

        self.request_seconds = Histogram(
            "openproctor_http_request_duration_seconds",
            "Seconds to answer an HTTP request, by method and route template (the path with "
            "its {parameters}, not the values; `unrouted` when no route took it).",
            ["method", "route"],
            buckets=REQUEST_BUCKETS_S,
            registry=self.registry,
        )
        self.requests = Counter(
            "openproctor_http_requests",
            "HTTP requests answered, by method, route template and status class (2xx, 4xx...).",
            ["method", "route", "status"],
            registry=self.registry,
        )

    def watch_queue(self, depth: Callable[[], float]) -> None:
        self.queue_depth.set_function(depth)

    def watch_free_space(self, free: Callable[[], dict[str, int]]) -> None:
        """Reads free space at each scrape; `free` names the volumes and their free bytes."""
        for volume in free():

            def volume_free(volume: str = volume) -> float:
                return free()[volume]

            self.free_bytes.labels(volume).set_function(volume_free)

    def render(self) -> bytes:
        return generate_latest(self.registry)
