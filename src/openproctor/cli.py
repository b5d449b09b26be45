"""The `openproctor` command: serve, worker, migrate, users, tokens, models, retention, demo;
the offline tools (analyze, verify, eval, bench, loadtest) are in tools/commands.py, backup
and restore in backup/commands.py."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click
from pydantic import ValidationError

from openproctor import __version__
from openproctor.backup import commands as backups
from openproctor.console import command_settings, model_dir
from openproctor.db import make_engine, make_session_factory, transaction
from openproctor.detectors.base import ModelError
from openproctor.settings import Settings
from openproctor.tools import commands as offline


def _migrate(settings: Settings) -> None:
    from openproctor.migrations import upgrade

    engine = make_engine(settings.resolved_database_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


@click.group()
@click.version_option(__version__, prog_name="openproctor")
def main() -> None:
    """OpenProctor: self-hosted live proctoring for online exams."""


for command in (
    offline.analyze,
    offline.verify,
    offline.evaluate,
    offline.bench,
    offline.loadtest,
    offline.attention,
    backups.backup,
    backups.restore,
):
    main.add_command(command)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--no-migrate", is_flag=True, help="Do not bring the schema up to date first.")
def serve(host: str, port: int, no_migrate: bool) -> None:
    """Run the web server (behind a proxy on another host, set OPENPROCTOR_TRUSTED_PROXIES)."""
    import uvicorn

    from openproctor.app import check_models, create_app
    from openproctor.server import uvicorn_config, warn_unreachable_links

    if "FORWARDED_ALLOW_IPS" in os.environ:  # what the removed --forwarded-allow-ips read
        raise click.ClickException(
            "FORWARDED_ALLOW_IPS is replaced by OPENPROCTOR_TRUSTED_PROXIES: set that instead"
        )
    settings = command_settings()
    if not no_migrate:
        _migrate(settings)
    if settings.analysis_workers:
        try:
            check_models(settings)
        except ModelError as error:
            raise click.ClickException(str(error)) from None
    app = create_app(settings)
    config = uvicorn_config(app, settings, host=host, port=port)
    warn_unreachable_links(settings, host=host, port=port)
    uvicorn.Server(config).run()


@main.command("public-url")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
def public_url(host: str, port: int) -> None:
    """Print the URL links should name for a server bound to HOST:PORT (`make run` uses it)."""
    from openproctor.public_url import url_for

    click.echo(url_for(host, port))


@main.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    settings = command_settings()
    _migrate(settings)
    click.echo(f"database is up to date: {settings.resolved_database_url}")


@main.group()
def user() -> None:
    """Staff accounts."""


@user.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice(["admin", "proctor", "reviewer"]))
@click.password_option(help="Prompted for when not given.")
def user_create(email: str, name: str, role: str, password: str) -> None:
    """Create a staff account."""
    from openproctor.domains.audit import service as audit
    from openproctor.domains.users import service as users
    from openproctor.domains.users.models import UserCreate

    settings = command_settings()
    try:
        user_in = UserCreate.model_validate(
            {"email": email, "name": name, "role": role, "password": password}
        )
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise click.ClickException(problems) from None
    engine = make_engine(settings.resolved_database_url)
    try:
        with transaction(make_session_factory(engine)) as db:
            created = users.create(db=db, user_in=user_in)
            email = created.email
            audit.record(
                db=db,
                actor=None,
                actor_label="cli",
                action="user.create",
                target_type="user",
                target_id=created.id,
                details={"email": created.email, "role": created.role.value},
            )
    except users.EmailTaken as error:
        raise click.ClickException(str(error)) from None
    finally:
        engine.dispose()
    click.echo(f"created {role} {email}")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def demo(as_json: bool) -> None:
    """Create (or refresh) the demo exam, staff accounts and candidate."""
    from openproctor.demo import create_demo

    settings = command_settings()
    _migrate(settings)
    engine = make_engine(settings.resolved_database_url)
    try:
        with make_session_factory(engine)() as db:
            info = create_demo(db=db, settings=settings)
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(info))
    else:
        _print_demo(info)


def _print_demo(info: dict[str, Any]) -> None:
    lines = [
        "OpenProctor demo is ready.",
        f"  Sign in:        {info['login_url']}",
        f"  Admin:          {info['admin_email']} / {info['admin_password']}",
        f"  Proctor:        {info['proctor_email']} / {info['proctor_password']}",
        f"  Reviewer:       {info['reviewer_email']} / {info['reviewer_password']}",
        f"  Exam (admin):   {info['admin_url']}",
        f"  Proctor view:   {info['proctor_url']}",
        f"  Candidate link: {info['candidate_url']}",
    ]
    click.echo("\n".join(lines))


@main.group()
def models() -> None:
    """The model files the detectors load."""


@models.command("install")
def models_install() -> None:
    """Copy every model into DATA_DIR/models and verify it (safe to run again)."""
    from openproctor.detectors import install

    settings = command_settings()
    try:
        install.install(settings.data_dir, echo=click.echo)
    except ModelError as error:
        raise click.ClickException(str(error)) from None


@models.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per model.")
def models_status(as_json: bool) -> None:
    """Each model: file, licence, size, whether it verifies, and its load time."""
    from openproctor.detectors import install

    rows = install.status(command_settings().data_dir)
    for row in rows:
        if as_json:
            click.echo(json.dumps(row.to_dict()))
        else:
            state = f"ok, loads in {row.load_ms:.0f} ms" if row.ok else f"PROBLEM: {row.problem}"
            click.echo(
                f"{row.name:18} {row.size / 1e6:6.1f} MB  {row.licence}\n"
                f"{'':18} {row.file}\n{'':18} {row.purpose}; {state}"
            )
    if not all(row.ok for row in rows):
        raise SystemExit(1)


@main.command()
@click.option("--name", default=None, help="Consumer name in Redis (default: host-pid).")
def worker(name: str | None) -> None:
    """Run one analysis worker taking frames from Redis (needs OPENPROCTOR_REDIS_URL)."""
    import logging

    from openproctor.logs import install_redaction, redact
    from openproctor.pipeline.redis_worker import Worker, default_name

    settings = command_settings()
    if not settings.redis_url:
        raise click.ClickException("set OPENPROCTOR_REDIS_URL: workers take their jobs from Redis")
    logging.basicConfig(level=logging.INFO)
    install_redaction()
    try:
        runner = Worker(
            settings.redis_url,
            model_dir(settings),
            settings.detectors,
            name or default_name(),
            settings.secret_key,
            job_timeout_s=settings.analysis_job_timeout_s,
        )
    except ModelError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"worker {runner.name} taking jobs from {redact(settings.redis_url)}")
    runner.run()


def _store(settings: Settings) -> Any:
    from openproctor.storage import StorageError, store_from_settings

    try:
        return store_from_settings(settings)
    except StorageError as error:
        raise click.ClickException(str(error)) from None


@main.group()
def retention() -> None:
    """Recordings and evidence kept for each exam's policy.retention_days."""


@retention.command("run")
@click.option(
    "--limit", default=10_000, show_default=True, type=click.IntRange(1), help="Sessions at most."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def retention_run(limit: int, as_json: bool) -> None:
    """Delete the media of sessions that ended more than their exam's retention_days ago."""
    from openproctor.db import utcnow
    from openproctor.retention import run_retention

    settings = command_settings()
    store = _store(settings)
    engine = make_engine(settings.resolved_database_url)
    try:
        report = run_retention(
            session_factory=make_session_factory(engine), store=store, now=utcnow(), limit=limit
        ).to_dict()
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(report))
    else:
        click.echo(
            f"retention: {report['sessions']} session(s) purged, {report['recordings']} "
            f"recording(s), {report['files']} file(s), {report['bytes']} bytes"
            + (f"; {len(report['failed'])} failed" if report["failed"] else "")
            + ("; more are due: run again" if report["more"] else "")
        )
        for failure in report["failed"]:
            click.echo(f"  session {failure['session_id']}: {failure['error']}", err=True)
    if report["failed"]:
        raise SystemExit(1)


@main.command()
@click.option("--candidate", "candidate_id", required=True, type=click.UUID)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def erase(candidate_id: Any, yes: bool) -> None:
    """Erase one candidate: sessions, violations, messages, recordings, evidence and files."""
    from openproctor.db import utcnow
    from openproctor.domains.audit import service as audit
    from openproctor.domains.candidates.flows import ErasureRefused, erase_candidate
    from openproctor.storage import StorageError

    if not yes:
        click.confirm(f"Erase candidate {candidate_id} and all of their data?", abort=True)
    settings = command_settings()
    store = _store(settings)
    engine = make_engine(settings.resolved_database_url)
    try:
        with transaction(make_session_factory(engine)) as db:
            erased = erase_candidate(db=db, store=store, candidate_id=candidate_id, now=utcnow())
            details = erased.details()
            audit.record(
                db=db,
                actor=None,
                actor_label="cli",
                action="candidate.erase",
                target_type="candidate",
                target_id=candidate_id,
                details=details,
            )
    except LookupError:
        raise click.ClickException(f"no candidate {candidate_id}") from None
    except (ErasureRefused, StorageError) as error:
        raise click.ClickException(str(error)) from None
    finally:
        engine.dispose()
    click.echo(json.dumps({"candidate_id": str(candidate_id), **details}))


@main.group()
def token() -> None:
    """API tokens for the REST API (shown once, stored hashed)."""


def _scope_names() -> list[str]:
    from openproctor.domains.tokens.scopes import Scope

    return [scope.value for scope in Scope]


@token.command("create")
@click.option("--name", required=True, help="What the token is for.")
@click.option(
    "--scope",
    "scopes",
    required=True,
    multiple=True,
    help="A scope (repeat it, or separate several by commas): " + ", ".join(_scope_names()),
)
@click.option("--json", "as_json", is_flag=True, help='Print {"token": ..., "id": ...}.')
def token_create(name: str, scopes: tuple[str, ...], as_json: bool) -> None:
    """Create an API token and print it: it is shown this once."""
    from openproctor.domains.audit import service as audit
    from openproctor.domains.tokens import service as tokens
    from openproctor.domains.tokens.models import TokenCreate

    wanted = [part.strip() for value in scopes for part in value.split(",") if part.strip()]
    try:
        token_in = TokenCreate.model_validate({"name": name, "scopes": wanted})
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise click.ClickException(problems) from None
    settings = command_settings()
    _migrate(settings)
    engine = make_engine(settings.resolved_database_url)
    try:
        with transaction(make_session_factory(engine)) as db:
            row, value = tokens.create(db=db, token_in=token_in, creator=None)
            token_id, granted = str(row.id), list(row.scopes)
            audit.record(
                db=db,
                actor=None,
                actor_label="cli",
                action="token.create",
                target_type="api_token",
                target_id=row.id,
                details={"name": row.name, "scopes": granted},
            )
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps({"token": value, "id": token_id, "name": name, "scopes": granted}))
    else:
        click.echo(f"API token {name!r} ({', '.join(granted)}); copy it now, it is shown once:")
        click.echo(value)


@token.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
def token_list(as_json: bool) -> None:
    """List API tokens (never their values)."""
    from openproctor.domains.tokens import service as tokens
    from openproctor.domains.tokens.models import TokenRead

    settings = command_settings()
    engine = make_engine(settings.resolved_database_url)
    try:
        with make_session_factory(engine)() as db:
            rows = [TokenRead.model_validate(row) for row in tokens.list_all(db=db)]
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps([row.model_dump(mode="json") for row in rows]))
        return
    for row in rows:
        state = "revoked" if row.revoked_at else "active"
        click.echo(f"{row.id}  {row.hint}…  {state:7}  {row.name}  [{', '.join(row.scopes)}]")


@token.command("revoke")
@click.argument("token_id", type=click.UUID)
def token_revoke(token_id: Any) -> None:
    """Revoke an API token by its id (see `openproctor token list`)."""
    from openproctor.domains.audit import service as audit
    from openproctor.domains.tokens import service as tokens

    settings = command_settings()
    engine = make_engine(settings.resolved_database_url)
    try:
        with transaction(make_session_factory(engine)) as db:
            row = tokens.get(db=db, token_id=token_id)
            if row is None:
                raise click.ClickException(f"no API token {token_id}")
            tokens.revoke(token=row)
            audit.record(
                db=db,
                actor=None,
                actor_label="cli",
                action="token.revoke",
                target_type="api_token",
                target_id=row.id,
                details={"name": row.name},
            )
    finally:
        engine.dispose()
    click.echo(f"revoked API token {token_id}")


if __name__ == "__main__":
    sys.exit(main())
