"""Serving stored objects."""

from __future__ import annotations

from fastapi import HTTPException, status
from fastapi.responses import Response

from openproctor.domains.objects.models import StoredObject
from openproctor.storage import ObjectStore, StorageError

# Pictures the server stores (JPEG; PNG only from the seed project's /detect_faces/), by the
# bytes they start with: (media type, file extension).
IMAGE_TYPES = {b"\x89PNG": ("image/png", "png"), b"\xff\xd8\xff": ("image/jpeg", "jpg")}
UNKNOWN_TYPE = "application/octet-stream"


def file_response(store: ObjectStore, stored: StoredObject) -> Response:
    """The object's bytes, privately cacheable (it never changes under its id). Its type is
    read from the bytes, never from the stored row: anything but a picture is a download."""
    try:
        data = store.get(stored.storage_key)
    except StorageError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "evidence file is missing") from None
    media_type = next(
        (kind for magic, (kind, _) in IMAGE_TYPES.items() if data.startswith(magic)),
        UNKNOWN_TYPE,
    )
    headers = {"Cache-Control": "private, max-age=3600"}
    if media_type == UNKNOWN_TYPE:
        headers["Content-Disposition"] = f'attachment; filename="{stored.id}"'
    return Response(data, media_type=media_type, headers=headers)
