"""The load test's server on PostgreSQL and Redis (tools/loadtest/server.py), and what its
meter (tools/loadtest/meter.py) reads of it: a web node and an `openproctor worker` process,
each process's memory and CPU, and the database's and Redis's load; a candidate's recording
uploads (tools/loadtest/client.py) stored there."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from openproctor.tools.loadtest.client import RecordingChunk, setup, upload_recording
from openproctor.tools.loadtest.meter import ServerMeter
from openproctor.tools.loadtest.report import Results
from openproctor.tools.loadtest.scenario import frame_variants
from openproctor.tools.loadtest.server import local_server


@pytest.fixture
def empty_database(postgres_url: str) -> Iterator[str]:
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("DROP DATABASE IF EXISTS loadtest_meter WITH (FORCE)"))
        connection.execute(text("CREATE DATABASE loadtest_meter"))
    yield postgres_url.rsplit("/", 1)[0] + "/loadtest_meter"
    with admin.connect() as connection:
        connection.execute(text("DROP DATABASE loadtest_meter WITH (FORCE)"))
    admin.dispose()


@pytest.mark.analysis
def test_a_web_node_and_a_worker_on_postgresql_and_redis(
    model_dir: Path, empty_database: str, redis_url: str
) -> None:
    async def scenario() -> dict[str, Any]:
        async with local_server(
            model_dir, 1, database_url=empty_database, redis_url=redis_url
        ) as target:
            assert target.process is not None
            assert len(target.workers) == 1
            meter = ServerMeter(target, stats_flush_s=0)
            await meter.start()
            _, [person], _, _ = await setup(target, 1, 0, 5, 1.0, frame_variants())
            results = Results(candidates=1)
            # 40 kbit/s: 10 KB every 2 s; chunks at 0 and 2 s of the 3 s.
            chunk = RecordingChunk.of_rate(40)
            await upload_recording(target.base_url, person, chunk, 3.0, results)
            assert results.recording_chunks == {"stored": 2, "failed": 0}
            async with httpx.AsyncClient(base_url=target.base_url) as http:
                csrf = (await http.get("/api/v1/auth/csrf")).json()["csrf_token"]
                signed_in = await http.post(
                    "/api/v1/auth/login",
                    json={"email": target.admin_email, "password": target.admin_password},
                    headers={"X-CSRF-Token": csrf},
                )
                assert signed_in.status_code == 200  # the admin is in the PostgreSQL given
            engine = create_engine(empty_database)
            with engine.begin() as connection:
                stored = connection.execute(
                    text(
                        "SELECT count(*), sum(size_bytes) FROM stored_objects "
                        "WHERE purpose = 'recording_chunk' AND session_id = :session"
                    ),
                    {"session": uuid.UUID(person.session_id)},
                ).one()
                assert tuple(stored) == (2, 20_000)
                # A write whose counts are published at once (the web node's may wait 10 s).
                connection.execute(text("UPDATE users SET name = 'Load test, again'"))
                connection.execute(text("SELECT pg_stat_force_next_flush()"))
            engine.dispose()
            await asyncio.sleep(1)  # the worker asks Redis for jobs meanwhile
            return await meter.finish(candidates=1, streamed_s=1)

    server = asyncio.run(scenario())

    memory = server["memory_mb"]
    # The worker has its models loaded before the run starts; the web node has none.
    [worker_start] = memory["start"]["workers"]
    assert worker_start > 150
    assert 50 < memory["start"]["web"] < worker_start
    # The web node set the exam up, enrolled the candidate and stored the chunks meanwhile.
    assert server["web_cpu_ms_per_candidate_second"] > 0
    database, redis = server["database"], server["redis"]
    assert database["rows_written_per_s_by_table"]["users"] >= 1
    assert redis["commands_per_s"] > 0
