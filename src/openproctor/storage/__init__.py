"""Object storage for evidence and recordings, behind one interface."""

from openproctor.storage.base import ObjectStore, StorageError, StoredBlob, open_store

__all__ = ["ObjectStore", "StorageError", "StoredBlob", "open_store"]
