"""Dumps and loads of the database: SQLite through its online backup API (a consistent copy
while the server runs), PostgreSQL through pg_dump / pg_restore in one transaction."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, func, inspect, select, table, text
from sqlalchemy.engine import URL, make_url

from openproctor.backup.manifest import BackupError
from openproctor.migrations import alembic_config

DUMP_FILES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
VERSION_TABLE = "alembic_version"
# Enough for a large database; a dump that takes longer is stuck, not slow.
PG_TIMEOUT_S = 6 * 3600


def dialect(url: str) -> str:
    name = make_url(url).get_backend_name()
    if name not in DUMP_FILES:
        raise BackupError(f"cannot back up a {name} database: only SQLite and PostgreSQL")
    return name


def make_room(url: str) -> None:
    """Creates the directory of a SQLite database that does not exist yet (a fresh target)."""
    if dialect(url) == "sqlite":
        Path(_sqlite_path(url)).parent.mkdir(parents=True, exist_ok=True)


def table_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        names = inspect(connection).get_table_names()
        return {
            name: connection.execute(select(func.count()).select_from(table(name))).scalar_one()
            for name in sorted(names)
        }


def holds_data(engine: Engine) -> bool:
    """Whether any table has a row; a migrated but unused database holds none."""
    counts = table_counts(engine)
    return any(count for name, count in counts.items() if name != VERSION_TABLE)


def schema_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        revision: str | None = connection.execute(
            text(f"SELECT version_num FROM {VERSION_TABLE}")  # noqa: S608 - a constant
        ).scalar()
        return revision


def check_known_revision(engine: Engine, revision: str | None) -> None:
    """Refuses a backup whose schema this code does not know (made by a newer version)."""
    if revision is None:
        return
    try:
        known = ScriptDirectory.from_config(alembic_config(engine)).get_revision(revision)
    except CommandError:
        known = None
    if known is None:
        raise BackupError(
            f"the backup's database schema is at revision {revision}, which this OpenProctor "
            "does not know: it was made by a newer version; install that version to restore it"
        )


def dump(url: str, target: Path) -> None:
    if dialect(url) == "sqlite":
        _sqlite_copy(Path(_sqlite_path(url)), target)
    else:
        _pg("pg_dump", url, ["--format=custom", "--no-owner", "--no-privileges", "-f", str(target)])


def load(url: str, source: Path) -> None:
    """Replaces the database's content with the dump's, all or nothing."""
    if dialect(url) == "sqlite":
        _sqlite_copy(source, Path(_sqlite_path(url)))
    else:
        # One transaction: a failure leaves the database as it was. --clean drops what the
        # dump creates, so a database `openproctor migrate` already set up takes it too.
        _pg(
            "pg_restore",
            url,
            [
                "--single-transaction",
                "--exit-on-error",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                str(source),
            ],
        )


def _sqlite_path(url: str) -> str:
    path = make_url(url).database
    if not path or path == ":memory:":
        raise BackupError(f"cannot back up an in-memory SQLite database ({url})")
    return path


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's backup API copies page by page in one transaction on the target, so readers
    see the old database or the new one, and the source may be in use meanwhile."""
    try:
        with (
            closing(sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)) as reading,
            closing(sqlite3.connect(target)) as writing,
        ):
            reading.backup(writing)
    except sqlite3.Error as error:
        raise BackupError(
            f"cannot copy the SQLite database {source} to {target}: {error}"
        ) from None


def _pg(program: str, url: str, arguments: list[str]) -> None:
    executable = shutil.which(program)
    if executable is None:
        raise BackupError(f"{program} is not installed (Debian: apt install postgresql-client)")
    parsed = make_url(url)
    # The password goes in the environment, not on a command line other users can read.
    environment = {**os.environ, "PGPASSWORD": parsed.password or ""} if parsed.password else None
    command = [executable, "--dbname", _libpq_url(parsed), *arguments]
    try:
        subprocess.run(  # noqa: S603 - our own arguments, no shell
            command,
            env=environment,
            check=True,
            capture_output=True,
            text=True,
            timeout=PG_TIMEOUT_S,
        )
    except subprocess.CalledProcessError as error:
        raise BackupError(f"{program} failed: {error.stderr.strip() or error}") from None
    except subprocess.TimeoutExpired:
        raise BackupError(f"{program} took more than {PG_TIMEOUT_S} s and was stopped") from None


def _libpq_url(parsed: URL) -> str:
    """postgresql+psycopg://user:pw@host/db as libpq reads it, without the password."""
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False)
