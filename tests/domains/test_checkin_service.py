"""The check-in decision without a database: the admission policy against the reference
distance, the embedder guard, and the count of refused enrolment photos."""

from __future__ import annotations

from datetime import UTC, datetime

from openproctor.domains.checkin import service
from openproctor.domains.checkin.models import Admission, CheckIn, ReferencePhoto
from openproctor.domains.exams.policy import Admission as Policy

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
EMBEDDER = "resnet_onnx+flip"


def reference(embedding: list[float], embedder: str = EMBEDDER) -> ReferencePhoto:
    return ReferencePhoto(
        key="candidates/x/reference",
        content_type="image/jpeg",
        size_bytes=1,
        sha256="0" * 64,
        embedding=embedding,
        embedder=embedder,
        uploaded_at=NOW,
    )


def decide(
    policy: Policy, ref: ReferencePhoto | None, live: list[float]
) -> tuple[bool, str, float | None]:
    verdict, distance = service.decide(
        policy=policy, reference=ref, embedding=live, embedder=EMBEDDER, threshold=0.5
    )
    return verdict.admit, verdict.reason, distance


def test_auto_admits_within_the_threshold_and_holds_beyond_it() -> None:
    assert decide(Policy.AUTO, reference([0.0, 0.0]), [0.3, 0.4]) == (
        True,
        "the live face matches the reference photo (0.50 ≤ 0.50)",
        0.5,
    )
    admit, reason, distance = decide(Policy.AUTO, reference([0.0, 0.0]), [0.6, 0.0])
    assert (admit, distance) == (False, 0.6)
    assert reason == "the live face does not match the reference photo (0.60 > 0.50)"


def test_without_a_reference_auto_admits_as_before_and_proctor_holds() -> None:
    assert decide(Policy.AUTO, None, [0.1]) == (
        True,
        "no reference photo: the enrolment photo is the reference",
        None,
    )
    admit, reason, _ = decide(Policy.PROCTOR, reference([0.0]), [0.0])
    assert not admit
    assert reason == (
        "this exam admits candidates by a proctor; "
        "the live face matches the reference photo (0.00 ≤ 0.50)"
    )


def test_a_reference_from_another_model_is_never_compared() -> None:
    admit, reason, distance = decide(Policy.AUTO, reference([0.0], "dlib"), [0.0])
    assert (admit, distance) == (False, None)
    assert reason.startswith("the reference photo was embedded by dlib, the enrolment by")


def test_the_nth_refused_photo_sends_the_candidate_to_the_lobby() -> None:
    checkin = CheckIn()
    for _ in range(2):
        assert not service.after_refusal(checkin, guidance="too dark", limit=3, now=NOW)
    assert checkin.admission is None
    assert service.after_refusal(checkin, guidance="no face", limit=3, now=NOW)
    assert checkin.admission is Admission.WAITING
    assert checkin.needs_help
    assert checkin.reason == "3 enrolment photos refused; the last: no face"
    assert checkin.for_candidate().note is None  # an automatic reason stays with the staff


def test_the_id_admits_only_with_the_photo() -> None:
    photo_ok = service.Verdict(True, "the live face matches")
    photo_not = service.Verdict(False, "this exam admits candidates by a proctor")
    assert service.with_id(photo_ok, id_passed=True, id_reason="the ID matches") == (
        service.Verdict(True, "the live face matches; the ID matches")
    )
    assert not service.with_id(photo_ok, id_passed=False, id_reason="another face").admit
    assert not service.with_id(photo_not, id_passed=True, id_reason="the ID matches").admit


def test_refused_id_photos_count_like_enrolment_photos() -> None:
    checkin = CheckIn(failed_attempts=1, photo_admits=True)
    assert service.after_refusal(
        checkin, guidance="name not found", limit=2, now=NOW, what="ID photos"
    )
    assert checkin.reason == "2 ID photos refused; the last: name not found"
    assert checkin.photo_admits is None  # the lobby decides now, not the ID step
