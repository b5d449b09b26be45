"""What the admin pages share: the redirect after a change, form errors as lines."""

from __future__ import annotations

from fastapi import status
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError


def see_other(url: str) -> Response:
    return RedirectResponse(url, status.HTTP_303_SEE_OTHER)


def validation_messages(error: ValidationError) -> list[str]:
    """One line per invalid field, named by its path ("policy.max_faces: ..."), for a form."""
    return [
        f"{'.'.join(str(part) for part in item['loc']) or 'exam'}: {item['msg']}"
        for item in error.errors()
    ]
