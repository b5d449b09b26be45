"""The attention score's time series: samples of each live session (rules/attention.py)."""
