from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from openproctor.detectors.config import DetectorConfig
from openproctor.detectors.objects.plugins.centernet import CenterNetConfig
from openproctor.detectors.objects.plugins.nanodet import NanoDetConfig
from openproctor.detectors.objects.plugins.yolo import YoloConfig
from openproctor.settings import Settings


def test_defaults_run_every_detector_on_one_thread() -> None:
    config = DetectorConfig()
    assert config.threads == 1
    assert isinstance(config.objects, CenterNetConfig)
    assert "cell phone" in config.prohibited


def test_objects_plugin_is_chosen_by_type() -> None:
    config = DetectorConfig.model_validate(
        {"objects": {"type": "yolo", "path": "m.onnx", "class_names": ["phone"]}}
    )
    assert config.objects == YoloConfig(path=Path("m.onnx"), class_names=("phone",))
    nanodet = DetectorConfig.model_validate({"objects": {"type": "nanodet"}}).objects
    assert nanodet == NanoDetConfig()
    assert nanodet.crop_pass
    assert DetectorConfig.model_validate({"objects": None}).objects is None


def test_one_setting_of_the_default_detector_needs_no_type(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENPROCTOR_DETECTORS__OBJECTS__CROP_PASS", "false")
    assert Settings().detectors.objects == CenterNetConfig(crop_pass=False)


@pytest.mark.parametrize(
    "data",
    [
        {"objects": {"type": "ssd"}},
        {"face": {"min_score": 1.5}},
        {"threads": 0},
        {"unknown": 1},
    ],
)
def test_bad_config_is_refused(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        DetectorConfig.model_validate(data)
