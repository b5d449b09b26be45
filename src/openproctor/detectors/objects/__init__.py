"""The object stage: detector plugins found in plugins/, chosen by their config's `type`.

Each module in plugins/ holds one ObjectDetector subclass and its config (a `type` literal
that names it), as Frigate's detector plugins do. The configs together are the pydantic
discriminated union settings embed (`OPENPROCTOR_DETECTORS__OBJECTS__TYPE=nanodet`); an objects
config without a type is the default detector's, so one variable can change one threshold.
Adding a detector is adding a module to plugins/.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Union

from pydantic import Discriminator, Tag

from openproctor.detectors.objects import plugins
from openproctor.detectors.objects.api import ObjectDetector, ObjectsPluginConfig

DEFAULT_TYPE = "centernet"


def discover() -> dict[str, type[ObjectDetector[ObjectsPluginConfig]]]:
    """The detector of each plugin module, by its config's type."""
    found: dict[str, type[ObjectDetector[ObjectsPluginConfig]]] = {}
    for module_info in pkgutil.iter_modules(plugins.__path__):
        module = importlib.import_module(f"{plugins.__name__}.{module_info.name}")
        detectors = [
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, ObjectDetector)
            and value.__module__ == module.__name__
            and "config_type" in vars(value)
        ]
        if len(detectors) != 1:
            raise TypeError(f"plugin {module.__name__} must define one ObjectDetector")
        type_name = detectors[0].config_type.model_fields["type"].default
        if not isinstance(type_name, str) or type_name in found:
            raise TypeError(f"plugin {module.__name__} needs a type of its own, not {type_name!r}")
        found[type_name] = detectors[0]
    return found


PLUGINS = discover()


def _objects_type(value: object) -> str:
    """The plugin an objects config names; without a type (say one environment variable that
    changes a threshold) it is the default detector's."""
    if isinstance(value, dict):
        return str(value.get("type", DEFAULT_TYPE))
    return str(getattr(value, "type", DEFAULT_TYPE))


if TYPE_CHECKING:
    ObjectsConfig = ObjectsPluginConfig
else:
    ObjectsConfig = Annotated[
        Union[  # noqa: UP007 - a union built at run time from the plugins found
            tuple(Annotated[detector.config_type, Tag(name)] for name, detector in PLUGINS.items())
        ],
        Discriminator(_objects_type),
    ]


def default_objects_config() -> ObjectsPluginConfig:
    return PLUGINS[DEFAULT_TYPE].config_type.model_validate({})


def build(
    config: ObjectsPluginConfig, model_dir: Path, threads: int
) -> ObjectDetector[ObjectsPluginConfig]:
    """The detector the config's plugin makes, loading its model."""
    return PLUGINS[config.type](model_dir, config, threads)
