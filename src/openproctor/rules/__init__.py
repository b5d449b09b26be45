"""Turning per-frame detections and browser signals into debounced, scored violations."""
