"""The load test's PostgreSQL and Redis readings (tools/loadtest/backends.py), against real
servers: rows, transactions, growth and commands done between two snapshots."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from sqlalchemy import Connection, create_engine, text

from openproctor.tools.loadtest.backends import (
    database_load,
    database_snapshot,
    redis_load,
    redis_snapshot,
)


@pytest.fixture
def probe_database(postgres_url: str) -> Iterator[str]:
    """An empty database of its own with one table, `probe`."""
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("DROP DATABASE IF EXISTS loadtest_probe WITH (FORCE)"))
        connection.execute(text("CREATE DATABASE loadtest_probe"))
    url = postgres_url.rsplit("/", 1)[0] + "/loadtest_probe"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE probe (id int PRIMARY KEY, body text)"))
    engine.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(text("DROP DATABASE loadtest_probe WITH (FORCE)"))
    admin.dispose()


def _flushed(connection: Connection) -> None:
    """Publishes this backend's counters when its transaction ends (PostgreSQL would wait up
    to a second, or 10 s once idle)."""
    connection.execute(text("SELECT pg_stat_force_next_flush()"))


def test_rows_transactions_and_growth_between_two_snapshots(probe_database: str) -> None:
    before = database_snapshot(probe_database)
    engine = create_engine(probe_database)
    with engine.begin() as connection:  # 1 MB of text that does not compress
        connection.execute(
            text(
                "INSERT INTO probe SELECT i, string_agg(md5(random()::text), '') "
                "FROM generate_series(1, 1000) i, generate_series(1, 32) j GROUP BY i"
            )
        )
        _flushed(connection)
    with engine.begin() as connection:
        connection.execute(text("UPDATE probe SET body = 'short' WHERE id <= 200"))
        _flushed(connection)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM probe WHERE id > 900"))
        _flushed(connection)
    engine.dispose()
    after = database_snapshot(probe_database)

    load = database_load(before, after, seconds=100, candidates=36)

    assert load["rows_inserted_per_s"] == 10.0
    assert load["rows_updated_per_s"] == 2.0
    assert load["rows_written_per_s"] == 13.0  # and 1 deleted per second
    assert load["rows_written_per_s_by_table"] == {"probe": 13.0}
    # Our three, and the few a snapshot's connection makes as it opens (SQLAlchemy asks the
    # server's version and settings), published when it closes.
    assert 3 / 100 <= load["transactions_per_s"] <= 20 / 100
    # 36 candidates for 100 s is one candidate-hour: 1000 rows of 1 KB (TOAST keeps the text
    # apart from the table, in 2-KB pieces of its own).
    assert 1.0 <= load["growth_mb_per_candidate_hour"] <= 2.5


def test_redis_commands_by_name_without_the_readings_own(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, driver_info=None, protocol=2)
    before = redis_snapshot(redis_url)
    for n in range(7):
        client.set(f"k{n}", "x" * 100_000)
    for n in range(3):
        client.get(f"k{n}")
    after = redis_snapshot(redis_url)
    client.close()

    load = redis_load(before, after, seconds=10)

    assert load["commands_per_s_by_command"] == {"set": 0.7, "get": 0.3}
    assert load["commands_per_s"] == 1.0
    assert load["used_memory_mb"] >= 0.7  # the seven values
    assert load["peak_memory_mb"] >= load["used_memory_mb"]


def test_snapshots_refuse_sqlite() -> None:
    with pytest.raises(ValueError, match="PostgreSQL only"):
        database_snapshot("sqlite:///loadtest.db")
