"""A webcam photo of the candidate's face (enrolment, the practice run): one JPEG of at most
the exam's frame size, then the enrolment check in the analysis workers."""

from __future__ import annotations

from fastapi import HTTPException, status

from openproctor.pipeline import images
from openproctor.pipeline.jobs import Analysis, EnrolOutcome

WEBCAM_PHOTO_MAX_BYTES = 2 * 1024 * 1024


async def judge_webcam_photo(
    photo: bytes, *, limit: images.ImageSize, analysis: Analysis | None, key: str
) -> EnrolOutcome:
    """The workers' verdict on the photo (`key` names the stream it belongs to); bad input is
    refused with 422 (413 for more pixels than the frame), no analysis running with 503."""
    if len(photo) > WEBCAM_PHOTO_MAX_BYTES or not photo.startswith(images.JPEG_START):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"send one JPEG photo of at most {WEBCAM_PHOTO_MAX_BYTES // 1024} KiB",
        )
    try:
        images.check(photo, limit)
    except images.ImageRefused as error:
        raise HTTPException(error.status_code, str(error)) from None
    if analysis is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "face analysis is not running")
    return await analysis.enrol(key, photo)
