"""The recordings flow: the browser's last word on a stream of an ended session is committed
and the node leading the sweeps assembles the recording at once, not at its next periodic sweep."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from openproctor.background import ASSEMBLY_SWEEP_S, SWEEP_TICK_S, Sweeps
from openproctor.domains.objects.models import Recording, StreamKind
from openproctor.domains.recordings import flows
from openproctor.domains.recordings.service import ChunkRefused
from openproctor.domains.sessions.models import SessionState
from tests.conftest import Factory
from tests.domains.test_recordings import Uploader, end, split, webm
from tests.live.clients import running_session

pytestmark = pytest.mark.parametrize("database_kind", ["sqlite"])


def sweeps_of(client: TestClient) -> Sweeps:
    sweeps: Sweeps = client.app.state.context.sweeps  # type: ignore[attr-defined]
    return sweeps


def test_the_last_stream_of_an_ended_session_is_assembled_at_once(
    client: TestClient, factory: Factory
) -> None:
    candidate = factory.candidate(factory.exam())
    session = running_session(factory, candidate)
    browser = Uploader(client, candidate, session)
    for index, chunk in enumerate(split(webm(2), 2)):
        assert browser.put(index, chunk).status_code == 201
    end(factory, session)
    time.sleep(3 * SWEEP_TICK_S)  # past the first sweep: the next is ASSEMBLY_SWEEP_S away
    recording = flows.complete(
        db=factory.db,
        sweeps=sweeps_of(client),
        session=session,
        kind=StreamKind.WEBCAM,
        chunks=2,
        recorded_s=2.0,
    )
    assert recording.chunks_expected == 2
    deadline = time.monotonic() + ASSEMBLY_SWEEP_S / 3
    while time.monotonic() < deadline:
        factory.db.expire_all()
        row = factory.db.get(Recording, recording.id)
        if row is not None and row.ready:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the recording was not assembled soon after the stream was complete")
    assert session.state is SessionState.SUBMITTED


def test_fewer_chunks_than_received_are_refused(client: TestClient, factory: Factory) -> None:
    candidate = factory.candidate(factory.exam())
    session = running_session(factory, candidate)
    browser = Uploader(client, candidate, session)
    for index, chunk in enumerate(split(webm(2), 3)):
        assert browser.put(index, chunk).status_code == 201
    with pytest.raises(ChunkRefused, match="chunk 2 was already received"):
        flows.complete(
            db=factory.db,
            sweeps=sweeps_of(client),
            session=session,
            kind=StreamKind.WEBCAM,
            chunks=2,
            recorded_s=2.0,
        )
