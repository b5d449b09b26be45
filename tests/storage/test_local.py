from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from openproctor.storage import StorageError, StorageFull, open_store
from tests.disks import MIB, SmallDisk


def test_put_get_delete_round_trip(tmp_path: Path) -> None:
    store = open_store(tmp_path.as_uri())
    blob = store.put("sessions/abc/evidence/1.jpg", b"\xff\xd8jpeg", "image/jpeg")
    assert blob.size_bytes == 6
    assert blob.sha256 == hashlib.sha256(b"\xff\xd8jpeg").hexdigest()
    assert store.exists("sessions/abc/evidence/1.jpg")
    assert store.get("sessions/abc/evidence/1.jpg") == b"\xff\xd8jpeg"
    store.delete("sessions/abc/evidence/1.jpg")
    assert not store.exists("sessions/abc/evidence/1.jpg")
    with pytest.raises(StorageError, match="no object"):
        store.get("sessions/abc/evidence/1.jpg")
    assert not list(tmp_path.rglob(".partial-*"))


@pytest.mark.parametrize("key", ["../escape", "a/../../b", "/absolute", "", "a b"])
def test_keys_cannot_escape_the_store(tmp_path: Path, key: str) -> None:
    store = open_store((tmp_path / "store").as_uri())
    with pytest.raises(StorageError, match="invalid storage key"):
        store.put(key, b"x", "text/plain")


def test_unknown_schemes_are_refused_clearly() -> None:
    with pytest.raises(StorageError, match="not supported"):
        open_store("gopher://x/y")


def test_a_full_disk_is_storage_full_and_leaves_no_partial_file(small_disk: SmallDisk) -> None:
    store = open_store(small_disk.storage.as_uri())
    small_disk.fill(leave=64 * 1024)
    assert store.free_bytes() == small_disk.free < 128 * 1024
    expected = r"no space left to store 'sessions/a/chunk\.webm'"
    with pytest.raises(StorageError, match=expected) as error:
        store.put("sessions/a/chunk.webm", b"x" * MIB, "video/webm")
    assert isinstance(error.value, StorageFull)  # worth trying again once space is freed
    assert not [*small_disk.storage.rglob("*.webm"), *small_disk.storage.rglob(".partial-*")]
    small_disk.free_up()
    assert store.put("sessions/a/chunk.webm", b"x" * MIB, "video/webm").size_bytes == MIB


@pytest.mark.parametrize(
    "key", ["..", "a/..", "sessions/../../secret", "a//../../secret", "..\\secret", "%2e%2e/x"]
)
def test_no_operation_reaches_a_file_beside_the_store(tmp_path: Path, key: str) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(b"not yours")
    store = open_store((tmp_path / "store").as_uri())
    operations = (
        lambda: store.get(key),
        lambda: store.exists(key),
        lambda: store.delete(key),
        lambda: store.local_path(key),
        lambda: store.put(key, b"overwritten", "text/plain"),
    )
    for operation in operations:
        with pytest.raises(StorageError, match="invalid storage key"):
            operation()
    assert secret.read_bytes() == b"not yours"
