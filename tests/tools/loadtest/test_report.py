"""The load test's report (tools/loadtest/report.py): what was expected against what arrived."""

from __future__ import annotations

from openproctor.tools.loadtest.report import Expected, Results, in_flight, percentiles


def test_percentiles_pick_observed_values() -> None:
    assert percentiles([]) == {"p50": None, "p95": None, "p99": None, "max": None}
    values = [float(v) for v in range(1, 101)]  # 1..100 ms
    assert percentiles(values) == {"p50": 50.0, "p95": 95.0, "p99": 99.0, "max": 100.0}


def test_frames_in_flight_are_those_neither_analysed_skipped_nor_rejected() -> None:
    frames = {"received": 10, "analysed": 6, "skipped": 2, "rejected": 1}
    assert in_flight(frames) == 1
    assert in_flight({}) == 0


def test_the_report_matches_alerts_to_what_was_scripted() -> None:
    results = Results(candidates=2, frames_sent=20)
    results.expected = [
        Expected("a", "tab_switch", due_at=100.0),
        Expected("a", "multiple_faces", due_at=110.0),
        Expected("b", "no_face", due_at=120.0),  # never arrives
    ]
    results.received = {("a", "tab_switch"): 100.25, ("a", "multiple_faces"): 111.0}
    results.frame_to_alert_ms = [900.0]
    results.frames = {"received": 20, "analysed": 19, "skipped": 1}
    report = results.report()
    assert report["violations_expected"] == 3
    assert report["violations_received"] == 2
    assert report["signal_latency_ms"]["max"] == 250.0
    assert report["scripted_frame_alert_ms"]["max"] == 1000.0
    assert report["frame_alert_latency_ms"]["p50"] == 900.0
    assert report["latency_ms"]["max"] == 900.0  # signals and frames together
    assert (report["frames_analysed"], report["frames_skipped"]) == (19, 1)
    assert report["frames_in_flight"] == 0
