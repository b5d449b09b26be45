"""The worker's functions, run in this process with the real models."""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from openproctor.detectors.config import DetectorConfig
from openproctor.detectors.detections import Detections
from openproctor.pipeline import worker
from openproctor.pipeline.gates import Gate
from openproctor.pipeline.jobs import FrameJob
from openproctor.pipeline.redis_worker import handle

FIXTURES = Path(__file__).parent.parent / "fixtures"


def jpeg(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def encode(frame: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", frame)[1].tobytes()


@pytest.fixture(scope="module")
def loaded(model_dir: Path) -> None:
    worker.init_worker(str(model_dir), DetectorConfig().model_dump_json())


def job(session: str, seq: int, data: bytes, **options: object) -> FrameJob:
    return FrameJob(
        session_id=session,
        seq=seq,
        ts_ms=seq * 1000.0,
        jpeg=data,
        objects=bool(options.get("objects", True)),
        identity=bool(options.get("identity", False)),
        reference=options.get("reference"),  # type: ignore[arg-type]
        thumbnail=bool(options.get("thumbnail", True)),
    )


@pytest.mark.usefixtures("loaded")
def test_faces_objects_and_thumbnail() -> None:
    two = worker.analyse_frame(job("a", 0, jpeg("fr_two_people.jpg")))
    assert two.gate is Gate.ANALYSED
    assert two.faces == 2
    assert "multiple_faces" in two.flags
    assert sum(1 for o in two.objects if o.label == "person") >= 2
    assert two.persons == 2
    assert two.objects_ran
    thumb = cv2.imdecode(np.frombuffer(two.thumbnail, np.uint8), cv2.IMREAD_COLOR)
    assert thumb.shape == (120, 160, 3)
    none = worker.analyse_frame(job("b", 0, jpeg("noface_coffee.jpg"), thumbnail=False))
    assert none.faces == 0
    assert "no_face" in none.flags
    assert none.thumbnail == b""  # not asked for: the wall's tile was refreshed recently


@pytest.mark.usefixtures("loaded")
def test_an_unchanged_frame_reuses_the_last_answer_and_a_repeat_is_frozen() -> None:
    data = jpeg("noface_coffee.jpg")
    first = worker.analyse_frame(job("c", 0, data))
    again = worker.analyse_frame(job("c", 1, data, objects=False))
    assert first.gate is Gate.ANALYSED
    assert again.gate is Gate.UNCHANGED
    assert again.frozen
    assert (again.face_boxes, again.flags) == (first.face_boxes, first.flags)
    assert again.persons == first.persons == 0
    assert again.timings_ms == {}


def test_an_unchanged_frame_with_a_face_gets_the_face_stage_and_keeps_the_last_objects(
    model_dir: Path,
) -> None:
    # Eyes closing change the gate's thumbnail less than sensor noise: the face stage must run.
    own = worker.Worker(model_dir, DetectorConfig())
    data = jpeg("pai_webcam_center.jpg")
    first = worker.analyse_frame(job("c", 0, data), own)
    # What the last object pass found stands, and so does its flag.
    phone = Detections.of([[0, 0, 20, 40]], [0.6], ["cell phone"])
    state = own.sessions["c"]
    assert state.last is not None
    state.last = replace(state.last, objects=phone, flags=(*state.last.flags, "prohibited_object"))
    again = worker.analyse_frame(job("c", 1, data, objects=False), own)
    assert first.gate is Gate.ANALYSED
    assert again.gate is Gate.UNCHANGED
    assert again.faces == first.faces == 1  # followed by the tracker: a box of its own
    assert "mesh" in again.timings_ms
    assert "objects" not in again.timings_ms
    assert (again.objects_ran, again.objects) == (False, phone)
    assert "prohibited_object" in again.flags


@pytest.mark.usefixtures("loaded")
def test_a_due_object_pass_runs_on_an_unchanged_frame() -> None:
    # A phone laid down changes the gate's thumbnail a little: skipping due passes on unchanged
    # frames would never look at it.
    data = jpeg("noface_coffee.jpg")
    worker.analyse_frame(job("c3", 0, data, objects=False))
    due = worker.analyse_frame(job("c3", 1, data, objects=True))
    assert due.gate is Gate.ANALYSED
    assert due.objects_ran
    assert "objects" in due.timings_ms


@pytest.mark.usefixtures("loaded")
def test_covered_and_broken_frames() -> None:
    black = worker.analyse_frame(job("d", 0, encode(np.zeros((480, 640, 3), np.uint8))))
    assert black.gate is Gate.COVERED
    assert black.flags == ()
    broken = worker.analyse_frame(job("d", 1, jpeg("pai_webcam_center.jpg")[:200]))
    assert broken.gate is Gate.UNDECODABLE


@pytest.mark.usefixtures("loaded")
def test_sessions_do_not_share_gate_state() -> None:
    data = jpeg("id_obama_1.jpg")
    assert worker.analyse_frame(job("e", 0, data)).gate is Gate.ANALYSED
    assert worker.analyse_frame(job("f", 0, data)).gate is Gate.ANALYSED


@pytest.mark.usefixtures("loaded")
def test_identity_against_the_enrolled_face() -> None:
    enrolled = worker.enrol(jpeg("id_obama_1.jpg"))
    assert enrolled.ok, enrolled.guidance
    assert len(enrolled.embedding) == 128
    assert enrolled.embedder == "resnet_onnx+flip"  # stored with the enrolment
    same = worker.analyse_frame(
        job("g", 0, jpeg("id_obama_2.jpg"), identity=True, reference=enrolled.embedding)
    )
    other = worker.analyse_frame(
        job("h", 0, jpeg("id_biden_1.jpg"), identity=True, reference=enrolled.embedding)
    )
    assert same.identity_ran
    assert "identity_mismatch" not in same.flags
    assert "identity_mismatch" in other.flags
    assert other.identity_distance is not None
    assert same.identity_distance is not None
    assert other.identity_distance > same.identity_distance


@pytest.mark.usefixtures("loaded")
@pytest.mark.parametrize(
    ("name", "guidance"),
    [
        ("noface_coffee.jpg", "cannot see your face"),
        ("fr_two_people.jpg", "more than one face"),
    ],
)
def test_enrolment_guidance(name: str, guidance: str) -> None:
    outcome = worker.enrol(jpeg(name))
    assert not outcome.ok
    assert guidance in outcome.guidance


@pytest.mark.usefixtures("loaded")
def test_enrolment_refuses_darkness_and_garbage() -> None:
    dark = worker.enrol(encode(np.full((480, 640, 3), 10, np.uint8)))
    assert "too dark" in dark.guidance
    assert "could not be read" in worker.enrol(b"\xff\xd8 not really").guidance


@pytest.mark.usefixtures("loaded")
def test_a_reference_photo_needs_exactly_one_face_but_not_a_webcam_pose() -> None:
    """A registered photo is not taken at the camera: a small or dim face is fine, the face
    count is not, and the reason speaks to the staff member who uploaded it."""
    small = np.full((1400, 1400, 3), 200, np.uint8)
    portrait = cv2.imread(str(FIXTURES / "id_biden_1.jpg"))
    small[:640, :282] = portrait  # its face under 12 % of the width: "move closer" at the camera
    assert not worker.enrol(encode(small)).ok
    reference = worker.enrol(encode(small), reference=True)
    assert reference.ok
    assert reference.embedder == "resnet_onnx+flip"
    assert len(reference.embedding) == 128
    assert worker.enrol(jpeg("noface_coffee.jpg"), reference=True).guidance == (
        "no face found in the photo"
    )
    assert worker.enrol(jpeg("fr_two_people.jpg"), reference=True).guidance == (
        "the photo shows 2 faces"
    )
    assert worker.enrol(b"\xff\xd8 not really", reference=True).guidance == (
        "the image could not be decoded"
    )
    # The same through a Redis worker's job.
    answer, _, _ = handle(
        {"kind": "enrol", "session_id": "ref", "reference": True},
        jpeg("noface_coffee.jpg"),
        b"",
        b"k",
    )
    assert answer["guidance"] == "no face found in the photo"


@pytest.mark.usefixtures("loaded")
def test_speech_probability(tmp_path: Path) -> None:
    import wave

    def pcm(name: str) -> bytes:
        with wave.open(str(FIXTURES / name)) as source:
            assert source.getframerate() == 16000
            return source.readframes(source.getnframes())

    speech = worker.speech_probability(pcm("speech_en.wav"))
    silence = worker.speech_probability(pcm("silence.wav"))
    assert speech is not None
    assert silence is not None
    assert speech > 0.8 > 0.2 > silence


@pytest.mark.usefixtures("loaded")
def test_redis_workers_continue_a_session_from_its_sealed_state() -> None:
    key = worker.state_key("a deployment's secret")
    data = jpeg("pai_webcam_center.jpg")

    def frame(seq: int, state: bytes, with_key: bytes = key) -> tuple[str, bytes]:
        body = {"kind": "frame", **asdict(job("r", seq, data, objects=False))}
        del body["jpeg"]
        answer, _, new_state = handle(body, data, state, with_key)
        gate: str = answer["gate"]
        return gate, new_state

    gate, state = frame(0, b"")
    assert gate == Gate.ANALYSED
    assert state  # it travels with the answer, and nothing stays on the worker
    assert "r" not in worker._the_worker().sessions
    # The same picture again, on whichever worker: it knows the last frame, so it is unchanged.
    assert frame(1, state)[0] == Gate.UNCHANGED
    # Without the state, with a tampered one or one sealed with another key: a fresh start.
    assert frame(1, b"")[0] == Gate.ANALYSED
    tampered = state[:-1] + bytes([state[-1] ^ 1])
    assert frame(1, tampered)[0] == Gate.ANALYSED
    assert frame(1, state, worker.state_key("another secret"))[0] == Gate.ANALYSED


@pytest.mark.usefixtures("loaded")
def test_where_the_face_looks_travels_with_the_outcome_against_the_baseline() -> None:
    ahead = worker.analyse_frame(job("look", 0, jpeg("pai_webcam_center.jpg"), objects=False))
    aside = worker.analyse_frame(job("look-2", 0, jpeg("pai_webcam_eyes_left.jpg"), objects=False))
    assert (ahead.width, ahead.height) == (aside.width, aside.height)
    assert ahead.width > 0
    centre, left = ahead.looks[0], aside.looks[0]
    assert centre is not None
    assert left is not None
    assert centre.eyes_open
    assert left.eyes_open
    # Eyes turned to the side move the iris by more than a glance across the screen does.
    assert abs(left.gaze_x - centre.gaze_x) > 0.08
    # Against a baseline taken from the frontal picture, the frontal picture looks ahead.
    baseline = (centre.yaw, centre.pitch, centre.gaze_x)
    again = worker.analyse_frame(
        replace(job("look-3", 0, jpeg("pai_webcam_center.jpg"), objects=False), baseline=baseline)
    )
    look = again.looks[0]
    assert look is not None
    assert abs(look.yaw) < 0.2
    assert abs(look.pitch) < 0.2
    assert abs(look.gaze_x) < 0.002
    two = worker.analyse_frame(job("look-4", 0, jpeg("fr_two_people.jpg"), objects=False))
    assert len(two.looks) == len(two.face_boxes) == 2


@pytest.mark.usefixtures("loaded")
def test_a_turned_head_that_matches_joins_the_sessions_references() -> None:
    enrolled = worker.enrol(jpeg("id_obama_1.jpg"))  # frontal (yaw ~0)
    check = {"identity": True, "reference": enrolled.embedding, "objects": False}
    turned = worker.analyse_frame(job("r", 0, jpeg("id_obama_2.jpg"), **check))  # yaw ~-14
    assert turned.identity_distance is not None
    assert turned.identity_distance < 0.4  # a same-person pair with a pose change matches
    assert "identity_mismatch" not in turned.flags
    references = worker._the_worker().state("r").references
    assert references is not None
    assert len(references.learnt) == 1  # a new pose matching well: it joins
    # The same photo again comes from a pose already kept: nothing more joins.
    worker.analyse_frame(job("r", 1, jpeg("id_obama_2.jpg"), **check))
    assert len(references.learnt) == 1
    # Someone else is still a mismatch against every reference.
    other = worker.analyse_frame(job("r", 2, jpeg("id_biden_1.jpg"), **check))
    assert "identity_mismatch" in other.flags
    assert len(references.learnt) == 1
    # A new enrolment embedding starts the references afresh.
    again = worker.enrol(jpeg("id_biden_1.jpg"))
    worker.analyse_frame(
        job("r", 3, jpeg("id_obama_1.jpg"), identity=True, reference=again.embedding)
    )
    assert worker._the_worker().state("r").references is not references


@pytest.mark.usefixtures("loaded")
def test_a_worker_never_compares_with_another_models_enrolment() -> None:
    enrolled = worker.enrol(jpeg("id_obama_1.jpg"))
    frame = jpeg("id_biden_1.jpg")
    mine = job("x", 0, frame, identity=True, reference=enrolled.embedding)
    checked = worker.analyse_frame(replace(mine, reference_embedder=enrolled.embedder))
    assert checked.identity_ran
    assert "identity_mismatch" in checked.flags
    other_model = worker.analyse_frame(replace(mine, seq=1, reference_embedder="dlib"))
    assert not other_model.identity_ran
    assert other_model.identity_distance is None
    assert "identity_mismatch" not in other_model.flags


@pytest.mark.usefixtures("loaded")
def test_weak_phone_evidence_is_confirmed_over_a_sessions_object_passes(model_dir: Path) -> None:
    """A hand at the ear (id_obama_1's real hand pasted on id_obama_2, see
    tests/detectors/test_phones.py) is weak evidence: the worker keeps each session's phone
    history, so the second object pass of the same session confirms it, another session's
    first pass does not."""
    from openproctor.detectors.analyzer import Analyzer
    from openproctor.tools.phone_composites import composite

    analyzer = Analyzer(model_dir, DetectorConfig(speech=False))
    hand_frame = cv2.imread(str(FIXTURES / "id_obama_1.jpg"))
    portrait = cv2.imread(str(FIXTURES / "id_obama_2.jpg"))
    (face,) = analyzer.analyze(portrait, 0, objects=False).faces
    scene = composite(portrait, face, hand_frame, analyzer.hands(hand_frame)[0], "ear")
    # The same picture twice: an identity check is due, so the worker analyses it again
    # instead of re-using the last answer of an unchanged frame.
    first = worker.analyse_frame(job("phone", 0, encode(scene)))
    second = worker.analyse_frame(job("phone", 1, encode(scene), identity=True))
    other = worker.analyse_frame(job("other", 0, encode(scene)))
    assert (first.gate, second.gate) == (Gate.ANALYSED, Gate.ANALYSED)
    assert "prohibited_object" not in first.flags
    assert "prohibited_object" in second.flags
    assert second.objects.count("cell phone") == 1
    assert "prohibited_object" not in other.flags
