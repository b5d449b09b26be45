"""The backup and the restore, each across the database, the object store and the secret key.

A restore checks every file of the backup first, then that the target holds nothing (unless
forced), then stores the objects and loads the database last (all or nothing): if the
database fails, the objects it stored in an empty target are deleted again."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from openproctor import __version__
from openproctor.backup import database
from openproctor.backup.manifest import (
    SECRET_KEY_FILE,
    STORAGE_DIR,
    BackupError,
    HashingWriter,
    Manifest,
    file_entry,
    verify,
)
from openproctor.db import make_engine, utcnow
from openproctor.settings import SECRET_KEY_FILE as DATA_SECRET_KEY_FILE
from openproctor.settings import Settings
from openproctor.storage import ObjectStore, StorageError
from openproctor.storage.base import check_key

Echo = Callable[[str], None]
DEFAULT_CONTENT_TYPE = "application/octet-stream"


def create_backup(*, settings: Settings, store: ObjectStore, dest: Path) -> Manifest:
    """Writes the backup into dest, a new or empty directory; a failure removes what it wrote,
    and the manifest is written last, so a directory without one is never taken for a backup."""
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"{dest} already exists and is not an empty directory")
    # The backup holds the secret key and every recording: readable by its owner only.
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        return _write_backup(settings, store, dest)
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise


def _write_backup(settings: Settings, store: ObjectStore, dest: Path) -> Manifest:
    url = settings.resolved_database_url
    kind = database.dialect(url)
    engine = make_engine(url)
    try:
        manifest = Manifest(
            openproctor_version=__version__,
            created_at=utcnow().isoformat(),
            database=kind,
            database_file=database.DUMP_FILES[kind],
            schema_revision=database.schema_revision(engine),
            tables=database.table_counts(engine),
        )
    finally:
        engine.dispose()
    database.dump(url, dest / manifest.database_file)
    manifest.files[manifest.database_file] = file_entry(dest / manifest.database_file)
    _write_private(dest / SECRET_KEY_FILE, settings.secret_key)
    manifest.files[SECRET_KEY_FILE] = file_entry(dest / SECRET_KEY_FILE)
    for key in store.list_keys():
        path = dest / STORAGE_DIR / key
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            writer = HashingWriter(handle)
            content_type = store.download(key, writer)
        manifest.files[f"{STORAGE_DIR}/{key}"] = writer.entry(content_type)
    manifest.write(dest)
    return manifest


@dataclass(frozen=True, slots=True)
class Restored:
    manifest: Manifest
    # Set when the backup's secret key could not be put in place (OPENPROCTOR_SECRET_KEY is
    # set and differs): signed links and sign-ins made before the backup will not verify.
    secret_key_warning: str | None


def restore_backup(
    *, settings: Settings, store: ObjectStore, src: Path, force: bool, echo: Echo
) -> Restored:
    manifest = verify(src)
    echo(f"backup checked: {len(manifest.files)} file(s) match their checksums")
    url = settings.resolved_database_url
    if database.dialect(url) != manifest.database:
        raise BackupError(
            f"the backup holds a {manifest.database} database and the target is "
            f"{database.dialect(url)}: restore into the same kind of database"
        )
    database.make_room(url)
    engine = make_engine(url)
    try:
        database.check_known_revision(engine, manifest.schema_revision)
        if not force:
            _refuse_unless_empty(engine_holds_data=database.holds_data(engine), store=store)
    finally:
        engine.dispose()
    stored = _restore_objects(src, manifest, store, force=force)
    echo(f"storage: {len(stored)} object(s) restored")
    try:
        database.load(url, src / manifest.database_file)
    except BaseException:
        if not force:
            # The target was empty: leave it as it was found.
            store.delete_many(stored)
        raise
    echo(f"database: restored ({sum(manifest.tables.values())} rows)")
    return Restored(manifest, _restore_secret_key(settings, src / SECRET_KEY_FILE))


def _refuse_unless_empty(*, engine_holds_data: bool, store: ObjectStore) -> None:
    holding = []
    if engine_holds_data:
        holding.append("the database holds data")
    if next(iter(store.list_keys()), None) is not None:
        holding.append("the storage holds objects")
    if holding:
        raise BackupError(
            f"the target is not empty ({' and '.join(holding)}); a restore replaces it: "
            "back it up first, then run the restore again with --force"
        )


def _restore_objects(
    src: Path, manifest: Manifest, store: ObjectStore, *, force: bool
) -> list[str]:
    stored: list[str] = []
    try:
        for key, entry in manifest.objects.items():
            check_key(key)
            with (src / STORAGE_DIR / key).open("rb") as handle:
                store.upload(key, handle, entry.content_type or DEFAULT_CONTENT_TYPE)
            stored.append(key)
    except (StorageError, OSError) as error:
        if not force:
            store.delete_many(stored)
        raise BackupError(f"cannot restore the stored objects: {error}") from None
    return stored


def _restore_secret_key(settings: Settings, backup_key_file: Path) -> str | None:
    backup_key = backup_key_file.read_text()
    data_key_file = settings.data_dir / DATA_SECRET_KEY_FILE
    # load_settings fills an unset OPENPROCTOR_SECRET_KEY from this file: then the file is the key.
    if data_key_file.exists() and data_key_file.read_text().strip() == settings.secret_key:
        _write_private(data_key_file, backup_key)
        return None
    if settings.secret_key != backup_key:
        return (
            "OPENPROCTOR_SECRET_KEY differs from the backup's secret key: set it to the content "
            f"of {backup_key_file}, or invitation links and sign-ins made before the backup "
            "stop working"
        )
    return None


def _write_private(path: Path, content: str) -> None:
    """Writes a file only its owner can read, replacing any file there at once."""
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(content)
    os.replace(partial, path)
