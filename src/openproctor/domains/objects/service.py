"""Serving stored objects."""

from __future__ import annotations

from fastapi import HTTPException, status
from fastapi.responses import Response

from openproctor.domains.objects.models import StoredObject
from openproctor.storage import ObjectStore, StorageError


def file_response(store: ObjectStore, stored: StoredObject) -> Response:
    """The object's bytes, privately cacheable (it never changes under its id)."""
    try:
        data = store.get(stored.storage_key)
    except StorageError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "evidence file is missing") from None
    return Response(
        data, media_type=stored.content_type, headers={"Cache-Control": "private, max-age=3600"}
    )
