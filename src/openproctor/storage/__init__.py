"""Object storage for evidence and recordings, behind one interface (base.ObjectStore), and
the factory that picks a backend from OPENPROCTOR_STORAGE_URL. The backends import only
base.py, so nothing imports back into this package."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlparse

from openproctor.storage.base import (
    ObjectStore,
    S3Options,
    StorageError,
    StorageFull,
    StoredBlob,
)
from openproctor.storage.local import LocalStore

if TYPE_CHECKING:
    from openproctor.settings import Settings

__all__ = [
    "ObjectStore",
    "S3Options",
    "StorageError",
    "StorageFull",
    "StoredBlob",
    "open_store",
    "store_from_settings",
]


def open_store(url: str, s3: S3Options | None = None) -> ObjectStore:
    """file:///path or s3://bucket/prefix. An S3 bucket must exist: it is checked here."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalStore(parsed.path)
    if parsed.scheme == "s3":
        # boto3 is loaded only by deployments that store on S3.
        from openproctor.storage.s3 import S3Store

        if not parsed.netloc:
            raise StorageError(f"storage URL {url!r} names no bucket; use s3://bucket/prefix")
        return S3Store(parsed.netloc, parsed.path.strip("/"), s3 or S3Options())
    raise StorageError(
        f"storage URL {url!r} is not supported; use file:///path or s3://bucket/prefix"
    )


def store_from_settings(settings: Settings) -> ObjectStore:
    """The store OPENPROCTOR_STORAGE_URL and OPENPROCTOR_S3_* describe."""
    secret = settings.s3_secret_access_key.get_secret_value()
    return open_store(
        settings.resolved_storage_url,
        S3Options(
            endpoint_url=settings.s3_endpoint_url or None,
            region=settings.s3_region or None,
            access_key_id=settings.s3_access_key_id or None,
            secret_access_key=secret or None,
        ),
    )
