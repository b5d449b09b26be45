"""The object stage's registry (detectors/objects/__init__.py): plugins found by module, chosen
by their config's type, through settings as through JSON."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from openproctor.detectors.config import DetectorConfig
from openproctor.detectors.objects import DEFAULT_TYPE, PLUGINS, discover, plugins
from openproctor.detectors.objects.plugins.centernet import CenterNetConfig, CenterNetDetector
from openproctor.detectors.objects.plugins.nanodet import NanoDetDetector
from openproctor.detectors.objects.plugins.yolo import YoloDetector
from openproctor.settings import Settings

FAKE_PLUGIN = """
    from __future__ import annotations

    from typing import Literal

    from openproctor.detectors.base import Frame
    from openproctor.detectors.detections import Detections
    from openproctor.detectors.objects.api import ObjectDetector, ObjectsPluginConfig


    class EverywhereConfig(ObjectsPluginConfig):
        type: Literal["{name}"] = "{name}"
        label: str = "cell phone"


    class Everywhere(ObjectDetector[EverywhereConfig]):
        config_type = EverywhereConfig

        def detect(self, frame: Frame, ts_ms: int) -> Detections:
            h, w = frame.shape[:2]
            return Detections.of([[0, 0, w, h]], [1.0], [self.config.label])
"""


@pytest.fixture
def more_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A second plugins directory, searched after the package's own."""
    monkeypatch.setattr(plugins, "__path__", [*plugins.__path__, str(tmp_path)])
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        del sys.modules[name]


def test_the_bundled_plugins_are_found_by_type() -> None:
    assert {
        "centernet": CenterNetDetector,
        "nanodet": NanoDetDetector,
        "yolo": YoloDetector,
    } == PLUGINS
    assert DEFAULT_TYPE == "centernet"


def test_a_new_module_in_plugins_is_a_new_detector(more_plugins: Path) -> None:
    (more_plugins / "everywhere.py").write_text(textwrap.dedent(FAKE_PLUGIN).format(name="all"))
    found = discover()
    assert set(found) == {"centernet", "nanodet", "yolo", "all"}
    config = found["all"].config_type.model_validate({"label": "book"})
    detector = found["all"](more_plugins, config, 1)
    (hit,) = detector.detect(np.zeros((48, 64, 3), np.uint8), 0)
    assert (hit.label, hit.box) == ("book", (0.0, 0.0, 64.0, 48.0))


def test_a_plugin_may_not_take_another_plugins_type(more_plugins: Path) -> None:
    (more_plugins / "impostor.py").write_text(textwrap.dedent(FAKE_PLUGIN).format(name="nanodet"))
    with pytest.raises(
        TypeError, match=r"plugins\.impostor needs a type of its own, not 'nanodet'"
    ):
        discover()


def test_a_plugin_module_holds_one_detector(more_plugins: Path) -> None:
    (more_plugins / "empty.py").write_text("VALUE = 1\n")
    with pytest.raises(TypeError, match=r"plugins\.empty must define one ObjectDetector"):
        discover()


def test_settings_choose_a_plugin_and_one_variable_tunes_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENPROCTOR_DETECTORS__OBJECTS__MIN_SCORE", "0.6")
    assert Settings().detectors.objects == CenterNetConfig(min_score=0.6)
    monkeypatch.setenv("OPENPROCTOR_DETECTORS__OBJECTS__TYPE", "nanodet")
    assert Settings().detectors.objects is not None
    assert Settings().detectors.objects.type == "nanodet"
    with pytest.raises(ValidationError, match="does not match any of the expected tags"):
        DetectorConfig.model_validate({"objects": {"type": "ssd"}})
