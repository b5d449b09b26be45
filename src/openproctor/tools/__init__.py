"""Offline tools run from the command line: model analysis, accuracy and speed (detection.py),
and the load test (loadtest/). The server never imports this package. Their commands are in
commands.py, which cli.py adds to `openproctor`; each command imports its tool only when run."""
