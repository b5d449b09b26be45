"""What a backup holds and how it is checked: manifest.json lists every file with its size and
sha256, so a restore refuses a backup with a changed, cut or missing file before it touches
anything."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

MANIFEST_FILE = "manifest.json"
# Raised when the layout of a backup changes, so an older restore refuses a newer backup.
FORMAT = 1
STORAGE_DIR = "storage"
SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret
READ_CHUNK = 1 << 20


class BackupError(Exception):
    """The backup or restore cannot go on; the message says why and which file."""


@dataclass(frozen=True, slots=True)
class FileEntry:
    size: int
    sha256: str
    # Stored objects only: the content type the store kept, when it keeps one (S3 does).
    content_type: str | None = None


@dataclass(slots=True)
class Manifest:
    openproctor_version: str
    created_at: str
    database: str  # "sqlite" or "postgresql": a backup restores into the same kind
    database_file: str
    schema_revision: str | None
    tables: dict[str, int]  # rows per table when the backup was made
    files: dict[str, FileEntry] = field(default_factory=dict)
    format: int = FORMAT

    @property
    def objects(self) -> dict[str, FileEntry]:
        """The stored objects, by storage key."""
        prefix = f"{STORAGE_DIR}/"
        return {
            name.removeprefix(prefix): entry
            for name, entry in self.files.items()
            if name.startswith(prefix)
        }

    def write(self, directory: Path) -> None:
        text = json.dumps(asdict(self), indent=2, sort_keys=True)
        (directory / MANIFEST_FILE).write_text(text + "\n")

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        path = directory / MANIFEST_FILE
        try:
            data: dict[str, Any] = json.loads(path.read_text())
        except FileNotFoundError:
            raise BackupError(
                f"{path} is missing: this is not a backup, or an unfinished one"
            ) from None
        except (OSError, ValueError) as error:
            raise BackupError(f"{path} cannot be read: {error}") from None
        if data.get("format") != FORMAT:
            raise BackupError(
                f"{path} has format {data.get('format')!r}; this OpenProctor reads format "
                f"{FORMAT}: restore with the version that made the backup"
            )
        try:
            files = {name: FileEntry(**entry) for name, entry in data.pop("files").items()}
            manifest = cls(**data, files=files)
        except (KeyError, TypeError, AttributeError) as error:
            raise BackupError(f"{path} is damaged: {error}") from None
        for name in manifest.files:
            _check_name(name)
        return manifest


def _check_name(name: str) -> None:
    """A manifest names files inside the backup only: nothing absolute, nothing with `..`."""
    parts = PurePosixPath(name).parts
    if not parts or name.startswith("/") or ".." in parts or "\\" in name:
        raise BackupError(f"the manifest names a file outside the backup: {name!r}")


class HashingWriter:
    """Writes to a file and keeps its size and sha256 on the way, so an object streamed from
    the store is read once."""

    def __init__(self, target: BinaryIO) -> None:
        self.target = target
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.target.write(data)

    def entry(self, content_type: str | None = None) -> FileEntry:
        return FileEntry(self.size, self.digest.hexdigest(), content_type)


def file_entry(path: Path) -> FileEntry:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(READ_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return FileEntry(size, digest.hexdigest())


def verify(directory: Path) -> Manifest:
    """The manifest, once every file it lists is there with its size and sha256."""
    manifest = Manifest.read(directory)
    if manifest.database_file not in manifest.files:
        raise BackupError(f"the manifest lists no database file {manifest.database_file!r}")
    for name, expected in manifest.files.items():
        path = directory / name
        if not path.is_file():
            raise BackupError(f"{path} is missing from the backup")
        found = file_entry(path)
        if (found.size, found.sha256) != (expected.size, expected.sha256):
            raise BackupError(
                f"{path} does not match its checksum in the manifest (the backup is damaged): "
                f"{found.size} bytes, sha256 {found.sha256}; expected {expected.size} bytes, "
                f"sha256 {expected.sha256}"
            )
    return manifest
