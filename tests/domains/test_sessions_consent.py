"""The consent text, written from the exam's policy (domains/sessions/consent.py)."""

from __future__ import annotations

from openproctor.domains.exams.policy import ExamPolicy
from openproctor.domains.sessions.consent import CONSENT_VERSION, consent_for


def test_auto_termination_is_named_as_an_automated_decision_only_when_on() -> None:
    off = consent_for(ExamPolicy(auto_terminate=False))
    on = consent_for(ExamPolicy(auto_terminate=True, auto_terminate_risk=75))
    assert any("Nothing is decided automatically" in line for line in off.lines)
    assert not any("Nothing is decided automatically" in line for line in on.lines)
    assert any("ended automatically" in line and "75 out of 100" in line for line in on.lines)
    assert on.sha256 != off.sha256
    # The session's override wins over the policy, either way.
    assert consent_for(
        ExamPolicy(auto_terminate=False), auto_terminate=True
    ).text == on.text.replace("75", "90")
    assert consent_for(ExamPolicy(auto_terminate=True), auto_terminate=False).text == off.text


def test_recorded_streams_and_retention_follow_the_policy() -> None:
    text = consent_for(
        ExamPolicy(record_webcam=False, record_screen=True, room_scan=True, retention_days=7)
    ).text
    assert "webcam and microphone are not recorded" in text
    assert "screen is shared and recorded" in text
    assert "video of your room" in text
    assert "kept for 7 days" in text
    default = consent_for(ExamPolicy())
    assert "Your webcam and microphone are recorded." in default.lines
    assert "Your screen is not recorded." in default.lines
    assert "kept for 30 days" in default.text
    assert default.version == CONSENT_VERSION
