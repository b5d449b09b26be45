"""Object storage for evidence and recordings, behind one interface."""

from openproctor.storage.base import (
    ObjectStore,
    S3Options,
    StorageError,
    StorageFull,
    StoredBlob,
    open_store,
    store_from_settings,
)

__all__ = [
    "ObjectStore",
    "S3Options",
    "StorageError",
    "StorageFull",
    "StoredBlob",
    "open_store",
    "store_from_settings",
]
