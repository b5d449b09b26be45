"""A directory on this machine as the object store (the single-machine default)."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from openproctor.storage.base import (
    StorageError,
    StorageFull,
    StoredBlob,
    Writable,
    check_key,
    describe,
)

PARTIAL_PREFIX = ".partial-"
# What a full disk (or the user's quota on it) answers a write with.
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


class LocalStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes, content_type: str) -> StoredBlob:
        self._store(key, lambda handle: handle.write(data))
        return describe(key, data, content_type)

    def upload(self, key: str, source: BinaryIO, content_type: str) -> None:
        self._store(key, lambda handle: shutil.copyfileobj(source, handle))

    def _store(self, key: str, write: Callable[[BinaryIO], object]) -> None:
        path = self._path(key)
        try:
            self._write(path, write)
        except OSError as error:
            if error.errno in FULL_ERRNOS:
                raise StorageFull(f"no space left to store {key!r} in {self.root}") from None
            raise StorageError(f"cannot store {key!r} in {self.root}: {error.strerror}") from None

    @staticmethod
    def _write(path: Path, write: Callable[[BinaryIO], object]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a reader never sees half an object.
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=PARTIAL_PREFIX)
        try:
            with os.fdopen(fd, "wb") as handle:
                write(handle)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise StorageError(f"no object {key!r} in {self.root}") from None

    def download(self, key: str, target: Writable) -> str | None:
        try:
            with self._path(key).open("rb") as handle:
                shutil.copyfileobj(handle, target)
        except FileNotFoundError:
            raise StorageError(f"no object {key!r} in {self.root}") from None
        return None

    def list_keys(self) -> Iterator[str]:
        for path in self.root.rglob("*"):
            # A write still under way (or cut short) is not an object yet.
            if path.is_file() and not path.name.startswith(PARTIAL_PREFIX):
                yield path.relative_to(self.root).as_posix()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_many(self, keys: Iterable[str]) -> int:
        count = 0
        for key in keys:
            self.delete(key)
            count += 1
        return count

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def local_path(self, key: str) -> Path | None:
        path = self._path(key)
        return path if path.is_file() else None

    def presigned_url(
        self, key: str, expires_s: int, *, content_type: str, disposition: str
    ) -> str | None:
        check_key(key)
        return None

    def free_bytes(self) -> int | None:
        return shutil.disk_usage(self.root).free
