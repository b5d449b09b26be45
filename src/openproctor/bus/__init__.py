"""Event fan-out between the parts of the live loop (in-process now, Redis for scale-out)."""
