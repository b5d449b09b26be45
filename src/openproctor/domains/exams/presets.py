"""Named starting points for an exam's policy, for people who create an exam without the
full policy form (an instructor deep-linking from their course): each preset is the default
policy with a few settings changed, and can be edited afterwards like any policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from openproctor.domains.exams.policy import Admission, ExamPolicy


@dataclass(frozen=True)
class PolicyPreset:
    name: str
    label: str
    description: str
    # The settings that differ from ExamPolicy's defaults.
    changes: dict[str, Any] = field(default_factory=dict)

    def policy(self) -> ExamPolicy:
        return ExamPolicy.model_validate(self.changes)


PRESETS: tuple[PolicyPreset, ...] = (
    PolicyPreset(
        name="standard",
        label="Standard",
        description="Webcam recorded, fullscreen, candidates start once their check-in passes.",
    ),
    PolicyPreset(
        name="strict",
        label="Strict",
        description="Also a photo ID, a room scan and the screen recorded; a proctor admits "
        "each candidate.",
        changes={
            "id_check": True,
            "room_scan": True,
            "record_screen": True,
            "admission": Admission.PROCTOR.value,
        },
    ),
    PolicyPreset(
        name="light",
        label="Light",
        description="Webcam recorded, no fullscreen required: for practice or open-book exams.",
        changes={"require_fullscreen": False},
    ),
)
PRESETS_BY_NAME = {preset.name: preset for preset in PRESETS}
