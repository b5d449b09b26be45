"""Fixtures: every database test runs on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from openproctor.app import create_app
from openproctor.db import make_engine, make_session_factory, utcnow
from openproctor.detectors.install import install, models_dir
from openproctor.domains.candidates import service as candidates
from openproctor.domains.candidates.accommodations import Accommodations
from openproctor.domains.candidates.models import Candidate, CandidateCreate
from openproctor.domains.exams import service as exams
from openproctor.domains.exams.models import Exam, ExamWrite
from openproctor.domains.users import service as users
from openproctor.domains.users.models import Role, User, UserCreate
from openproctor.migrations import upgrade
from openproctor.server import uvicorn_config
from openproctor.settings import Settings, load_settings
from tests.disks import MIB, SmallDisk, mounted_tmpfs
from tests.mailbox import Mailbox, mailbox_server
from tests.servers import free_port, postgres_server

PASSWORD = "correct horse battery"
TEMPLATE_DB = "openproctor_template"
# How long a test server may take to stop once asked.
SERVER_STOP_S = 20


@pytest.fixture(scope="session")
def models_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with every model installed once for the whole run."""
    path = tmp_path_factory.mktemp("models-data")
    install(path, echo=lambda _: None)
    return path


@pytest.fixture(scope="session")
def model_dir(models_data_dir: Path) -> Path:
    return models_dir(models_data_dir)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def postgres_template(postgres_url: str) -> str:
    """A database migrated once; each test copies it, which is much faster than migrating."""
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {TEMPLATE_DB}"))
    admin.dispose()
    url = make_url(postgres_url).set(database=TEMPLATE_DB).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return TEMPLATE_DB


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def _databases(item: pytest.Item) -> tuple[str, ...]:
    """The databases a test runs on: those its `databases` marker names; SQLite alone for the
    tests that run the real models (the live loop's analysis: its queries run on both
    databases in the domain and API tests, and each such test costs seconds of CPU); both
    for the rest."""
    marker = item.get_closest_marker("databases")
    if marker is not None:
        return tuple(marker.args)
    if item.get_closest_marker("analysis") is not None:
        return ("sqlite",)
    return ("sqlite", "postgresql")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        kind = callspec.params.get("database_kind") if callspec is not None else None
        (dropped if kind is not None and kind not in _databases(item) else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(params=["sqlite", "postgresql"])
def database_kind(request: pytest.FixtureRequest) -> str:
    """Every database test runs on both, unless it says otherwise (_databases); a folder's
    conftest may narrow this."""
    kind: str = request.param
    return kind


@pytest.fixture
def database_url(
    request: pytest.FixtureRequest, database_kind: str, tmp_path: Path
) -> Iterator[str]:
    """A migrated, empty database of each kind, private to the test."""
    if database_kind == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    server_url: str = request.getfixturevalue("postgres_url")
    template: str = request.getfixturevalue("postgres_template")
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name} TEMPLATE {template}"))
    yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture
def settings(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Settings:
    """Test settings; tests marked `analysis` get one analysis worker with the real models,
    tests marked `outbound_allow("127.0.0.1/32")` may send webhooks there."""
    data_dir = tmp_path / "data"
    analysis = request.node.get_closest_marker("analysis") is not None
    allow = request.node.get_closest_marker("outbound_allow")
    if analysis:
        data_dir.mkdir()
        (data_dir / "models").symlink_to(request.getfixturevalue("model_dir"))
    return load_settings(
        env="test",
        data_dir=data_dir,
        database_url=database_url,
        login_max_failures=3,
        analysis_workers=1 if analysis else 0,
        outbound_allow=allow.args[0] if allow else "",
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.resolved_database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client
    app.state.context.engine.dispose()


@dataclass
class Factory:
    """Builds committed rows through the services, as the application would."""

    db: Session

    def user(self, role: Role = Role.ADMIN, email: str | None = None) -> User:
        email = email or f"{role.value}-{uuid.uuid4().hex[:8]}@example.com"
        user = users.create(
            db=self.db,
            user_in=UserCreate(
                email=email, name=f"{role.value} user", role=role, password=PASSWORD
            ),
        )
        self.db.commit()
        return user

    def exam(self, *, opens_in: timedelta = timedelta(hours=-1), **fields: Any) -> Exam:
        opens_at = utcnow() + opens_in
        document = {
            "title": "Algebra midterm",
            "opens_at": opens_at,
            "closes_at": opens_at + timedelta(hours=3),
            "duration_minutes": 60,
            "questions": [{"prompt": "1 + 1?", "choices": ["1", "2"], "answer": 1}],
            **fields,
        }
        exam = exams.create(db=self.db, exam_in=ExamWrite.model_validate(document), creator=None)
        self.db.commit()
        return exam

    def candidate(
        self,
        exam: Exam,
        proctor: User | None = None,
        name: str = "Ada",
        accommodations: Accommodations | None = None,
    ) -> Candidate:
        candidate = candidates.create(
            db=self.db,
            exam=exam,
            candidate_in=CandidateCreate(
                name=name,
                email=f"{name.lower()}-{uuid.uuid4().hex[:6]}@example.com",
                proctor_id=proctor.id if proctor else None,
                accommodations=accommodations or Accommodations(),
            ),
        )
        self.db.commit()
        return candidate


@pytest.fixture
def factory(db: Session) -> Factory:
    return Factory(db)


def login_with(client: TestClient, email: str, password: str) -> None:
    """Signs the test client in through the API and keeps the CSRF header for later calls
    (the token changes at sign-in)."""
    client.headers["X-CSRF-Token"] = client.get("/api/v1/auth/csrf").json()["csrf_token"]
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    client.headers["X-CSRF-Token"] = client.get("/api/v1/auth/csrf").json()["csrf_token"]


def login(client: TestClient, user: User) -> None:
    login_with(client, user.email, PASSWORD)


def logout(client: TestClient) -> None:
    """Signs the test client out and takes the signed-out browser's CSRF token for later calls
    (the signed-in one is bound to the sign-in that ended)."""
    assert client.post("/api/v1/auth/logout").status_code == 204
    client.headers["X-CSRF-Token"] = client.get("/api/v1/auth/csrf").json()["csrf_token"]


@pytest.fixture
def login_as(client: TestClient) -> Callable[[User], TestClient]:
    def sign_in(user: User) -> TestClient:
        login(client, user)
        return client

    return sign_in


@contextmanager
def serving(
    settings: Settings, log_level: str = "warning", port: int | None = None
) -> Iterator[str]:
    """The app on a real uvicorn server in a thread, configured as `openproctor serve` runs it
    (limits, logging); yields its base URL. Given a port, serving again on it restarts the
    server where the pages left it."""
    port = port or free_port()
    base_url = f"http://127.0.0.1:{port}"
    app = create_app(settings.model_copy(update={"public_url": base_url}))
    config = uvicorn_config(app, settings, host="127.0.0.1", port=port, log_level=log_level)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the test server did not start")
        thread.join(0.02)
    try:
        yield base_url
    finally:
        server.should_exit = True
        thread.join(SERVER_STOP_S)
        # Tests stop what they start: a server left running would keep its tasks going (a
        # Redis result reader retrying against a Redis that is gone) after the suite ends. One
        # that does not stop in time is stopped without waiting for its connections (its
        # shutdown, which closes the analysis and the bus, still runs), and the test fails.
        if thread.is_alive():
            server.force_exit = True
            thread.join(SERVER_STOP_S)
            raise RuntimeError(
                f"the test server at {base_url} did not stop within {SERVER_STOP_S} s"
                + (" even when forced" if thread.is_alive() else "; it was forced to")
            )


@pytest.fixture
def live_server(settings: Settings) -> Iterator[str]:
    with serving(settings) as base_url:
        yield base_url


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """A 32 MiB tmpfs for the object store, for tests of what a full disk does; empty at
    first (fill it with .fill())."""
    with mounted_tmpfs(tmp_path / "disk", 32 * MIB) as disk:
        yield disk


@pytest.fixture
def settings_https_client(settings: Settings) -> Iterator[TestClient]:
    https = settings.model_copy(update={"public_url": "https://exams.example.com"})
    app = create_app(https)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as test_client:
        yield test_client
    app.state.context.engine.dispose()


S3_TEST_CREDENTIALS = {"access_key_id": "testing", "secret_access_key": "testing"}


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real S3-compatible HTTP server (moto's) on a free port; yields its endpoint URL."""
    import subprocess
    import sys

    from tests.servers import wait_for_port

    executable = Path(sys.executable).with_name("moto_server")
    if not executable.exists():
        found = shutil.which("moto_server")
        if found is None:
            raise RuntimeError("moto_server is not installed: pip install -e '.[test]'")
        executable = Path(found)
    port = free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    process = subprocess.Popen(
        [str(executable), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log
    )
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def s3_bucket(moto_server: str) -> str:
    """A new, empty bucket on the moto server, private to the test."""
    import boto3

    name = f"test-{uuid.uuid4().hex[:16]}"
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=moto_server,
        region_name="us-east-1",
        aws_access_key_id=S3_TEST_CREDENTIALS["access_key_id"],
        aws_secret_access_key=S3_TEST_CREDENTIALS["secret_access_key"],
    )
    client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server on 127.0.0.1 that keeps what it receives (tests/mailbox.py)."""
    with mailbox_server() as running:
        yield running


@pytest.fixture
def mail_settings(settings: Settings, mailbox: Mailbox) -> Settings:
    """The test settings with the mailbox as the mail server."""
    return settings.model_copy(update={"smtp": mailbox.settings})
