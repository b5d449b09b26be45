"""One suite for every backend: a local directory and a real S3-compatible server (moto's)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import boto3
import httpx
import pytest

from openproctor.settings import load_settings
from openproctor.storage import (
    ObjectStore,
    S3Options,
    StorageError,
    open_store,
    store_from_settings,
)
from openproctor.storage import s3 as s3_backend
from openproctor.storage.s3 import S3Store
from tests.conftest import S3_TEST_CREDENTIALS
from tests.servers import free_port


def s3_options(endpoint: str) -> S3Options:
    return S3Options(endpoint_url=endpoint, **S3_TEST_CREDENTIALS)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "local":
        return open_store((tmp_path / "store").as_uri())
    bucket: str = request.getfixturevalue("s3_bucket")
    endpoint: str = request.getfixturevalue("moto_server")
    return open_store(f"s3://{bucket}/openproctor", s3_options(endpoint))


def test_put_get_exists_delete(store: ObjectStore) -> None:
    key = "sessions/abc/evidence/1.jpg"
    blob = store.put(key, b"\xff\xd8jpeg", "image/jpeg")
    assert (blob.key, blob.size_bytes, blob.content_type) == (key, 6, "image/jpeg")
    assert blob.sha256 == hashlib.sha256(b"\xff\xd8jpeg").hexdigest()
    assert store.exists(key)
    assert store.get(key) == b"\xff\xd8jpeg"
    store.put(key, b"replaced", "image/jpeg")
    assert store.get(key) == b"replaced"
    store.delete(key)
    assert not store.exists(key)
    with pytest.raises(StorageError, match="no object"):
        store.get(key)


def test_deleting_what_is_not_there_is_fine(store: ObjectStore) -> None:
    store.delete("sessions/never/stored.jpg")
    store.put("a/1", b"1", "text/plain")
    assert store.delete_many(["a/1", "a/missing", "b/also-missing"]) == 3
    assert not store.exists("a/1")
    assert store.delete_many([]) == 0


def test_large_objects_round_trip(store: ObjectStore) -> None:
    data = bytes(range(256)) * 8192  # 2 MiB
    store.put("sessions/x/recordings/webcam.webm", data, "video/webm")
    assert store.get("sessions/x/recordings/webcam.webm") == data


@pytest.mark.parametrize("key", ["../escape", "a/../../b", "/absolute", "", "a b"])
def test_keys_cannot_escape_the_store(store: ObjectStore, key: str) -> None:
    with pytest.raises(StorageError, match="invalid storage key"):
        store.put(key, b"x", "text/plain")
    with pytest.raises(StorageError, match="invalid storage key"):
        store.get(key)
    with pytest.raises(StorageError, match="invalid storage key"):
        store.delete_many(["ok/key", key])


def test_presigned_urls_serve_the_object_or_are_none_for_local_files(
    store: ObjectStore,
) -> None:
    # Stored as HTML (as a hostile upload once could be): the link answers with the types the
    # server names, never the stored one.
    store.put("sessions/x/recordings/webcam.webm", b"<script>alert(1)</script>", "text/html")
    url = store.presigned_url(
        "sessions/x/recordings/webcam.webm",
        60,
        content_type="video/webm",
        disposition='attachment; filename="webcam.webm"',
    )
    if isinstance(store, S3Store):
        assert url is not None
        response = httpx.get(url)
        assert response.status_code == 200
        assert response.content == b"<script>alert(1)</script>"
        assert response.headers["content-type"] == "video/webm"
        assert response.headers["content-disposition"] == 'attachment; filename="webcam.webm"'
        assert store.local_path("sessions/x/recordings/webcam.webm") is None
    else:
        assert url is None
        assert store.local_path("sessions/x/recordings/webcam.webm") is not None


def test_s3_keeps_objects_under_the_prefix(moto_server: str, s3_bucket: str) -> None:
    store = open_store(f"s3://{s3_bucket}/deep/prefix/", s3_options(moto_server))
    store.put("sessions/1/enrolment.jpg", b"x", "image/jpeg")
    client = boto3.session.Session().client(
        "s3", endpoint_url=moto_server, region_name="us-east-1", **_aws_keys()
    )
    listed = client.list_objects_v2(Bucket=s3_bucket)["Contents"]
    assert [item["Key"] for item in listed] == ["deep/prefix/sessions/1/enrolment.jpg"]


def test_s3_deletes_in_batches(
    moto_server: str, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(s3_backend, "DELETE_BATCH", 2)
    store = open_store(f"s3://{s3_bucket}", s3_options(moto_server))
    keys = [f"k/{number}" for number in range(5)]
    for key in keys:
        store.put(key, b"x", "text/plain")
    assert store.delete_many(keys) == 5
    assert not any(store.exists(key) for key in keys)


def test_a_missing_bucket_is_named_clearly(moto_server: str) -> None:
    with pytest.raises(StorageError, match=r"S3 bucket 'no-such-bucket' at .* does not exist"):
        open_store("s3://no-such-bucket/prefix", s3_options(moto_server))


def test_an_unreachable_endpoint_is_named_clearly() -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(StorageError, match="cannot be reached"):
        open_store("s3://bucket", s3_options(endpoint))


def test_s3_urls_need_a_bucket() -> None:
    with pytest.raises(StorageError, match="names no bucket"):
        open_store("s3:///prefix")


def test_settings_choose_the_s3_store(moto_server: str, s3_bucket: str, tmp_path: Path) -> None:
    settings = load_settings(
        env="test",
        data_dir=tmp_path,
        storage_url=f"s3://{s3_bucket}/p",
        s3_endpoint_url=moto_server,
        s3_access_key_id="testing",
        s3_secret_access_key="moto-takes-any-secret",
        analysis_workers=0,
    )
    store = store_from_settings(settings)
    assert isinstance(store, S3Store)
    store.put("x", b"1", "text/plain")
    assert store.get("x") == b"1"
    assert "moto-takes-any-secret" not in repr(settings)


def _aws_keys() -> dict[str, str]:
    return {
        "aws_access_key_id": S3_TEST_CREDENTIALS["access_key_id"],
        "aws_secret_access_key": S3_TEST_CREDENTIALS["secret_access_key"],
    }


def test_free_space_is_the_local_disks_and_does_not_apply_to_s3(store: ObjectStore) -> None:
    free = store.free_bytes()
    if isinstance(store, S3Store):
        assert free is None
    else:
        assert free is not None
        assert free > 0


def test_objects_stream_in_and_out_and_are_listed(store: ObjectStore, tmp_path: Path) -> None:
    import io

    big = bytes(range(256)) * 9000  # over 2 MiB: more than one chunk each way
    store.upload("sessions/a/recordings/1.webm", io.BytesIO(big), "video/webm")
    store.put("sessions/b/evidence/2.jpg", b"jpeg", "image/jpeg")
    assert sorted(store.list_keys()) == [
        "sessions/a/recordings/1.webm",
        "sessions/b/evidence/2.jpg",
    ]
    copy = tmp_path / "copy.webm"
    with copy.open("wb") as handle:
        content_type = store.download("sessions/a/recordings/1.webm", handle)
    assert copy.read_bytes() == big
    # S3 keeps the content type it was given; a directory keeps none.
    assert content_type == ("video/webm" if isinstance(store, S3Store) else None)
    with pytest.raises(StorageError, match="no object"):
        store.download("sessions/missing", io.BytesIO())
