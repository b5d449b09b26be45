"""Offline tools run from the command line: model analysis, accuracy and speed (detection.py),
and the load test (loadtest/). The server never imports this package; cli.py imports it
inside the commands that use it."""
