"""The consent a candidate agrees to, written from the exam's actual policy: which streams are
recorded, what software decides on its own, and how long it is all kept.

The page shows these lines and sends back their SHA-256; the session keeps the text, its
hash and CONSENT_VERSION (the version of this wording), so a reviewer reads exactly what the
candidate agreed to even after the policy or this module changed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from openproctor.domains.exams.models import Exam
from openproctor.domains.exams.policy import ExamPolicy
from openproctor.domains.sessions.models import ExamSession

# Raise when the wording below changes: sessions keep which wording they agreed to.
CONSENT_VERSION = 1


@dataclass(frozen=True, slots=True)
class Consent:
    version: int
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


def consent_for(policy: ExamPolicy, *, auto_terminate: bool | None = None) -> Consent:
    """The consent for an attempt under this policy; auto_terminate: the session's override
    of the policy's (None: the policy's)."""
    ends_itself = policy.auto_terminate if auto_terminate is None else auto_terminate
    lines = [
        "While the exam runs, software analyses your webcam picture and your microphone "
        "(faces, gaze, objects such as phones, voices) and raises flags for a proctor.",
        "Your webcam and microphone are recorded."
        if policy.record_webcam
        else "Your webcam and microphone are not recorded; only the pictures of flags are kept.",
        "Your screen is shared and recorded."
        if policy.record_screen
        else "Your screen is not recorded.",
    ]
    if policy.room_scan:
        lines.append("Before the exam starts, you record a short video of your room.")
    if policy.require_fullscreen:
        lines.append("The exam runs in fullscreen; leaving it is noted.")
    lines.append("Switching tabs, copying and pasting are noted for the proctor.")
    lines.append("A proctor may send you messages, pause or end your exam.")
    if ends_itself:
        lines.append(
            "Automated decision: each flag adds to a risk score, and when the score reaches "
            f"{policy.auto_terminate_risk:.0f} out of 100 your exam is ended automatically, "
            "without a person deciding first. People review every flag afterwards."
        )
    else:
        lines.append(
            "Nothing is decided automatically about your exam or your result: people review "
            "every flag and decide."
        )
    lines.append(
        f"Recordings and evidence are kept for {policy.retention_days} days, then deleted."
    )
    return Consent(CONSENT_VERSION, tuple(lines))


def consent_of(exam: Exam, session: ExamSession) -> Consent:
    """The consent for this attempt now (the exam's policy, the session's override)."""
    return consent_for(exam.parsed_policy, auto_terminate=session.auto_terminate)
