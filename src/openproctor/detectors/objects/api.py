"""What an object detector plugin is: a config with a `type` that names it, and a detector
built from that config which finds objects in a frame.

Plugins live one to a module in plugins/ and are found there by the registry (__init__.py).
Importing a plugin must stay cheap (the web process reads the configs): a model runtime is
imported when a detector is built, in the worker process.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar, Generic, TypeVar

from openproctor.detectors.base import Frame
from openproctor.detectors.detections import Detections
from openproctor.detectors.fields import DetectorSettings


class ObjectsPluginConfig(DetectorSettings):
    """A plugin's config: `type: Literal["name"] = "name"` in each subclass selects it."""

    type: str


ConfigT = TypeVar("ConfigT", bound=ObjectsPluginConfig)


class ObjectDetector(ABC, Generic[ConfigT]):
    """One object model, built once per worker process; it keeps no state between frames."""

    config_type: ClassVar[type[ObjectsPluginConfig]]

    def __init__(self, model_dir: Path, config: ConfigT, threads: int) -> None:
        self.config = config

    @abstractmethod
    def detect(self, frame: Frame, ts_ms: int) -> Detections:
        """Objects in a BGR frame, most confident first; boxes in frame pixels."""
