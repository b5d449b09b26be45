"""A small real disk for storage-fault tests: a tmpfs mounted on a directory (needs root, as
the tests run in CI), which a test fills and frees."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

MIB = 1024 * 1024
BLOCK = MIB


class SmallDisk:
    def __init__(self, mount: Path) -> None:
        self.mount = mount
        self.storage = mount / "storage"  # where the object store keeps its files
        self._filler = mount / "filler"
        self.storage.mkdir()
        self._filler.mkdir()
        self._files = 0

    @property
    def free(self) -> int:
        return shutil.disk_usage(self.mount).free

    def fill(self, leave: int = 0) -> None:
        """Writes filler files until only `leave` bytes are free (to the page)."""
        left = self.free - leave
        while left > 0:
            path = self._filler / f"{self._files:05d}"
            self._files += 1
            try:
                with path.open("wb") as handle:
                    while left > 0:
                        size = min(BLOCK, left)
                        handle.write(b"\0" * size)
                        handle.flush()
                        left -= size
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise
                return

    def free_up(self) -> None:
        """Deletes the filler: the space comes back."""
        for path in self._filler.iterdir():
            path.unlink()


@contextmanager
def mounted_tmpfs(mount: Path, size: int) -> Iterator[SmallDisk]:
    """A tmpfs of `size` bytes on `mount`, unmounted after."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (the CI and `make test` run as root)")
    mount.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], check=True)
    try:
        yield SmallDisk(mount)
    finally:
        subprocess.run(["umount", str(mount)], check=True)
