"""Proctors' notes on a candidate's attempt, kept with the session for the review."""
