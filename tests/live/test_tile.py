"""What a wall tile says: the candidate's stage from the session and its check-in record, and
the analysis status from the live runtime (sent again when time alone changes it)."""

from __future__ import annotations

from openproctor.bus.local import exam_topic
from openproctor.domains.checkin.models import Admission, CheckIn
from openproctor.domains.sessions.models import SessionState
from openproctor.live.messages import VOCABULARY
from openproctor.live.tile import (
    AnalysisStatus,
    Stage,
    analysis_status,
    stage_detail,
    stage_of,
)
from tests.live.test_registry import drain, nodes, run, runtime, settle


def test_checking_splits_into_the_check_in_steps() -> None:
    checking = SessionState.CHECKING
    assert stage_of(checking, CheckIn()) is Stage.CHECKING
    refused = CheckIn(failed_attempts=1)
    assert stage_of(checking, refused) is Stage.ENROLLING
    assert stage_detail(Stage.ENROLLING, refused) == "Photo refused 1 time"
    asked = CheckIn(admission=Admission.RETRY)
    assert stage_of(checking, asked) is Stage.ENROLLING
    assert stage_detail(Stage.ENROLLING, asked) == "You asked for a new photo"
    waiting = CheckIn(admission=Admission.WAITING, reason="does not match the reference")
    assert stage_of(checking, waiting) is Stage.WAITING
    assert stage_detail(Stage.WAITING, waiting) is None
    stuck = CheckIn(admission=Admission.WAITING, needs_help=True, failed_attempts=5)
    assert stage_of(checking, stuck) is Stage.STUCK
    assert stage_detail(Stage.STUCK, stuck) == "Photo refused 5 times"
    # Past the check-in the state names the stage, whatever the record says.
    assert stage_of(SessionState.ENROLLED, stuck) is Stage.ADMITTED
    assert stage_of(SessionState.RUNNING, stuck) is Stage.RUNNING
    assert stage_of(SessionState.TERMINATED, CheckIn()) is Stage.TERMINATED


def test_every_stage_and_status_has_words_for_the_pages() -> None:
    assert set(VOCABULARY["stages"]) == {stage.value for stage in Stage}
    assert set(VOCABULARY["analysis"]) == {status.value for status in AnalysisStatus}
    assert all(VOCABULARY["stages"].values())
    assert all(VOCABULARY["analysis"].values())


def test_analysis_is_live_only_while_pictures_come_in_an_exam_that_runs() -> None:
    def status(state: SessionState, **link: bool) -> AnalysisStatus | None:
        fields = {"connected": True, "pictures": True, "camera_off": False} | link
        return analysis_status(state, **fields)

    assert status(SessionState.RUNNING) is AnalysisStatus.LIVE
    assert status(SessionState.RUNNING, pictures=False) is AnalysisStatus.STARTING
    assert status(SessionState.RUNNING, camera_off=True) is AnalysisStatus.CAMERA_OFF
    assert status(SessionState.RUNNING, connected=False) is AnalysisStatus.NOT_CONNECTED
    assert status(SessionState.PAUSED) is AnalysisStatus.PAUSED
    assert status(SessionState.RUNNING, server_off=True) is AnalysisStatus.OFF
    assert status(SessionState.ENROLLED) is None
    assert status(SessionState.SUBMITTED) is None


def test_a_camera_that_stops_sending_is_told_to_the_wall_by_the_tick() -> None:
    async def scenario() -> None:
        async with nodes(1) as ((registry,), _):
            held = runtime()
            async with registry.bus.subscribe(exam_topic(held.exam_id)) as wall:
                registry.connect(held)
                now = held.link_since or 0.0
                held.last_frame_at = now + 1
                registry.refresh_tile(held, now + 1)
                await settle()
                tiles = [m["candidate"] for m in drain(wall) if m["type"] == "candidate"]
                assert [tile["analysis"] for tile in tiles] == ["starting", "live"]
                registry.refresh_tile(held, now + 2)  # nothing changed: nothing sent
                await settle()
                assert drain(wall) == []
                registry.refresh_tile(held, now + 30)  # no picture for 29 s
                await settle()
                (message,) = drain(wall)
                assert message["candidate"]["analysis"] == "camera_off"

    run(scenario)
