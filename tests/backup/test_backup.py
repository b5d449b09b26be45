"""`openproctor backup` then `openproctor restore` into a fresh installation, run as a user
would (the commands, OPENPROCTOR_* set), on SQLite and PostgreSQL, local and S3 storage."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import make_url

from openproctor.cli import main
from openproctor.db import make_engine, make_session_factory
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.exams.models import Exam
from openproctor.domains.lti.keys import tool_key
from openproctor.domains.lti.models import LtiToolKey
from openproctor.settings import SECRET_KEY_FILE, Settings
from openproctor.storage import ObjectStore, S3Options, open_store
from tests.conftest import S3_TEST_CREDENTIALS, Factory

# More than one read chunk (1 MiB), so streaming in pieces is exercised.
LARGE = os.urandom(3 * 1024 * 1024 + 17)
OBJECTS = {
    "sessions/abc/evidence/1.jpg": b"\xff\xd8 evidence",
    "sessions/abc/recordings/0001.webm": LARGE,
}


@dataclass
class Installation:
    """Where one OpenProctor keeps its data, as OPENPROCTOR_* variables."""

    env: dict[str, str]
    store: ObjectStore

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(main, list(args), env=self.env)


def installation(
    data_dir: Path, database_url: str, storage: str, endpoint: str | None
) -> Installation:
    env = {
        "OPENPROCTOR_ENV": "test",
        "OPENPROCTOR_DATA_DIR": str(data_dir),
        "OPENPROCTOR_DATABASE_URL": database_url,
        "OPENPROCTOR_STORAGE_URL": storage,
        "OPENPROCTOR_SECRET_KEY": "",
    }
    options = None
    if endpoint:
        env["OPENPROCTOR_S3_ENDPOINT_URL"] = endpoint
        env["OPENPROCTOR_S3_ACCESS_KEY_ID"] = S3_TEST_CREDENTIALS["access_key_id"]
        env["OPENPROCTOR_S3_SECRET_ACCESS_KEY"] = S3_TEST_CREDENTIALS["secret_access_key"]
        options = S3Options(endpoint_url=endpoint, **S3_TEST_CREDENTIALS)
    return Installation(env, open_store(storage, options))


@pytest.fixture(params=["local", "s3"])
def storage_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


def storage_url(request: pytest.FixtureRequest, kind: str, where: Path, name: str) -> str:
    if kind == "local":
        return (where / name).as_uri()
    bucket: str = request.getfixturevalue("s3_bucket")
    return f"s3://{bucket}/{name}"


@pytest.fixture
def source(
    request: pytest.FixtureRequest, settings: Settings, storage_kind: str, tmp_path: Path
) -> Installation:
    endpoint = request.getfixturevalue("moto_server") if storage_kind == "s3" else None
    url = storage_url(request, storage_kind, tmp_path, "source-storage")
    return installation(settings.data_dir, settings.resolved_database_url, url, endpoint)


@pytest.fixture
def empty_database_url(settings: Settings, database_kind: str, tmp_path: Path) -> Iterator[str]:
    """A database that does not exist yet (SQLite) or exists with nothing in it (PostgreSQL),
    on the same server as the source."""
    if database_kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored' / 'openproctor.db'}"
        return
    name = f"restored_{uuid.uuid4().hex[:12]}"
    admin = create_engine(settings.resolved_database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    yield (
        make_url(settings.resolved_database_url)
        .set(database=name)
        .render_as_string(hide_password=False)
    )
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture
def target(
    request: pytest.FixtureRequest, empty_database_url: str, storage_kind: str, tmp_path: Path
) -> Installation:
    endpoint = request.getfixturevalue("moto_server") if storage_kind == "s3" else None
    url = storage_url(request, storage_kind, tmp_path, "target-storage")
    return installation(tmp_path / "target-data", empty_database_url, url, endpoint)


@pytest.fixture
def filled(source: Installation, factory: Factory, settings: Settings) -> Installation:
    """The source with an exam, a candidate, an LTI tool key and stored objects."""
    exam = factory.exam(title="Backed-up exam")
    factory.candidate(exam, name="Grace")
    tool_key(db=factory.db)
    factory.db.commit()
    for key, data in OBJECTS.items():
        source.store.put(key, data, "video/webm" if key.endswith(".webm") else "image/jpeg")
    return source


def rows(database_url: str) -> dict[str, object]:
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as db:
            return {
                "exams": db.scalars(select(Exam.title)).all(),
                "candidates": db.scalars(select(Candidate.name)).all(),
                "tool keys": db.scalars(select(LtiToolKey.private_key_pem)).all(),
            }
    finally:
        engine.dispose()


def holds_no_exam(database_url: str) -> bool:
    path = make_url(database_url).database
    if database_url.startswith("sqlite") and not Path(str(path)).exists():
        return True
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("exams"):
                return True
            return connection.execute(select(func.count()).select_from(Exam)).scalar_one() == 0
    finally:
        engine.dispose()


def stored(store: ObjectStore) -> dict[str, bytes]:
    return {key: store.get(key) for key in store.list_keys()}


def test_round_trip(
    filled: Installation, target: Installation, settings: Settings, tmp_path: Path
) -> None:
    backup_dir = tmp_path / "backup"
    made = filled.run("backup", str(backup_dir))
    assert made.exit_code == 0, made.output
    assert "2 stored object(s)" in made.output
    manifest = json.loads((backup_dir / "manifest.json").read_text())
    assert manifest["schema_revision"]
    assert manifest["tables"]["exams"] == 1
    assert manifest["files"]["storage/sessions/abc/recordings/0001.webm"]["size"] == len(LARGE)
    again = filled.run("backup", str(backup_dir))
    assert again.exit_code == 1
    assert "already exists and is not an empty directory" in again.output

    restored = target.run("restore", str(backup_dir))
    assert restored.exit_code == 0, restored.output
    source_rows = rows(settings.resolved_database_url)
    assert source_rows["exams"] == ["Backed-up exam"]
    assert rows(target.env["OPENPROCTOR_DATABASE_URL"]) == source_rows
    assert stored(target.store) == OBJECTS
    target_key = Path(target.env["OPENPROCTOR_DATA_DIR"]) / SECRET_KEY_FILE
    assert target_key.read_text() == settings.secret_key
    # A restored installation is a working one: its schema is current.
    assert target.run("migrate").exit_code == 0


@pytest.mark.parametrize("storage_kind", ["local"])
def test_a_damaged_backup_is_refused_and_nothing_is_restored(
    filled: Installation, target: Installation, tmp_path: Path
) -> None:
    backup_dir = tmp_path / "backup"
    assert filled.run("backup", str(backup_dir)).exit_code == 0
    damaged = backup_dir / "storage" / "sessions" / "abc" / "recordings" / "0001.webm"
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 1
    damaged.write_bytes(bytes(data))

    refused = target.run("restore", str(backup_dir))
    assert refused.exit_code == 1
    assert f"{damaged} does not match its checksum" in refused.output
    assert stored(target.store) == {}
    assert holds_no_exam(target.env["OPENPROCTOR_DATABASE_URL"])


def test_a_target_holding_data_needs_force(
    filled: Installation, target: Installation, tmp_path: Path
) -> None:
    backup_dir = tmp_path / "backup"
    assert filled.run("backup", str(backup_dir)).exit_code == 0
    target.store.put("sessions/other/evidence/9.jpg", b"kept", "image/jpeg")

    refused = target.run("restore", str(backup_dir))
    assert refused.exit_code == 1
    assert "the storage holds objects" in refused.output
    assert "--force" in refused.output
    assert stored(target.store) == {"sessions/other/evidence/9.jpg": b"kept"}

    forced = target.run("restore", "--force", str(backup_dir))
    assert forced.exit_code == 0, forced.output
    assert stored(target.store) == {**OBJECTS, "sessions/other/evidence/9.jpg": b"kept"}
    assert rows(target.env["OPENPROCTOR_DATABASE_URL"])["exams"] == ["Backed-up exam"]


def test_a_database_that_does_not_load_leaves_the_target_empty(
    filled: Installation, target: Installation, tmp_path: Path
) -> None:
    """A dump that matches its checksum but cannot be loaded (made by a broken tool, say):
    the objects already stored are taken back."""
    backup_dir = tmp_path / "backup"
    assert filled.run("backup", str(backup_dir)).exit_code == 0
    manifest_file = backup_dir / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    dump = backup_dir / manifest["database_file"]
    dump.write_bytes(b"not a database dump" * 100)
    manifest["files"][manifest["database_file"]] = {
        "size": dump.stat().st_size,
        "sha256": hashlib.sha256(dump.read_bytes()).hexdigest(),
        "content_type": None,
    }
    manifest_file.write_text(json.dumps(manifest))

    refused = target.run("restore", str(backup_dir))
    assert refused.exit_code == 1
    assert "pg_restore failed" in refused.output or "cannot copy the SQLite" in refused.output
    assert stored(target.store) == {}
    assert holds_no_exam(target.env["OPENPROCTOR_DATABASE_URL"])
    target_key = Path(target.env["OPENPROCTOR_DATA_DIR"]) / SECRET_KEY_FILE
    assert target_key.read_text() != (backup_dir / "secret_key").read_text()


@pytest.mark.parametrize("storage_kind", ["local"])
def test_a_secret_key_set_in_the_environment_is_kept_with_a_warning(
    filled: Installation, target: Installation, tmp_path: Path
) -> None:
    backup_dir = tmp_path / "backup"
    assert filled.run("backup", str(backup_dir)).exit_code == 0
    target.env["OPENPROCTOR_SECRET_KEY"] = "k" * 40

    restored = target.run("restore", str(backup_dir))
    assert restored.exit_code == 0, restored.output
    assert "OPENPROCTOR_SECRET_KEY differs from the backup's secret key" in restored.output
    assert not (Path(target.env["OPENPROCTOR_DATA_DIR"]) / SECRET_KEY_FILE).exists()
