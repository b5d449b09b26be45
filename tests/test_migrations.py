"""Migrations build the schema from empty on both databases, match the models, and undo."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, insert, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from openproctor.db import make_engine, utcnow
from openproctor.domains.lti.models import LtiExamInstructor, LtiExamPlatform, LtiPlatform
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import ExamSession, SessionState
from openproctor.domains.users.models import Role
from openproctor.domains.webhooks.models import WebhookDelivery
from openproctor.migrations import alembic_config, downgrade, upgrade
from openproctor.models import Base
from tests.conftest import Factory
from tests.live.clients import running_session


def test_upgrade_from_empty_matches_the_models(engine: Engine) -> None:
    downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_upgrade_twice_is_a_no_op(engine: Engine) -> None:
    upgrade(engine)
    upgrade(engine)
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() is not None


def test_the_delivery_log_loses_the_replies_it_kept(engine: Engine) -> None:
    """Before 0006 the log kept the first 200 characters of each receiver's reply."""
    downgrade(engine, "0005")
    now = utcnow()
    log = [
        {"at": now.isoformat(), "status_code": 500, "error": "HTTP 500: db_password=hunter2"},
        {"at": now.isoformat(), "status_code": None, "error": "ConnectError: [Errno 111] x"},
        {"at": now.isoformat(), "status_code": None, "error": "ReadTimeout: timed out"},
        {"at": now.isoformat(), "status_code": 200, "error": None},
    ]
    with Session(engine) as db:
        # Only the columns the table had then (the model has gained some since).
        delivery_id = db.scalar(
            insert(WebhookDelivery)
            .values(
                event_id=uuid.uuid4(),
                event_type="review.completed",
                url="http://hooks.example.com/",
                body="{}",
                last_status_code=500,
                last_error="HTTP 500: db_password=hunter2",
                log=log,
            )
            .returning(WebhookDelivery.id)
        )
        db.commit()
        upgrade(engine)
        delivery = db.get_one(WebhookDelivery, delivery_id)
        assert delivery.last_error == "HTTP 500"
        assert [entry["error"] for entry in delivery.log] == [
            "HTTP 500",
            "connection failed",
            "timeout",
            None,
        ]
        assert delivery.log[0]["status_code"] == 500


def test_an_attempt_paused_at_the_upgrade_keeps_its_pause_on_the_clock(
    engine: Engine, factory: Factory
) -> None:
    """0009: an attempt paused at the time of the upgrade has been paused since it changed
    state last; the others have no pause going on."""
    exam = factory.exam()
    paused = running_session(factory, factory.candidate(exam, name="Ada"))
    running = running_session(factory, factory.candidate(exam, name="Bob"))
    sessions.move(paused, SessionState.PAUSED)
    factory.db.commit()
    paused_since = paused.state_changed_at
    factory.db.close()
    downgrade(engine, "0008")
    upgrade(engine)
    with Session(engine) as db:
        after = db.get(ExamSession, paused.id)
        assert after is not None
        assert (after.paused_at, after.paused_seconds, after.extra_seconds) == (
            paused_since,
            0,
            0,
        )
        still_running = db.get(ExamSession, running.id)
        assert still_running is not None
        assert still_running.paused_at is None


@pytest.fixture
def empty_database_url(
    request: pytest.FixtureRequest, database_kind: str, tmp_path: Path
) -> Iterator[str]:
    """A database with no tables at all, private to the test."""
    if database_kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server_url: str = request.getfixturevalue("postgres_url")
    name = f"empty_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()


def test_three_processes_migrating_at_once_all_succeed(
    empty_database_url: str, tmp_path: Path
) -> None:
    """`openproctor migrate` (as `serve` does first) three times at once on an empty database:
    one migrates while the others wait for its lock, then find the schema up to date."""
    env = {
        **os.environ,
        "OPENPROCTOR_DATA_DIR": str(tmp_path / "data"),
        "OPENPROCTOR_DATABASE_URL": empty_database_url,
    }
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "openproctor.cli", "migrate"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outcomes = [(process.wait(120), process.communicate()[1]) for process in processes]
    assert [code for code, _ in outcomes] == [0, 0, 0], [
        error.strip().splitlines()[-1:] for _, error in outcomes
    ]
    engine = make_engine(empty_database_url)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
        assert current == ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    finally:
        engine.dispose()


def test_exams_platforms_used_before_links_stay_open_to_them(
    engine: Engine, factory: Factory
) -> None:
    """0019: an exam an instructor launched from a platform, or a platform's default exam, is
    in use by that platform (another platform naming it is refused from then on)."""
    launched, default, unused = factory.exam(), factory.exam(), factory.exam()
    platforms = [
        LtiPlatform(
            name=name,
            issuer=f"https://{name}.example.edu",
            client_id="tool",
            auth_login_url=f"https://{name}.example.edu/auth",
            public_key="unused",
            deployment_ids=["1"],
            default_exam_id=default.id if name == "canvas" else None,
        )
        for name in ("moodle", "canvas")
    ]
    factory.db.add_all(platforms)
    factory.db.flush()
    moodle, canvas = platforms
    instructor = factory.user(Role.PROCTOR)
    factory.db.add(
        LtiExamInstructor(platform_id=moodle.id, exam_id=launched.id, user_id=instructor.id)
    )
    factory.db.commit()
    factory.db.close()
    downgrade(engine, "0018")
    upgrade(engine)
    with Session(engine) as db:
        claimed = set(db.execute(select(LtiExamPlatform.exam_id, LtiExamPlatform.platform_id)))
    assert claimed == {(launched.id, moodle.id), (default.id, canvas.id)}
    assert unused.id not in {exam_id for exam_id, _ in claimed}
