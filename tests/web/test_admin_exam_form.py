"""The exam form read back (web/admin/exam_form.py): every input on its default gives the
default policy, and each kind of input says what an empty, unticked or bad value means."""

from __future__ import annotations

from openproctor.domains.exams.models import ExamWrite
from openproctor.domains.exams.policy import ExamPolicy, ViolationKind
from openproctor.web.admin import exam_form


def parsed(**changes: str) -> tuple[ExamWrite | None, list[str]]:
    values = exam_form.form_values(None)
    values |= {"title": "Essay", "external_url": "https://quiz.example.edu/essay"}
    return exam_form.parse({**values, **changes})


def test_the_form_as_proposed_is_the_default_policy() -> None:
    exam, errors = parsed()
    assert errors == []
    assert exam is not None
    assert exam.policy == ExamPolicy()


def test_empty_numbers_unticked_boxes_and_fields_not_sent() -> None:
    exam, errors = parsed(
        **{
            "rules.no_face.prompt_after_s": "",  # may be None: no prompt
            "rules.speech.weight": "",  # may not: keeps its default
            "policy.require_fullscreen": "off",  # the hidden field alone: unticked
            "policy.prohibited_objects": "cell phone,  remote ,",
        }
    )
    assert errors == []
    assert exam is not None
    rules = exam.policy.rules
    assert rules[ViolationKind.NO_FACE].prompt_after_s is None
    assert rules[ViolationKind.SPEECH].weight == 10
    assert exam.policy.require_fullscreen is False
    assert exam.policy.prohibited_objects == ["cell phone", "remote"]

    values = exam_form.form_values(None) | {"title": "Essay", "external_url": "https://e.example"}
    del values["policy.record_webcam"]  # not sent at all: the default stays
    exam, _ = exam_form.parse(values)
    assert exam is not None
    assert exam.policy.record_webcam is True


def test_bad_values_are_named_as_the_form_names_them() -> None:
    _, errors = parsed(
        **{"rules.speech.weight": "500", "policy.frames_per_second": "fast", "title": " "}
    )
    assert "Rule Speech, Risk points: Input should be less than or equal to 100" in errors
    assert any(line.startswith("Frames analysed per second: Input should be") for line in errors)
    assert "Title: title must not be blank" in errors
