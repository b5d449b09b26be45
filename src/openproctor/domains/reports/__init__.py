"""Exam reports (CSV, JSON) and per-session PDF reports."""
