"""The `openproctor` command: serve, migrate, user create, demo."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from pydantic import ValidationError

from openproctor import __version__
from openproctor.db import make_engine, make_session_factory, transaction
from openproctor.settings import Settings, SettingsError, load_settings


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
def serve(host: str, port: int, no_migrate: bool) -> None:
    """Run the web server."""
    import uvicorn

    from openproctor.app import create_app

    settings = _settings()
    if not no_migrate:
        _migrate(settings)
    uvicorn.run(create_app(settings), host=host, port=port, proxy_headers=True)


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


if __name__ == "__main__":
    sys.exit(main())
