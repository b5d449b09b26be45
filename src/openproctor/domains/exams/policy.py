"""The exam policy: what is recorded, how often frames are analysed, and how each
violation kind is debounced, scored and acted on. Stored as validated JSON on the exam."""

from __future__ import annotations

from enum import Enum, StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Admission(StrEnum):
    """Who lets a checked-in candidate start the exam."""

    AUTO = "auto"
    PROCTOR = "proctor"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class ViolationKind(StrEnum):
    NO_FACE = "no_face"
    MULTIPLE_FACES = "multiple_faces"
    IDENTITY_MISMATCH = "identity_mismatch"
    PROHIBITED_OBJECT = "prohibited_object"
    EXTRA_PERSON = "extra_person"
    LOOKING_AWAY = "looking_away"
    EYES_CLOSED = "eyes_closed"
    SPEECH = "speech"
    TAB_SWITCH = "tab_switch"
    FULLSCREEN_EXIT = "fullscreen_exit"
    COPY_PASTE = "copy_paste"
    MULTIPLE_SCREENS = "multiple_screens"
    CAMERA_OFF = "camera_off"
    CAMERA_COVERED = "camera_covered"
    FROZEN_VIDEO = "frozen_video"
    CONNECTION_LOST = "connection_lost"
    SCREEN_SHARE_STOPPED = "screen_share_stopped"


# What staff pages call each kind (the proctor wall and review pages get these from the server).
KIND_LABELS: dict[ViolationKind, str] = {
    ViolationKind.NO_FACE: "No face",
    ViolationKind.MULTIPLE_FACES: "Several faces",
    ViolationKind.IDENTITY_MISMATCH: "Different person",
    ViolationKind.PROHIBITED_OBJECT: "Prohibited object",
    ViolationKind.EXTRA_PERSON: "Extra person",
    ViolationKind.LOOKING_AWAY: "Looking away",
    ViolationKind.EYES_CLOSED: "Eyes closed",
    ViolationKind.SPEECH: "Speech",
    ViolationKind.TAB_SWITCH: "Left the tab",
    ViolationKind.FULLSCREEN_EXIT: "Left fullscreen",
    ViolationKind.COPY_PASTE: "Copy / paste",
    ViolationKind.MULTIPLE_SCREENS: "Several screens",
    ViolationKind.CAMERA_OFF: "Camera off",
    ViolationKind.CAMERA_COVERED: "Camera covered",
    ViolationKind.FROZEN_VIDEO: "Frozen video",
    ViolationKind.CONNECTION_LOST: "Connection lost",
    ViolationKind.SCREEN_SHARE_STOPPED: "Screen share stopped",
}

# What the candidate is told while the condition of a kind holds, before it becomes a violation
# (a self-correction prompt, rules/prompts.py): calm, and saying what to do. Only these kinds
# can have a prompt; the others are things the page itself reports (tab, fullscreen, camera).
PROMPT_TEXTS: dict[ViolationKind, str] = {
    ViolationKind.NO_FACE: "We cannot see your face. Please move back into view of the camera.",
    ViolationKind.MULTIPLE_FACES: "We can see more than one face. Please make sure you are alone.",
    ViolationKind.EXTRA_PERSON: "Someone else seems to be in view. Please make sure you are alone.",
    ViolationKind.LOOKING_AWAY: "You seem to be looking away. Please look back at your exam.",
    ViolationKind.EYES_CLOSED: "Your eyes seem to be closed. Please keep looking at your exam.",
    ViolationKind.SPEECH: "Another voice is heard. Please keep the room quiet during the exam.",
    ViolationKind.CAMERA_COVERED: "Your camera seems to be covered. Please uncover it.",
}


class RuleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(
        title="On", default=True, description="Whether this kind raises violations at all."
    )
    min_duration_s: float = Field(
        title="Holds for (s)",
        ge=0,
        le=600,
        description="How long the condition must hold before a violation opens.",
    )
    min_checks: int = Field(
        title="Checks in a row",
        default=1,
        ge=1,
        le=20,
        description=(
            "How many observations in a row must show the condition before a violation opens "
            "(as well as min_duration_s): for kinds checked now and then, like identity."
        ),
    )
    cooldown_s: float = Field(
        title="Quiet time after (s)",
        ge=0,
        le=3600,
        description="Quiet time after a violation closes before the same kind reopens.",
    )
    severity: Severity = Field(
        title="Severity", description="low, medium or high; shown to proctors."
    )
    weight: float = Field(
        title="Risk points", ge=0, le=100, description="Points added to the 0-100 risk score."
    )
    prompt_after_s: float | None = Field(
        title="Prompt the candidate after (s)",
        default=None,
        ge=0,
        le=600,
        description=(
            "Seconds the condition holds before the candidate is prompted to put it right "
            "(shorter than min_duration_s, so before the violation opens); null (empty in the "
            "form): no prompt."
        ),
    )


def _rule(
    min_s: float,
    cool_s: float,
    severity: Severity,
    weight: float,
    checks: int = 1,
    *,
    prompt_s: float | None = None,
) -> RuleSettings:
    return RuleSettings(
        min_duration_s=min_s,
        min_checks=checks,
        cooldown_s=cool_s,
        severity=severity,
        weight=weight,
        prompt_after_s=prompt_s,
    )


# Identity checks in a row that must fail before identity_mismatch opens: one check can fail on
# a same-person frame (a turned head, motion blur, a 40-px face; README, "Identity").
IDENTITY_CHECKS = 3


S = Severity
DEFAULT_RULES: dict[ViolationKind, RuleSettings] = {
    ViolationKind.NO_FACE: _rule(3, 10, S.MEDIUM, 10, prompt_s=1),
    ViolationKind.MULTIPLE_FACES: _rule(1, 10, S.HIGH, 25, prompt_s=0),
    ViolationKind.IDENTITY_MISMATCH: _rule(5, 60, S.HIGH, 30, IDENTITY_CHECKS),
    ViolationKind.PROHIBITED_OBJECT: _rule(1, 20, S.HIGH, 25),
    ViolationKind.EXTRA_PERSON: _rule(1, 10, S.HIGH, 25, prompt_s=0),
    ViolationKind.LOOKING_AWAY: _rule(5, 20, S.LOW, 5, prompt_s=2),
    ViolationKind.EYES_CLOSED: _rule(5, 30, S.LOW, 5),
    ViolationKind.SPEECH: _rule(3, 20, S.MEDIUM, 10, prompt_s=1),
    ViolationKind.TAB_SWITCH: _rule(0, 5, S.MEDIUM, 10),
    ViolationKind.FULLSCREEN_EXIT: _rule(0, 5, S.MEDIUM, 10),
    ViolationKind.COPY_PASTE: _rule(0, 5, S.MEDIUM, 10),
    ViolationKind.MULTIPLE_SCREENS: _rule(0, 30, S.HIGH, 20),
    ViolationKind.CAMERA_OFF: _rule(2, 10, S.HIGH, 20),
    ViolationKind.CAMERA_COVERED: _rule(3, 10, S.HIGH, 20, prompt_s=1),
    ViolationKind.FROZEN_VIDEO: _rule(5, 30, S.MEDIUM, 15),
    ViolationKind.CONNECTION_LOST: _rule(15, 30, S.LOW, 5),
    ViolationKind.SCREEN_SHARE_STOPPED: _rule(0, 10, S.HIGH, 20),
}


class ExamPolicy(BaseModel):
    """Every field has a default; an exam stores only a full, validated copy."""

    model_config = ConfigDict(extra="forbid")

    frames_per_second: float = Field(
        title="Frames analysed per second",
        default=1.0,
        ge=0.1,
        le=10,
        description="Webcam frames sent for analysis per second.",
    )
    frame_width: int = Field(
        title="Frame width (px)", default=640, ge=160, le=1920, description="Analysis frame width."
    )
    frame_height: int = Field(
        title="Frame height (px)",
        default=480,
        ge=120,
        le=1080,
        description="Analysis frame height.",
    )
    object_interval_s: float = Field(
        title="Seconds between object checks",
        default=5,
        ge=0,
        le=600,
        description=(
            "Seconds between object (phone, book) passes; with a ceiling, while a prohibited "
            "object or a second person is in view."
        ),
    )
    object_ceiling_s: float = Field(
        title="Longest wait between object checks (s)",
        default=30,
        ge=0,
        le=600,
        description=(
            "Longest time between object passes while the last one found nothing: a big "
            "change of scene (someone walks in, the camera moves) gets one sooner, at most "
            "one per the seconds between object checks. 0: a check every so many seconds, and "
            "within 2 s of a big change."
        ),
    )
    identity_interval_s: float = Field(
        title="Seconds between identity checks",
        default=30,
        ge=0,
        le=3600,
        description="Seconds between identity checks.",
    )
    require_fullscreen: bool = Field(
        title="Require fullscreen", default=True, description="The exam runs in fullscreen."
    )
    record_webcam: bool = Field(
        title="Record webcam and microphone",
        default=True,
        description="Record webcam and microphone.",
    )
    record_screen: bool = Field(
        title="Record the screen", default=False, description="Require and record screen sharing."
    )
    room_scan: bool = Field(
        title="Room scan at the start",
        default=False,
        description="Ask for a short room scan at the start.",
    )
    prohibited_objects: list[str] = Field(
        title="Prohibited objects",
        default_factory=lambda: ["cell phone", "book", "laptop"],
        description=(
            "Objects flagged when seen, by the object detector's names (its COCO list: cell "
            "phone, book, laptop, remote, ...), separated by commas."
        ),
    )
    auto_terminate: bool = Field(
        title="End the exam automatically",
        default=False,
        description="End the exam automatically when the risk threshold is hit.",
    )
    auto_terminate_risk: float = Field(
        title="Risk score that ends the exam",
        default=90,
        ge=1,
        le=100,
        description="The risk score at which the exam ends, when it ends automatically.",
    )
    retention_days: int = Field(
        title="Keep recordings (days)",
        default=30,
        ge=1,
        le=3650,
        description="Days recordings and evidence are kept.",
    )
    id_check: bool = Field(
        title="Photo ID check",
        default=False,
        description=(
            "Ask the candidate to show a photo ID at check-in, after their photo: its portrait "
            "is compared with their face and the name read from it (OCR) with the roster name; "
            "automatic admission waits for it to pass."
        ),
    )
    id_retention_days: int = Field(
        title="Keep ID documents (days)",
        default=7,
        ge=1,
        le=3650,
        description=(
            "Days ID document images are kept after the session ended (never longer than "
            "recordings are kept)."
        ),
    )
    admission: Admission = Field(
        title="Who admits candidates",
        default=Admission.AUTO,
        description=(
            "auto: a candidate whose check-in passes (the live face matches the reference "
            "photo, or there is none) starts at once, the others wait in the lobby for a "
            "proctor; proctor: every candidate waits for a proctor to admit them."
        ),
    )
    enrol_attempts: int = Field(
        title="Refused photos before a proctor helps",
        default=5,
        ge=1,
        le=100,
        description=(
            "Refused enrolment photos (or ID photos that could not be read) in a row after "
            "which the candidate is told a proctor will help and waits in the lobby (the "
            "proctor is alerted)."
        ),
    )
    rules: dict[ViolationKind, RuleSettings] = Field(
        title="Rules",
        default_factory=lambda: {kind: rule.model_copy() for kind, rule in DEFAULT_RULES.items()},
        description="Per violation kind: debounce, cool-down, severity and risk weight.",
    )

    @property
    def id_documents_days(self) -> int:
        """Days ID document images are kept: all of a session's media goes at retention_days."""
        return min(self.id_retention_days, self.retention_days)

    @model_validator(mode="before")
    @classmethod
    def _rules_merge_onto_the_defaults(cls, data: Any) -> Any:
        """A rule given in part ({"looking_away": {"enabled": false}}) keeps the default of
        every field it leaves out, as the policy's own fields do."""
        if not isinstance(data, dict) or not isinstance(data.get("rules"), dict):
            return data
        merged: dict[Any, Any] = {}
        for kind, given in data["rules"].items():
            known = isinstance(kind, str) and kind in ViolationKind.__members__.values()
            default = DEFAULT_RULES[ViolationKind(kind)] if known else None
            if default is not None and isinstance(given, dict):
                inherited = default.model_dump()
                # A debounce shortened below the default prompt's delay leaves no time to
                # prompt first: the inherited prompt goes (one given with it is still checked).
                shorter = given.get("min_duration_s")
                prompt = inherited["prompt_after_s"]
                if (
                    "prompt_after_s" not in given
                    and isinstance(shorter, int | float)
                    and prompt is not None
                    and prompt >= shorter
                ):
                    inherited["prompt_after_s"] = None
                given = {**inherited, **given}
            merged[kind] = given
        return {**data, "rules": merged}

    @model_validator(mode="after")
    def _every_kind_has_a_rule(self) -> ExamPolicy:
        # A partial rules object keeps the defaults for the kinds it leaves out.
        for kind, rule in DEFAULT_RULES.items():
            self.rules.setdefault(kind, rule.model_copy())
        for kind, rule in self.rules.items():
            if rule.prompt_after_s is None:
                continue
            if kind not in PROMPT_TEXTS:
                raise ValueError(f"rules.{kind}: this kind has no prompt, so no prompt_after_s")
            if rule.prompt_after_s >= rule.min_duration_s:
                raise ValueError(
                    f"rules.{kind}.prompt_after_s must be shorter than its min_duration_s: the "
                    "prompt comes before the violation opens"
                )
        return self


def human_value(value: object) -> str:
    """A policy value as people read it: Yes/No, lists joined, enums by their value."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if value is None:
        return "none"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, list):
        return ", ".join(human_value(item) for item in value) or "none"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
