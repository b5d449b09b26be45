"""Schema migrations (Alembic), run with `openproctor migrate` or at server start.

Several processes may start together (two `serve` behind a load balancer, a `migrate` in a
deployment script): each migrates under one lock, so the first brings the schema up to date
while the others wait, then find nothing to do. PostgreSQL: a session-level advisory lock on
the migration connection (released when it closes, even if the process dies). SQLite: an
fcntl lock on a file next to the database (released by the kernel when the process dies).
"""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine

SCRIPT_LOCATION = Path(__file__).parent


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes["engine"] = engine
    return config


def _migrate(engine: Engine, run: Callable[[Config], None]) -> None:
    """Runs Alembic on one connection. On SQLite, batch operations copy a table, drop the
    old one and rename the copy; with foreign keys on, that drop would delete every row that
    references the table with ON DELETE CASCADE (dropping `candidates` would take their
    sessions with it). So foreign keys are off while migrating and checked after."""
    config = alembic_config(engine)
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection, _migration_lock(connection):
        if sqlite:
            # Outside any transaction: SQLite ignores this pragma inside one.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                run(config)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def upgrade(engine: Engine, revision: str = "head") -> None:
    _migrate(engine, lambda config: command.upgrade(config, revision))


def downgrade(engine: Engine, revision: str) -> None:
    _migrate(engine, lambda config: command.downgrade(config, revision))


# Any fixed number: every OpenProctor process migrating one database takes this same lock.
MIGRATION_LOCK_KEY = 0x4F50_5052_4F43  # "OPPROC"


@contextmanager
def _migration_lock(connection: Connection) -> Iterator[None]:
    """Held while migrating; waits (without a time limit) for another process's migration."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})")
        connection.commit()  # the lock belongs to the session and outlives this transaction
        try:
            yield
        finally:
            connection.exec_driver_sql(f"SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})")
            connection.commit()
        return
    database = connection.engine.url.database
    if connection.dialect.name != "sqlite" or not database or database == ":memory:":
        yield  # an in-memory database belongs to this process alone
        return
    with open(f"{database}.migrate-lock", "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)
