"""The `openproctor` command: serve, migrate, user create, demo."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from openproctor import __version__
from openproctor.db import make_engine, make_session_factory, transaction
from openproctor.detectors.base import ModelError
from openproctor.settings import Settings, SettingsError, load_settings

DEFAULT_BENCH_VIDEOS = Path("../shared/eval/video")


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


def _migrate(settings: Settings) -> None:
    from openproctor.migrations import upgrade

    engine = make_engine(settings.resolved_database_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


@click.group()
@click.version_option(__version__)
def main() -> None:
    """OpenProctor: self-hosted live proctoring for online exams."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--no-migrate", is_flag=True, help="Do not bring the schema up to date first.")
@click.option(
    "--forwarded-allow-ips",
    envvar="FORWARDED_ALLOW_IPS",
    help="Addresses of reverse proxies whose X-Forwarded-For/-Proto are trusted, comma "
    "separated, or * (default: 127.0.0.1,::1). A proxy on another host must be listed, or "
    "every client shares its address and the per-address login limit.",
)
def serve(host: str, port: int, no_migrate: bool, forwarded_allow_ips: str | None) -> None:
    """Run the web server."""
    import uvicorn

    from openproctor.app import check_models, create_app
    from openproctor.server import uvicorn_config

    settings = _settings()
    if not no_migrate:
        _migrate(settings)
    if settings.analysis_workers:
        try:
            check_models(settings)
        except ModelError as error:
            raise click.ClickException(str(error)) from None
    app = create_app(settings)
    config = uvicorn_config(
        app, settings, host=host, port=port, forwarded_allow_ips=forwarded_allow_ips
    )
    uvicorn.Server(config).run()


@main.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    settings = _settings()
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

    settings = _settings()
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

    settings = _settings()
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

    settings = _settings()
    try:
        install.install(settings.data_dir, echo=click.echo)
    except ModelError as error:
        raise click.ClickException(str(error)) from None


@models.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per model.")
def models_status(as_json: bool) -> None:
    """Each model: file, licence, size, whether it verifies, and its load time."""
    from openproctor.detectors import install

    rows = install.status(_settings().data_dir)
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


def _model_dir(settings: Settings) -> Path:
    from openproctor.detectors import install

    return install.models_dir(settings.data_dir)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--fps", default=1.0, show_default=True, type=click.FloatRange(0.01, 60))
def analyze(paths: tuple[Path, ...], fps: float) -> None:
    """Analyse images or videos: one JSON object per image or sampled frame."""
    from openproctor.detectors.commands import analyze_paths

    settings = _settings()
    failed = False
    try:
        for row in analyze_paths(
            paths, model_dir=_model_dir(settings), config=settings.detectors, fps=fps
        ):
            failed = failed or "error" in row
            click.echo(json.dumps(row))
    except ModelError as error:
        raise click.ClickException(str(error)) from None
    if failed:
        raise SystemExit(1)


@main.command()
@click.argument("a", type=click.Path(path_type=Path))
@click.argument("b", type=click.Path(path_type=Path))
def verify(a: Path, b: Path) -> None:
    """Are the faces in two photos the same person? One JSON object."""
    from openproctor.detectors.commands import verify as verify_pair

    settings = _settings()
    try:
        result = verify_pair(a, b, model_dir=_model_dir(settings), config=settings.detectors)
    except ModelError as error:
        raise click.ClickException(str(error)) from None
    click.echo(json.dumps(result))
    if "error" in result:
        raise SystemExit(1)


@main.command("eval")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def evaluate(directory: Path, as_json: bool) -> None:
    """Accuracy per capability on DIR/labels.csv (the format of shared/eval)."""
    from openproctor.detectors.commands import evaluate as run_eval

    settings = _settings()
    try:
        report = run_eval(directory, model_dir=_model_dir(settings), config=settings.detectors)
    except ModelError as error:
        raise click.ClickException(str(error)) from None
    click.echo(json.dumps(report) if as_json else json.dumps(report, indent=2))


@main.command()
@click.argument("videos", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--frames", default=60, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench(videos: tuple[Path, ...], frames: int, as_json: bool) -> None:
    """Median ms per stage on real webcam frames, one core, and the face_recognition baseline.

    VIDEOS default to the evaluation videos in ../shared/eval/video.
    """
    from openproctor.detectors.commands import bench as run_bench

    settings = _settings()
    sources = list(videos) or sorted(DEFAULT_BENCH_VIDEOS.glob("*.mjpeg"))
    if not sources:
        raise click.ClickException(f"no videos given and none in {DEFAULT_BENCH_VIDEOS}")
    try:
        report = run_bench(
            sources, model_dir=_model_dir(settings), config=settings.detectors, frames=frames
        )
    except ModelError as error:
        raise click.ClickException(str(error)) from None
    click.echo(json.dumps(report) if as_json else json.dumps(report, indent=2))


@main.command()
@click.option("--name", default=None, help="Consumer name in Redis (default: host-pid).")
def worker(name: str | None) -> None:
    """Run one analysis worker taking frames from Redis (needs OPENPROCTOR_REDIS_URL)."""
    import logging

    from openproctor.logs import install_redaction, redact
    from openproctor.pipeline.redis_worker import Worker, default_name

    settings = _settings()
    if not settings.redis_url:
        raise click.ClickException("set OPENPROCTOR_REDIS_URL: workers take their jobs from Redis")
    logging.basicConfig(level=logging.INFO)
    install_redaction()
    try:
        runner = Worker(
            settings.redis_url,
            _model_dir(settings),
            settings.detectors,
            name or default_name(),
            settings.secret_key,
            job_timeout_s=settings.analysis_job_timeout_s,
        )
    except ModelError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"worker {runner.name} taking jobs from {redact(settings.redis_url)}")
    runner.run()


@main.command()
@click.option("--candidates", default=50, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--fps", default=1.0, show_default=True, type=click.FloatRange(0.1, 10))
@click.option("--duration", default=60.0, show_default=True, type=click.FloatRange(5, 86_400))
@click.option("--proctors", default=2, show_default=True, type=click.IntRange(0, 1000))
@click.option("--url", default=None, help="A running server; without it one is started here.")
@click.option("--admin-email", default=None, help="With --url: an admin to set the exam up.")
@click.option("--admin-password", default=None, help="With --url: that admin's password.")
@click.option(
    "--workers",
    default=None,
    type=click.IntRange(0, 64),
    help="Analysis workers of the server started here (default: its own default).",
)
@click.option(
    "--fixed-rate",
    is_flag=True,
    help="Keep sending --fps even when the server "
    "asks for fewer frames (measures a server that cannot shed load).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def loadtest(
    candidates: int,
    fps: float,
    duration: float,
    proctors: int,
    url: str | None,
    admin_email: str | None,
    admin_password: str | None,
    workers: int | None,
    fixed_rate: bool,
    as_json: bool,
) -> None:
    """Real candidate sessions and proctor dashboards against a server; what arrived, how fast."""
    import asyncio

    from openproctor.loadtest import loadtest as run_loadtest

    settings = _settings()
    try:
        report = asyncio.run(
            run_loadtest(
                candidates=candidates,
                fps=fps,
                duration=duration,
                proctors=proctors,
                url=url,
                admin_email=admin_email,
                admin_password=admin_password,
                models_dir=_model_dir(settings),
                workers=workers,
                fixed_rate=fixed_rate,
            )
        )
    except (ValueError, RuntimeError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(json.dumps(report) if as_json else json.dumps(report, indent=2))


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

    settings = _settings()
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
    settings = _settings()
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
    settings = _settings()
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

    settings = _settings()
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

    settings = _settings()
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
