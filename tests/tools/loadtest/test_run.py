"""The load test's run (tools/loadtest/run.py): options that cannot go together."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from openproctor.tools.loadtest.run import loadtest


def test_a_database_or_redis_given_is_for_the_server_started_here(tmp_path: Path) -> None:
    for backends in ({"database_url": "postgresql+psycopg://db/x"}, {"redis_url": "redis://r"}):
        with pytest.raises(ValueError, match="leave out --url"):
            asyncio.run(
                loadtest(
                    candidates=1,
                    fps=1,
                    duration=5,
                    proctors=0,
                    url="http://127.0.0.1:9",
                    admin_email="admin@example.com",
                    admin_password="secret",
                    models_dir=tmp_path,
                    workers=None,
                    **backends,
                )
            )
