"""The pages' plain modules tested under node's built-in test runner (no npm packages)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).parent


def assert_node_tests_pass(name: str, count: int) -> None:
    """Runs tests/web/js/NAME under `node --test`; all COUNT of its tests must pass."""
    node = shutil.which("node")
    assert node, "node is needed for the JS unit tests (Debian package nodejs, see the Makefile)"
    run = subprocess.run(
        [node, "--test", "--test-reporter=tap", str(HERE / name)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"# pass {count}" in run.stdout, run.stdout
