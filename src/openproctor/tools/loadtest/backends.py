"""What the server's PostgreSQL and Redis did during a run: PostgreSQL's own statistics
(pg_stat_database, pg_stat_user_tables, pg_database_size) and Redis's INFO (commandstats,
memory, cpu), read before and after and turned into rates per second and per candidate-hour.

These counts are what the server asked of them, so unlike CPU time on a shared machine they do
not depend on how busy the machine is."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# PostgreSQL (15 and later) backends publish their counters when a transaction ends at most once
# a second, and an idle one after at most 10 s: wait this long after the last write before the
# closing snapshot, or pooled connections that went idle still hold some of the run's counts.
PG_STATS_FLUSH_S = 11.0
TOP = 8  # tables and commands listed by name in the report

_DATABASE = """
SELECT xact_commit + xact_rollback, tup_inserted, tup_updated, tup_deleted,
       pg_database_size(current_database())
FROM pg_stat_database WHERE datname = current_database()
"""
_TABLES = "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables"


@dataclass(frozen=True)
class DatabaseSnapshot:
    transactions: int  # committed and rolled back
    inserted: int
    updated: int
    deleted: int
    size_bytes: int
    written_by_table: dict[str, int] = field(default_factory=dict)

    @property
    def written(self) -> int:
        return self.inserted + self.updated + self.deleted


@dataclass(frozen=True)
class RedisSnapshot:
    calls_by_command: dict[str, int]
    cpu_seconds: float
    used_memory: int
    peak_memory: int


def database_snapshot(url: str) -> DatabaseSnapshot:
    """PostgreSQL's counters for the database `url` names (a SQLAlchemy URL)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    if not url.startswith("postgresql"):
        raise ValueError("database statistics are read from PostgreSQL only")
    # A new connection each time: a backend keeps the statistics it read for its transaction.
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            row = connection.execute(text(_DATABASE)).one()
            tables = {name: int(count) for name, count in connection.execute(text(_TABLES))}
    finally:
        engine.dispose()
    transactions, inserted, updated, deleted, size = (int(value) for value in row)
    return DatabaseSnapshot(transactions, inserted, updated, deleted, size, tables)


def redis_snapshot(url: str) -> RedisSnapshot:
    """Redis's command counts, CPU time and memory; the INFO calls themselves are left out."""
    import redis

    # Without a driver name and on RESP2 the connection sends no CLIENT SETINFO or HELLO: only
    # INFO, left out below.
    client = redis.Redis.from_url(url, driver_info=None, protocol=2)
    try:
        commands = client.info("commandstats")
        memory = client.info("memory")
        cpu = client.info("cpu")
    finally:
        client.close()
    calls = {
        name.removeprefix("cmdstat_"): int(stats["calls"])
        for name, stats in commands.items()
        if name != "cmdstat_info"
    }
    return RedisSnapshot(
        calls,
        float(cpu["used_cpu_sys"]) + float(cpu["used_cpu_user"]),
        int(memory["used_memory"]),
        int(memory["used_memory_peak"]),
    )


def database_load(
    before: DatabaseSnapshot, after: DatabaseSnapshot, *, seconds: float, candidates: int
) -> dict[str, Any]:
    """Transactions and rows written per second over `seconds` of `candidates` streaming, and
    how much the database grew per candidate-hour."""
    by_table = {
        name: (count - before.written_by_table.get(name, 0)) / seconds
        for name, count in after.written_by_table.items()
    }
    busiest = sorted(by_table.items(), key=lambda item: -item[1])[:TOP]
    candidate_hours = candidates * seconds / 3600
    return {
        "transactions_per_s": round((after.transactions - before.transactions) / seconds, 1),
        "rows_written_per_s": round((after.written - before.written) / seconds, 1),
        "rows_inserted_per_s": round((after.inserted - before.inserted) / seconds, 1),
        "rows_updated_per_s": round((after.updated - before.updated) / seconds, 1),
        "rows_written_per_s_by_table": {name: round(rate, 1) for name, rate in busiest if rate},
        "growth_mb_per_candidate_hour": round(
            (after.size_bytes - before.size_bytes) / 1e6 / candidate_hours, 3
        ),
        "size_mb": round(after.size_bytes / 1e6, 1),
    }


def redis_load(before: RedisSnapshot, after: RedisSnapshot, *, seconds: float) -> dict[str, Any]:
    """Commands per second (in all and the busiest by name), Redis's CPU and its memory."""
    by_command = {
        name: (calls - before.calls_by_command.get(name, 0)) / seconds
        for name, calls in after.calls_by_command.items()
    }
    busiest = sorted(by_command.items(), key=lambda item: -item[1])[:TOP]
    return {
        "commands_per_s": round(sum(by_command.values()), 1),
        "commands_per_s_by_command": {name: round(rate, 1) for name, rate in busiest if rate},
        "cpu_percent": round(100 * (after.cpu_seconds - before.cpu_seconds) / seconds, 1),
        "used_memory_mb": round(after.used_memory / 1e6, 1),
        "peak_memory_mb": round(after.peak_memory / 1e6, 1),
    }
