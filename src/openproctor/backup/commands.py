"""`openproctor backup DEST` and `openproctor restore SRC`."""

from __future__ import annotations

from pathlib import Path

import click

from openproctor.backup.flows import create_backup, restore_backup
from openproctor.backup.manifest import BackupError
from openproctor.console import command_settings
from openproctor.storage import StorageError, store_from_settings


@click.command()
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
def backup(dest: Path) -> None:
    """Back up the database, every stored recording and image, and the secret key into DEST
    (a new directory), with a manifest of checksums. Safe while the server runs."""
    settings = command_settings()
    try:
        store = store_from_settings(settings)
        manifest = create_backup(settings=settings, store=store, dest=dest)
    except (BackupError, StorageError) as error:
        raise click.ClickException(str(error)) from None
    objects = manifest.objects
    click.echo(
        f"backed up to {dest}: {manifest.database} database at schema "
        f"{manifest.schema_revision} ({sum(manifest.tables.values())} rows), "
        f"{len(objects)} stored object(s) ({sum(e.size for e in objects.values())} bytes), "
        "secret key"
    )


@click.command()
@click.argument("src", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--force",
    is_flag=True,
    help="Restore over a database or storage that already holds data (replaces it).",
)
def restore(src: Path, force: bool) -> None:
    """Restore a backup made by `openproctor backup`: every file is checked against the
    manifest first, and the target must be empty unless --force. Stop the servers first."""
    settings = command_settings()
    try:
        store = store_from_settings(settings)
        restored = restore_backup(
            settings=settings, store=store, src=src, force=force, echo=click.echo
        )
    except (BackupError, StorageError) as error:
        raise click.ClickException(str(error)) from None
    if restored.secret_key_warning:
        click.echo(f"warning: {restored.secret_key_warning}", err=True)
    click.echo(f"restored {src}; run `openproctor migrate` if this version is newer")
