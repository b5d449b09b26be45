"""Registering reference photos: one per candidate, or a ZIP of them with the roster (each
image named by the candidate's email or external id). Every photo is checked (type, size,
pixels), embedded once by the analysis workers (exactly one face, else refused with the
reason), and only when all of them pass are they stored and recorded: a refused ZIP changes
nothing."""

from __future__ import annotations

import asyncio
import io
import uuid
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from openproctor.db import utcnow
from openproctor.domains.audit.service import Auditor
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.checkin import service
from openproctor.domains.checkin.models import ReferencePhoto
from openproctor.pipeline import images
from openproctor.pipeline.jobs import Analysis
from openproctor.storage.base import ObjectStore

REFERENCE_MAX_BYTES = 2 * 1024 * 1024
ARCHIVE_MAX_FILES = 5000
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png"})


class ReferenceRefused(ValueError):
    """A photo (or archive) that is not registered; `problems` name each file and why."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{name}: {why}" for name, why in problems))
        self.problems = list(problems)


@dataclass(frozen=True, slots=True)
class CheckedPhoto:
    candidate: Candidate
    name: str
    data: bytes
    content_type: str


def checked_image(name: str, data: bytes) -> str:
    """The photo's content type, read from its bytes; raises ReferenceRefused."""
    if len(data) > REFERENCE_MAX_BYTES:
        raise ReferenceRefused([(name, f"larger than {REFERENCE_MAX_BYTES // 1024} KiB")])
    try:
        images.check(data, images.STILL_LIMIT)
    except images.ImageRefused as error:
        raise ReferenceRefused([(name, str(error))]) from None
    return "image/png" if data.startswith(images.PNG_SIGNATURE) else "image/jpeg"


def match_archive(archive: bytes, roster: Sequence[Candidate]) -> list[CheckedPhoto]:
    """The archive's images, each matched to the candidate its file name names (email or
    external id, any case, any folder); raises ReferenceRefused with every problem."""
    try:
        zipped = zipfile.ZipFile(io.BytesIO(archive))
    except zipfile.BadZipFile:
        raise ReferenceRefused([("archive", "not a ZIP file")]) from None
    by_name: dict[str, Candidate] = {}
    for candidate in roster:
        by_name[candidate.email.lower()] = candidate
        if candidate.external_id:
            by_name[candidate.external_id.lower()] = candidate
    entries = [info for info in zipped.infolist() if not info.is_dir()]
    if len(entries) > ARCHIVE_MAX_FILES:
        raise ReferenceRefused([("archive", f"more than {ARCHIVE_MAX_FILES} files")])
    problems: list[tuple[str, str]] = []
    found: dict[uuid.UUID, CheckedPhoto] = {}
    for info in entries:
        path = PurePosixPath(info.filename)
        if path.name.startswith(".") or "__MACOSX" in path.parts:
            continue  # archivers' own files
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            problems.append((info.filename, "not a .jpg, .jpeg or .png file"))
            continue
        named = by_name.get(path.stem.lower())
        if named is None:
            problems.append(
                (info.filename, "names no candidate of this exam (email or external id)")
            )
            continue
        if named.id in found:
            problems.append((info.filename, f"a second photo for {named.email}"))
            continue
        if info.file_size > REFERENCE_MAX_BYTES:  # read from the directory: never inflated
            problems.append((info.filename, f"larger than {REFERENCE_MAX_BYTES // 1024} KiB"))
            continue
        data = zipped.read(info)
        try:
            content_type = checked_image(info.filename, data)
        except ReferenceRefused as refused:
            problems.extend(refused.problems)
            continue
        found[named.id] = CheckedPhoto(named, info.filename, data, content_type)
    if not found and not problems:
        problems.append(("archive", "holds no photo"))
    if problems:
        raise ReferenceRefused(problems)
    return list(found.values())


async def register(
    *,
    photos: Sequence[CheckedPhoto],
    analysis: Analysis | None,
    store: ObjectStore,
    audit: Auditor,
) -> list[uuid.UUID]:
    """Embeds every photo, then stores and records them all (audited, in the auditor's
    database session), or raises ReferenceRefused and records none. Returns the candidates'
    ids."""
    if analysis is None:
        raise ReferenceRefused([("photos", "face analysis is not running: try again later")])
    problems: list[tuple[str, str]] = []
    embedded: list[tuple[CheckedPhoto, tuple[float, ...], str]] = []
    for photo in photos:
        outcome = await analysis.enrol(
            f"reference-{photo.candidate.id}", photo.data, reference=True
        )
        if outcome.ok:
            embedded.append((photo, outcome.embedding, outcome.embedder))
        else:
            problems.append((photo.name, outcome.guidance))
    if problems:
        raise ReferenceRefused(problems)
    return await asyncio.to_thread(_record, embedded, store, audit)


def _record(
    embedded: list[tuple[CheckedPhoto, tuple[float, ...], str]], store: ObjectStore, audit: Auditor
) -> list[uuid.UUID]:
    replaced: list[str] = []
    db = audit.db
    for photo, embedding, embedder in embedded:
        candidate = db.get(Candidate, photo.candidate.id)
        if candidate is None:
            continue  # erased meanwhile
        # A new key per upload: the photo in use stays until the database says otherwise.
        blob = store.put(
            f"{service.reference_key(candidate.id)}-{utcnow():%Y%m%d%H%M%S%f}",
            photo.data,
            photo.content_type,
        )
        before = service.reference_of(candidate)
        if before is not None and before.key != blob.key:
            replaced.append(before.key)
        candidate.reference_photo = ReferencePhoto(
            key=blob.key,
            content_type=blob.content_type,
            size_bytes=blob.size_bytes,
            sha256=blob.sha256,
            embedding=list(embedding),
            embedder=embedder,
            uploaded_at=utcnow(),
        ).model_dump(mode="json")
        audit("candidate.reference_photo", "candidate", candidate.id, embedder=embedder)
    db.commit()
    for key in replaced:
        store.delete(key)
    return [photo.candidate.id for photo, _, _ in embedded]
