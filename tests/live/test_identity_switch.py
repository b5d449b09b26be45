"""A session enrolled by another identity model than the running one is never compared with
its old embedding: its enrolment photo is embedded again, or its identity checks stay off and
the proctor wall says so; either way the audit log keeps when checks were off and why, for
the review page and the PDF."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from sqlalchemy.orm import Session, sessionmaker

from openproctor.bus.local import LocalBus
from openproctor.detectors.config import IdentityConfig
from openproctor.domains.sessions import identity_gaps
from openproctor.domains.sessions.models import ExamSession
from openproctor.live.hub import LiveHub
from openproctor.live.identity import enrolment_key
from openproctor.live.runtime import SessionRuntime
from openproctor.metrics import Metrics
from openproctor.pipeline.jobs import Analysis, EnrolOutcome
from openproctor.storage.local import LocalStore
from tests.conftest import Factory
from tests.live.clients import running_session

RUNNING = IdentityConfig().embedder  # resnet_onnx+flip
OLD = (0.1,) * 128
NEW = (0.2,) * 128
PHOTO = b"\xff\xd8 enrolment photo"


class Enroller:
    """The analysis workers as far as enrolment goes: embeds with `embedder`."""

    waiting = 0

    def __init__(self, embedder: str = RUNNING) -> None:
        self.embedder = embedder
        self.photos: list[bytes] = []

    async def enrol(self, session_id: str, jpeg: bytes, *, reference: bool = False) -> EnrolOutcome:
        self.photos.append(jpeg)
        return EnrolOutcome(True, "enrolled", NEW, (0.0, 0.0, 0.0), self.embedder)


def test_the_embedder_names_model_and_flip() -> None:
    assert IdentityConfig().embedder == "resnet_onnx+flip"
    assert IdentityConfig(flip=False).embedder == "resnet_onnx"
    assert IdentityConfig(model="dlib").embedder == "dlib"


@pytest.mark.parametrize(
    ("stored_embedder", "photo", "workers", "reference", "off", "photos_embedded"),
    [
        # Enrolled by the running model: kept as is, nothing embedded again.
        (RUNNING, True, RUNNING, OLD, None, 0),
        # Enrolled by dlib before a switch: the photo is embedded again by the running model.
        ("dlib", True, RUNNING, NEW, None, 1),
        # From before enrolments named their model: embedded again too.
        (None, True, RUNNING, NEW, None, 1),
        # No photo kept: no reference, and the wall says why; never a comparison.
        ("dlib", False, RUNNING, None, "no enrolment photo kept", 0),
        # Workers that still run another model than the web node expects: checks stay off.
        ("dlib", True, "dlib", None, "the workers run dlib", 1),
    ],
)
def test_a_session_enrolled_by_another_model(
    session_factory: sessionmaker[Session],
    factory: Factory,
    tmp_path: object,
    stored_embedder: str | None,
    photo: bool,
    workers: str,
    reference: tuple[float, ...] | None,
    off: str | None,
    photos_embedded: int,
) -> None:
    session = running_session(factory, factory.candidate(factory.exam()))
    enrollment: dict[str, Any] = {"embedding": list(OLD), "baseline": [0.0, 0.0, 0.0]}
    if stored_embedder is not None:
        enrollment["embedder"] = stored_embedder
    session.enrollment = enrollment
    factory.db.commit()
    store = LocalStore(str(tmp_path))
    if photo:
        store.put(enrolment_key(session.id), PHOTO, "image/jpeg")
    enroller = Enroller(workers)
    hub = LiveHub(
        session_factory=session_factory,
        store=store,
        bus=LocalBus(),
        pool=cast(Analysis, enroller),
        min_speech=0.5,
        metrics=Metrics(),
        embedder=RUNNING,
        reconnect_grace_s=5.0,
    )

    async def load() -> SessionRuntime:
        hub.bus.bind(asyncio.get_running_loop())
        runtime = await hub.runtime_for(session.id)
        # Until the photo is embedded again there is no reference to compare with.
        if stored_embedder != RUNNING:
            assert runtime.reference is None
        await asyncio.gather(*hub._background)
        assert runtime.task is not None
        runtime.task.cancel()
        return runtime

    runtime = asyncio.run(load())
    assert runtime.reference == reference
    assert enroller.photos == [PHOTO] * photos_embedded
    if off is None:
        assert runtime.identity_off is None
    else:
        assert runtime.identity_off is not None
        assert off in runtime.identity_off
        assert runtime.summary().identity_off == runtime.identity_off
    with session_factory() as db:
        stored = db.get(ExamSession, session.id)
        assert stored is not None
        assert stored.enrollment is not None
        if reference == NEW:  # the new embedding is kept, so the next load needs none
            assert stored.enrollment["embedding"] == list(NEW)
            assert stored.enrollment["embedder"] == RUNNING
        else:
            assert stored.enrollment["embedding"] == list(OLD)
        gaps = identity_gaps.gaps(db=db, session=stored)
    if stored_embedder == RUNNING:
        assert gaps == []
    else:
        # Off from the load: until the photo was embedded again, or still (and says why).
        [gap] = gaps
        if off is None:
            assert gap.ended_at is not None
            assert gap.started_at <= gap.ended_at
            assert "re-embedding the enrolment photo" in gap.reason
        else:
            assert gap.ended_at is None
            assert off in gap.reason
